package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
)

func init() {
	program.Register(&cli.Command{
		Name:    "trex",
		Summary: "stream the T-REx dump into the fac-adapter relation-classification dataset",
		Run:     runTrex,
	})
}

const trexDescription = `
Reads raw T-REx files (re-nlg_*.json: one JSON array of documents per file;
files, folders, globs, .gz/.bz2/.zst, and the release .zip read in place),
keeps the examples of K-Adapter's scripts/clean_T_REx.py func() (same
examples and word indices; offsets are Unicode code points; every dropped
triple counted by reason), then builds the sub-dataset of
create_subdataset-relation-classification.ipynb: --drop relations (P31),
drop relations with fewer than --min-per-relation examples, and a seeded
split with exactly int((1 - dev-fraction) * N) train examples.

Two streaming passes, bounded memory: every input is cleaned to a compact
binary shard in OUT/shards (--workers inputs at a time), then the splits are
built from the shards. Split membership depends only on each example's content
and --seed (not on --workers or on the order of the inputs).

Outputs in --out (all written atomically):
  train.arrow, dev.arrow   Arrow IPC streams (datasets.Dataset.from_file loads
                           them): docid, token, relation, subj_start, subj_end,
                           obj_start, obj_end, subj_label, obj_label, label
                           (index in the 410-relation list of the released
                           fac-adapter; -1 when absent, counted)
  train.json, dev.json     with --format json|both: the original layout, as
                           the original fac-adapter.py reads it
  relations.json           relation -> index, in first-appearance order
  manifest.json            inputs and sizes, parameters, version, every count
                           by reason, per-relation counts
  shards/                  the cleaned examples of each input (+ .done.json)

Bad input (truncated or invalid JSON, missing keys, unreadable files) is
skipped and counted; --strict stops at the first bad record instead.
--resume keeps the shards of inputs finished by an interrupted run and
gives the same outputs as an uninterrupted run.

Example:
  kprep trex --in data/TREx --out data/trex-rc --workers 8
  kprep trex --in testdata/trex --out /tmp/kadapter-trex --min-per-relation 1 --format both
`

func runTrex(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "trex", "--in PATH... --out DIR [flags]", trexDescription, env.Stderr)
	var ins cli.StringList
	fs.Var(&ins, "in", "input file, folder, glob or .zip (repeatable)")
	out := fs.String("out", "", "output folder (created)")
	workers := fs.Int("workers", 1, "parallel workers: inputs cleaned at once, or batches of one input's documents when there are fewer inputs")
	seed := fs.Uint64("seed", 0, "seed of the train/dev draw (recorded in manifest.json)")
	drop := fs.String("drop", "P31", `comma-separated relations to remove ("" keeps all)`)
	minPer := fs.Int64("min-per-relation", 50, "drop relations with fewer examples than this")
	devFrac := fs.Float64("dev-fraction", 0.1, "share of examples in dev; train gets int((1-f)*N)")
	format := fs.String("format", "arrow", "outputs: arrow, json or both")
	strict := fs.Bool("strict", false, "stop at the first bad record instead of skipping and counting it")
	resume := fs.Bool("resume", false, "keep the shards of inputs an interrupted run finished")
	zstd := fs.Bool("zstd", false, "zstd-compress the Arrow outputs")
	maxMB := fs.Int64("max-file-mb", 0, "start a new train/dev Arrow file every N MB (0: one file each)")
	maxDocMB := fs.Int("max-doc-mb", 256, "skip (and count) documents larger than N MB")
	jsonOut := fs.Bool("json", false, "print the summary as JSON on stdout")
	noProgress := fs.Bool("quiet", false, "no progress output")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile to this file (for benchmarking)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	ins = append(ins, fs.Args()...)
	switch {
	case len(ins) == 0:
		return cli.Usagef("no input: give --in PATH")
	case *out == "":
		return cli.Usagef("no output folder: give --out DIR")
	case *workers < 1:
		return cli.Usagef("--workers must be at least 1")
	case *minPer < 0:
		return cli.Usagef("--min-per-relation must be >= 0")
	case *devFrac < 0 || *devFrac > 1:
		return cli.Usagef("--dev-fraction must be in [0, 1]")
	case *maxMB < 0 || *maxDocMB < 1:
		return cli.Usagef("--max-file-mb must be >= 0 and --max-doc-mb >= 1")
	}
	if *format != "arrow" && *format != "json" && *format != "both" {
		return cli.Usagef("--format %q: want arrow, json or both", *format)
	}
	// Inputs are named by their resolved absolute path: two spellings of
	// one file are one input (read once), and --resume and manifest.json
	// do not depend on the spelling.
	dups := 0
	srcs, err := pipeline.ExpandSources(ins, pipeline.ExpandOptions{
		Match: func(base string) bool {
			return strings.EqualFold(filepath.Ext(pipeline.StripCompressionExt(base)), ".json")
		},
		ResolvedNames: true,
		OnDuplicate: func(name, first string) {
			dups++
			if dups <= 20 {
				fmt.Fprintf(env.Stderr, "warning: input %s is given more than once; it is read once\n", name)
			}
		},
	})
	if err != nil {
		return err
	}
	// Never read our own outputs back when --out is inside an input folder.
	absOut, _ := filepath.Abs(*out)
	kept := srcs[:0]
	for _, s := range srcs {
		if abs, _ := filepath.Abs(s.Path); strings.HasPrefix(abs, absOut+string(filepath.Separator)) {
			continue
		}
		kept = append(kept, s)
	}
	srcs = kept
	if len(srcs) == 0 {
		return fmt.Errorf("no T-REx input (*.json, *.json.gz, ...) found in %s", strings.Join(ins, ", "))
	}
	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	opts := trexrc.DefaultOptions(*out)
	opts.Workers = *workers
	opts.Seed = *seed
	opts.Drop = cli.SplitList(*drop)
	opts.MinPerRelation = *minPer
	opts.DevFraction = *devFrac
	opts.Format = *format
	opts.Strict = *strict
	opts.Resume = *resume
	opts.Zstd = *zstd
	opts.MaxFileBytes = *maxMB << 20
	opts.MaxDocumentBytes = *maxDocMB << 20
	opts.Log = env.Stderr
	opts.DuplicateInputs = dups
	mode := pipeline.ProgressAuto
	if *noProgress {
		mode = pipeline.ProgressOff
	}
	prog := pipeline.NewProgress(env.Stderr, pipeline.ProgressOptions{Label: "kprep trex", TotalBytes: total, Mode: mode})
	opts.Progress = prog
	opts.Log = prog.Writer(env.Stderr)
	if os.Getenv("GOGC") == "" {
		// The hot path allocates little but steadily; a larger GC target
		// saves CPU and keeps the heap small (about 50 MB per worker).
		debug.SetGCPercent(400)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	sum, err := trexrc.Run(ctx, srcs, &opts)
	prog.Finish()
	if err != nil {
		if ctx.Err() != nil {
			return cli.Interrupted(ctx.Err(), fmt.Sprintf("the inputs cleaned so far are kept in %s; run the same command with --resume to continue",
				filepath.Join(*out, trexrc.ShardDir)))
		}
		return err
	}
	secs := time.Since(start).Seconds()
	if *jsonOut {
		type jsonSummary struct {
			*trexrc.Summary
			Seconds float64 `json:"seconds"`
			MBps    float64 `json:"mb_per_second"`
			ExPerS  float64 `json:"examples_per_second"`
		}
		b, err := json.MarshalIndent(jsonSummary{sum, secs, float64(sum.Counts.InputBytes) / 1e6 / secs, float64(sum.Counts.Cleaning.Examples) / secs}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, string(b))
		return nil
	}
	c := sum.Counts
	w := env.Stderr
	dupNote := ""
	if c.Duplicates > 0 {
		dupNote = fmt.Sprintf(", %d given twice and read once", c.Duplicates)
	}
	fmt.Fprintf(w, "kprep trex: %d inputs (%d resumed, %d read only partly%s), %.1f MB in %.1fs (%.1f MB/s)\n",
		c.Inputs, sum.Resumed, c.BadInputs, dupNote, float64(c.InputBytes)/1e6, secs, float64(c.InputBytes)/1e6/secs)
	cl := c.Cleaning
	fmt.Fprintf(w, "  documents %d (malformed %d, too large %d), triples %d -> examples %d\n",
		cl.Documents, cl.MalformedDocuments, cl.TooLargeDocuments, cl.Triples, cl.Examples)
	fmt.Fprintf(w, "  dropped triples: null boundaries %d, unaligned %d, bad sentence id %d, malformed %d\n",
		cl.NullBoundaries, cl.Unaligned, cl.BadSentenceID, cl.MalformedTriples)
	if cl.LoneSurrogates > 0 {
		fmt.Fprintf(w, "  documents with lone surrogate escapes, written as U+FFFD: %d\n", cl.LoneSurrogates)
	}
	fmt.Fprintf(w, "  relations %d, kept %d; examples dropped by --drop %d, below --min-per-relation %d\n",
		c.Relations, c.RelationsKept, c.DroppedByFlag, c.DroppedBelow)
	fmt.Fprintf(w, "  train %d, dev %d (seed %d); not in the 410-relation list: %d\n", c.Train, c.Dev, *seed, c.UnknownLabel)
	fmt.Fprintf(w, "  wrote %s: %s\n", sum.Out, strings.Join(sum.Outputs, ", "))
	if c.RelationsKept == 0 && cl.Examples > 0 {
		fmt.Fprintf(w, "  note: no relation reached --min-per-relation %d, so train and dev are empty; small inputs need --min-per-relation 1\n", *minPer)
	}
	return nil
}

// startCPUProfile starts writing a CPU profile to path (nothing when path
// is empty) and returns the function that stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
