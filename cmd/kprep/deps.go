package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/builders/lindeps"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/parser"
	"github.com/kadapter/kadapter/parser/conllu"
	"github.com/kadapter/kadapter/parser/segment"
	"github.com/kadapter/kadapter/pipeline"
)

func init() {
	program.Register(&cli.Command{
		Name:    "deps",
		Summary: "dependency parsing: train/eval our parser, parse text, build the lin-adapter dataset",
		Run:     runDeps,
	})
}

const depsUsage = `Usage: kprep deps SUBCOMMAND [flags]

Subcommands:
  bookcorpus  parse book text (raw, BookCorpus lines or CoNLL-U) into the lin-adapter dataset
  parse       read text or CoNLL-U, write CoNLL-U parsed by our model to stdout
  train       train the tagger + parser on a CoNLL-U treebank
  eval        score a model on a CoNLL-U treebank (UAS, LAS, UPOS; --text: segmentation)

Run 'kprep deps SUBCOMMAND --help' for its flags.
`

func runDeps(ctx context.Context, env cli.Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, depsUsage)
		return cli.Usagef("a subcommand is required")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stdout, depsUsage)
		return nil
	case "bookcorpus":
		return depsBookcorpus(ctx, env, args[1:])
	case "parse":
		return depsParse(ctx, env, args[1:])
	case "train":
		return depsTrain(ctx, env, args[1:])
	case "eval":
		return depsEval(ctx, env, args[1:])
	}
	fmt.Fprint(env.Stderr, depsUsage)
	return cli.Usagef("unknown subcommand %q", args[0])
}

const bookcorpusDescription = `
Builds the lin-adapter (dependency head prediction) dataset from book text,
as K-Adapter's authors did with BookCorpus and the Stanford parser, but with
our own parser (kprep deps train).

Inputs (--in, repeatable: files, folders, globs, .zip, .gz/.bz2/.zst read in
place), by --input-format (auto: .conllu/.conll are CoNLL-U, the rest raw text):
  text     raw text, paragraphs separated by blank lines, lines hard-wrapped
           (Project Gutenberg style): segmented into sentences and UD English
           words (don't = do n't) by parser/segment
  lines    one sentence per line, tokenized by spaces (BookCorpus as distributed)
  conllu   CoNLL-U parsed by another tool (Stanza, UDPipe, CoreNLP): sentences
           with heads skip our parser; unparsed ones ("_" heads) are parsed

Outputs in --out DIR (atomically; --format):
  train.arrow  Arrow IPC stream (Hugging Face metadata): id, sent, words,
               starts/ends (code-point offsets into sent), upos, heads (1-based,
               0 = root), deprels, input_ids, attention_mask, labels (find_head
               features, null when the converter drops the sentence), drop_reason
  train.json   JSON list in the original find_head layout that lin-adapter.py
               reads: {"sent", "tokens": [{"1": {"start", "end"}}...],
               "pairs": [{"dependent_index", "governor_index", "dep"}...]}
  dev.*        the same for --dev-fraction of the sentences (by a hash of the id)
  manifest.json  the summary (counts by reason, options, outputs)

find_head features (spec §7.2) need --vocab (RoBERTa vocab.json + merges.txt);
labels follow the original mapping (its drops included: governor = last word,
too long) unless --corrected-labels. Bad records (malformed CoNLL-U, invalid
UTF-8) are skipped and counted; --strict stops at the first. --resume keeps
the inputs already finished by an interrupted run with the same options.
`

// depsOptions are the options that shape the output; a resumed run must
// have the same.
type depsOptions struct {
	InputFormat     string  `json:"input_format"`
	Model           string  `json:"model"`
	ModelSize       int64   `json:"model_size"`
	ModelMod        int64   `json:"model_mod"`
	Vocab           string  `json:"vocab"`
	Formats         string  `json:"format"`
	MaxSentences    int     `json:"max_sentences"`
	MinWords        int     `json:"min_words"`
	MaxWords        int     `json:"max_words"`
	Lower           bool    `json:"lower"`
	Dedup           bool    `json:"dedup"`
	CorrectedLabels bool    `json:"corrected_labels"`
	MaxSeqLength    int     `json:"max_seq_length"`
	DevFraction     float64 `json:"dev_fraction"`
	Zstd            bool    `json:"zstd"`
}

// depsStats counts what happened to the sentences.
type depsStats struct {
	Read            int            `json:"sentences_read"`
	Written         int            `json:"sentences_written"`
	Train           int            `json:"train"`
	Dev             int            `json:"dev"`
	Words           int            `json:"words"`
	Parsed          int            `json:"parsed_by_model"`
	Preparsed       int            `json:"preparsed"`
	Skipped         map[string]int `json:"skipped"`
	FeaturesKept    int            `json:"features_kept"`
	FeaturesDropped map[string]int `json:"find_head_dropped"`
}

func (s *depsStats) add(o depsStats) {
	s.Read += o.Read
	s.Written += o.Written
	s.Train += o.Train
	s.Dev += o.Dev
	s.Words += o.Words
	s.Parsed += o.Parsed
	s.Preparsed += o.Preparsed
	s.FeaturesKept += o.FeaturesKept
	for k, v := range o.Skipped {
		s.skip(k, v)
	}
	for k, v := range o.FeaturesDropped {
		if s.FeaturesDropped == nil {
			s.FeaturesDropped = map[string]int{}
		}
		s.FeaturesDropped[k] += v
	}
}

func (s *depsStats) skip(reason string, n int) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason] += n
}

// shardState records one finished input of a run.
type shardState struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModUnix int64     `json:"mod_unix"`
	Shard   int       `json:"shard"`
	Stats   depsStats `json:"stats"`
}

type depsState struct {
	Options depsOptions  `json:"options"`
	Done    []shardState `json:"done"`
	Failed  []failedIn   `json:"failed_inputs,omitempty"`
}

type failedIn struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

type depsSummary struct {
	Command  string      `json:"command"`
	Out      string      `json:"out"`
	Inputs   int         `json:"inputs"`
	Resumed  int         `json:"inputs_resumed"`
	Failed   []failedIn  `json:"failed_inputs"`
	Options  depsOptions `json:"options"`
	Stats    depsStats   `json:"stats"`
	Seconds  float64     `json:"seconds"`
	PerSec   float64     `json:"sentences_per_second"`
	Outputs  []string    `json:"outputs"`
	NoChange bool        `json:"already_complete,omitempty"`
	Sources  []inputSig  `json:"sources"`
}

// inputSig identifies an input for --resume.
type inputSig struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModUnix int64  `json:"mod_unix"`
}

func sourceSigs(srcs []pipeline.Source) []inputSig {
	out := make([]inputSig, len(srcs))
	for i, s := range srcs {
		out[i] = inputSig{Name: s.Name, Size: s.Size, ModUnix: s.ModUnix}
	}
	return out
}

const shardDirName = ".deps-shards"

func depsBookcorpus(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "deps bookcorpus", "--in PATH... --out DIR --model M [--vocab DIR] [flags]", bookcorpusDescription, env.Stderr)
	var ins cli.StringList
	fs.Var(&ins, "in", "input file, folder or glob (repeatable)")
	out := fs.String("out", "", "output folder")
	model := fs.String("model", "", "parser model (kprep deps train); not needed when every input is parsed CoNLL-U")
	vocab := fs.String("vocab", "", "RoBERTa tokenizer folder (vocab.json + merges.txt) for the find_head features; none: no features")
	format := fs.String("format", "arrow", "outputs: arrow, json or both")
	inFormat := fs.String("input-format", "auto", "auto, text, lines (BookCorpus) or conllu")
	maxSent := fs.Int("max-sentences", 0, "stop after writing this many sentences (0 = all)")
	minWords := fs.Int("min-words", 1, "skip sentences with fewer words")
	maxWords := fs.Int("max-words", 0, "skip sentences with more words (0 = no limit)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "worker goroutines (parsing and features)")
	lower := fs.Bool("lower", false, "lower-case the sentences after parsing (BookCorpus style)")
	dedup := fs.Bool("dedup", false, "skip sentences whose text was already written")
	corrected := fs.Bool("corrected-labels", false, "find_head labels with the corrected first-sub-token mapping instead of the original")
	maxSeq := fs.Int("max-seq-length", 64, "find_head max_seq_length")
	devFrac := fs.Float64("dev-fraction", 0, "fraction of sentences written to dev.* (chosen by a hash of the sentence id)")
	zstd := fs.Bool("zstd", false, "zstd-compress the Arrow record batches")
	strict := fs.Bool("strict", false, "fail at the first bad record or unreadable input instead of skipping and counting it")
	resume := fs.Bool("resume", false, "keep the inputs finished by an interrupted run with the same options")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("unexpected arguments %q", fs.Args())
	case len(ins) == 0:
		return cli.Usagef("--in is required")
	case *out == "":
		return cli.Usagef("--out is required")
	case *format != "arrow" && *format != "json" && *format != "both":
		return cli.Usagef("--format must be arrow, json or both")
	case *maxSent < 0 || *minWords < 0 || *maxWords < 0:
		return cli.Usagef("--max-sentences, --min-words and --max-words must not be negative")
	case *devFrac < 0 || *devFrac >= 1:
		return cli.Usagef("--dev-fraction must be in [0, 1)")
	case *maxSeq < 3:
		return cli.Usagef("--max-seq-length must be at least 3")
	}
	var fixedFormat *lindeps.Format
	if *inFormat != "auto" {
		f, err := lindeps.ParseFormat(*inFormat)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		fixedFormat = &f
	}
	opts := depsOptions{InputFormat: *inFormat, Vocab: *vocab, Formats: *format, MaxSentences: *maxSent,
		MinWords: *minWords, MaxWords: *maxWords, Lower: *lower, Dedup: *dedup, CorrectedLabels: *corrected,
		MaxSeqLength: *maxSeq, DevFraction: *devFrac, Zstd: *zstd}
	if *vocab != "" {
		if abs, err := filepath.Abs(*vocab); err == nil {
			opts.Vocab = abs
		}
	}
	var m *parser.Model
	if *model != "" {
		st, err := os.Stat(*model)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(*model)
		opts.Model, opts.ModelSize, opts.ModelMod = abs, st.Size(), st.ModTime().Unix()
		if m, err = parser.Load(*model); err != nil {
			return err
		}
	}
	var fb *lindeps.Builder
	if *vocab != "" {
		tok, err := features.LoadTokenizer(*vocab)
		if err != nil {
			return err
		}
		mapping := features.HeadMappingOriginal
		if *corrected {
			mapping = features.HeadMappingFirstSubToken
		}
		if fb, err = lindeps.NewBuilder(tok, lindeps.Options{MaxSeqLength: *maxSeq, Mapping: mapping}); err != nil {
			return err
		}
	}
	srcs, err := pipeline.ExpandSources(ins, pipeline.ExpandOptions{})
	if err != nil {
		return cli.Usagef("%v", err)
	}

	started := time.Now()
	shardDir := filepath.Join(*out, shardDirName)
	statePath := filepath.Join(shardDir, "state.json")
	manifestPath := filepath.Join(*out, "manifest.json")
	sum := depsSummary{Command: "kprep deps bookcorpus", Out: *out, Inputs: len(srcs), Options: opts, Failed: []failedIn{},
		Sources: sourceSigs(srcs)}

	// Resume: a finished run with the same options and inputs has nothing left to do.
	state := depsState{Options: opts}
	if *resume {
		if prev, ok := readManifest(manifestPath); ok && sameOptions(prev.Options, opts) && slices.Equal(prev.Sources, sum.Sources) && !exists(shardDir) {
			prev.NoChange = true
			return printDepsSummary(env, prev, *asJSON)
		}
		if data, err := os.ReadFile(statePath); err == nil {
			var st depsState
			if err := json.Unmarshal(data, &st); err != nil {
				return fmt.Errorf("%s: %v (remove %s to start over)", statePath, err, shardDir)
			}
			if !sameOptions(st.Options, opts) {
				return cli.Usagef("--resume: %s was started with other options; run without --resume to start over", *out)
			}
			state = st
			state.Failed = nil // failed inputs are tried again
		}
	} else if err := os.RemoveAll(shardDir); err != nil {
		return err
	}
	if err := os.MkdirAll(shardDir, 0o755); err != nil {
		return err
	}
	_, _ = pipeline.RemoveTemps(shardDir)
	done := map[string]shardState{}
	for _, d := range state.Done {
		done[d.Name] = d
	}

	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	mode := pipeline.ProgressAuto
	if *quiet {
		mode = pipeline.ProgressOff
	}
	prog := pipeline.NewProgress(env.Stderr, pipeline.ProgressOptions{Label: "kprep deps bookcorpus", TotalBytes: total, Mode: mode, Unit: "sentences"})
	defer prog.Finish()

	seen := map[uint64]bool{}
	written := 0
	var kept []shardState
	for i, src := range srcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d, ok := done[src.Name]; ok && d.Size == src.Size && d.ModUnix == src.ModUnix && d.Shard == i {
			if *dedup {
				if err := loadSeen(shardFile(shardDir, i, "seen"), seen); err != nil {
					return fmt.Errorf("resume: %v (run without --resume)", err)
				}
			}
			kept = append(kept, d)
			sum.Resumed++
			written += d.Stats.Written
			prog.AddBytes(src.Size)
			continue
		}
		if *maxSent > 0 && written >= *maxSent {
			break
		}
		format := lindeps.FormatOf(src.Name)
		if fixedFormat != nil {
			format = *fixedFormat
		}
		job := &depsJob{src: src, index: i, dir: shardDir, format: format, opts: opts, model: m, fb: fb,
			seen: seen, limit: *maxSent - written, strict: *strict, workers: *workers, prog: prog}
		if *maxSent == 0 {
			job.limit = -1
		}
		st, err := job.run(ctx)
		if err != nil {
			var fail *inputFailure
			if errors.As(err, &fail) && !*strict {
				fmt.Fprintf(env.Stderr, "kprep deps bookcorpus: skipping %s: %v\n", src.Name, fail.err)
				state.Failed = append(state.Failed, failedIn{Name: src.Name, Error: fail.err.Error()})
				continue
			}
			return err
		}
		d := shardState{Name: src.Name, Size: src.Size, ModUnix: src.ModUnix, Shard: i, Stats: st}
		kept = append(kept, d)
		written += st.Written
		state.Done = append(state.Done, d)
		if err := writeJSONAtomic(statePath, state); err != nil {
			return err
		}
	}
	prog.Finish()

	// Merge the shards into the final files.
	sort.Slice(kept, func(a, b int) bool { return kept[a].Shard < kept[b].Shard })
	for _, d := range kept {
		sum.Stats.add(d.Stats)
	}
	splits := []string{"train"}
	if *devFrac > 0 {
		splits = append(splits, "dev")
	}
	for _, split := range splits {
		if *format != "json" {
			var parts []string
			for _, d := range kept {
				parts = append(parts, shardFile(shardDir, d.Shard, split+".arrow"))
			}
			p := filepath.Join(*out, split+".arrow")
			if err := mergeArrow(p, parts, *zstd); err != nil {
				return err
			}
			sum.Outputs = append(sum.Outputs, p)
		}
		if *format != "arrow" {
			var parts []string
			for _, d := range kept {
				parts = append(parts, shardFile(shardDir, d.Shard, split+".json"))
			}
			p := filepath.Join(*out, split+".json")
			if err := mergeJSON(p, parts); err != nil {
				return err
			}
			sum.Outputs = append(sum.Outputs, p)
		}
	}
	// Outputs of an earlier run into the same folder that this run did not
	// write (another --format or no dev split) would be stale: remove them.
	for _, split := range []string{"train", "dev"} {
		for _, ext := range []string{".arrow", ".json"} {
			p := filepath.Join(*out, split+ext)
			if !slices.Contains(sum.Outputs, p) {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
	}
	sum.Failed = append(sum.Failed, state.Failed...)
	if sum.Stats.Skipped == nil {
		sum.Stats.Skipped = map[string]int{}
	}
	if sum.Stats.FeaturesDropped == nil {
		sum.Stats.FeaturesDropped = map[string]int{}
	}
	sum.Seconds = time.Since(started).Seconds()
	if sum.Seconds > 0 {
		sum.PerSec = float64(sum.Stats.Written) / sum.Seconds
	}
	if err := writeJSONAtomic(manifestPath, sum); err != nil {
		return err
	}
	if err := os.RemoveAll(shardDir); err != nil {
		return err
	}
	return printDepsSummary(env, sum, *asJSON)
}

func printDepsSummary(env cli.Env, sum depsSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	w := env.Stderr
	if sum.NoChange {
		fmt.Fprintf(w, "kprep deps bookcorpus: %s is already complete for these inputs and options\n", sum.Out)
	}
	st := sum.Stats
	fmt.Fprintf(w, "kprep deps bookcorpus: %d inputs (%d resumed, %d failed): %d sentences read, %d written (train %d, dev %d), %d words\n",
		sum.Inputs, sum.Resumed, len(sum.Failed), st.Read, st.Written, st.Train, st.Dev, st.Words)
	fmt.Fprintf(w, "  parsed by our model %d, already parsed %d; skipped %s\n", st.Parsed, st.Preparsed, reasons(st.Skipped))
	fmt.Fprintf(w, "  find_head features: %d kept, dropped %s\n", st.FeaturesKept, reasons(st.FeaturesDropped))
	fmt.Fprintf(w, "  %.1fs, %.0f sentences/s; outputs: %s\n", sum.Seconds, sum.PerSec, strings.Join(sum.Outputs, ", "))
	return nil
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func readManifest(path string) (depsSummary, bool) {
	var s depsSummary
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &s) != nil {
		return s, false
	}
	return s, true
}

func sameOptions(a, b depsOptions) bool { return a == b }

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(path, append(data, '\n'))
}

func shardFile(dir string, shard int, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%05d.%s", shard, suffix))
}

// inputFailure is an input that could not be read (skipped unless --strict).
type inputFailure struct{ err error }

// Error returns the underlying message.
func (f *inputFailure) Error() string { return f.err.Error() }

// depsJob turns one input into its shard files.
type depsJob struct {
	src     pipeline.Source
	index   int
	dir     string
	format  lindeps.Format
	opts    depsOptions
	model   *parser.Model
	fb      *lindeps.Builder
	seen    map[uint64]bool
	limit   int // sentences still allowed; -1 = no limit
	strict  bool
	workers int
	prog    *pipeline.Progress
}

type depsItem struct {
	first int
	sents []*lindeps.Sentence
}

type depsOut struct {
	rows []lindeps.Row
	json [][]byte
	dev  []bool
	pre  []bool // already parsed in the input
}

type shardSinks struct {
	arrow map[string]*pipeline.ArrowSink
	json  map[string]*pipeline.AtomicFile
	jbuf  map[string]*bufio.Writer
	count map[string]int
	seen  *pipeline.AtomicFile
}

func (s *shardSinks) abort() {
	for _, a := range s.arrow {
		a.Abort()
	}
	for _, f := range s.json {
		f.Abort()
	}
	if s.seen != nil {
		s.seen.Abort()
	}
}

func (j *depsJob) run(ctx context.Context) (depsStats, error) {
	var st depsStats
	rc, err := j.src.Open(j.prog.Bytes())
	if err != nil {
		return st, &inputFailure{err: err}
	}
	defer rc.Close()
	rd := lindeps.NewReader(rc, j.src.Name, j.format, nil)

	sinks := &shardSinks{arrow: map[string]*pipeline.ArrowSink{}, json: map[string]*pipeline.AtomicFile{},
		jbuf: map[string]*bufio.Writer{}, count: map[string]int{}}
	defer sinks.abort()
	splits := []string{"train"}
	if j.opts.DevFraction > 0 {
		splits = append(splits, "dev")
	}
	for _, split := range splits {
		if j.opts.Formats != "json" {
			a, err := pipeline.NewArrowSink(shardFile(j.dir, j.index, split+".arrow"), lindeps.Schema(), pipeline.ArrowOptions{Zstd: j.opts.Zstd, BatchRows: 1024})
			if err != nil {
				return st, err
			}
			sinks.arrow[split] = a
		}
		if j.opts.Formats != "arrow" {
			f, err := pipeline.CreateAtomic(shardFile(j.dir, j.index, split+".json"))
			if err != nil {
				return st, err
			}
			sinks.json[split] = f
			sinks.jbuf[split] = bufio.NewWriterSize(f, 1<<20)
		}
	}
	var seenW *bufio.Writer
	if j.opts.Dedup {
		f, err := pipeline.CreateAtomic(shardFile(j.dir, j.index, "seen"))
		if err != nil {
			return st, err
		}
		sinks.seen = f
		seenW = bufio.NewWriter(f)
	}

	var readErr error
	var added []uint64 // dedup hashes of this input, forgotten if it fails
	defer func() {
		if added != nil {
			for _, h := range added {
				delete(j.seen, h)
			}
		}
	}()
	n := 0
	next := func() (depsItem, bool, error) {
		item := depsItem{first: n}
		for len(item.sents) < 64 {
			if j.limit >= 0 && n >= j.limit {
				break
			}
			s, err := rd.Next()
			if err == io.EOF {
				break
			}
			var ie *lindeps.InputError
			if errors.As(err, &ie) {
				if j.strict {
					return item, false, ie
				}
				st.skip(ie.Reason, 1)
				continue
			}
			if err != nil {
				readErr = err
				break
			}
			st.Read++
			j.prog.AddDocs(1)
			switch {
			case len(s.Words) < j.opts.MinWords || len(s.Words) == 0:
				st.skip("too_few_words", 1)
				continue
			case j.opts.MaxWords > 0 && len(s.Words) > j.opts.MaxWords:
				st.skip("too_many_words", 1)
				continue
			}
			if j.opts.Dedup {
				key := s.Text
				if j.opts.Lower {
					key = strings.ToLower(key)
				}
				h := fnv.New64a()
				h.Write([]byte(key))
				sum := h.Sum64()
				if j.seen[sum] {
					st.skip("duplicate", 1)
					continue
				}
				j.seen[sum] = true
				added = append(added, sum)
				var b [8]byte
				for k := 0; k < 8; k++ {
					b[k] = byte(sum >> (8 * k))
				}
				seenW.Write(b[:])
			}
			if !s.Parsed() && j.model == nil {
				return item, false, fmt.Errorf("%s: sentence %s is not parsed and no --model was given", j.src.Name, s.ID)
			}
			item.sents = append(item.sents, s)
			n++
		}
		return item, len(item.sents) > 0, nil
	}
	work := func(_ context.Context, it depsItem) (depsOut, error) {
		o := depsOut{rows: make([]lindeps.Row, len(it.sents)), json: make([][]byte, len(it.sents)),
			dev: make([]bool, len(it.sents)), pre: make([]bool, len(it.sents))}
		for k, s := range it.sents {
			if s.Parsed() {
				o.pre[k] = true
			} else {
				upos, heads, rels := j.model.Parse(s.ParserForms())
				if len(upos) != len(s.Words) || len(heads) != len(s.Words) || len(rels) != len(s.Words) {
					return o, fmt.Errorf("%s: the parser returned %d heads for the %d words of %s", j.src.Name, len(heads), len(s.Words), s.ID)
				}
				for w := range s.Words {
					s.Words[w].UPOS, s.Words[w].Head, s.Words[w].Deprel = upos[w], heads[w], rels[w]
				}
			}
			if j.opts.Lower {
				s.Lower()
			}
			o.rows[k] = j.fb.Build(it.first+k, s)
			if j.opts.Formats != "arrow" {
				o.json[k] = s.AppendJSON(nil)
			}
			o.dev[k] = isDev(s.ID, j.opts.DevFraction)
		}
		return o, nil
	}
	emit := func(o depsOut) error {
		for k := range o.rows {
			r := &o.rows[k]
			split := "train"
			if o.dev[k] {
				split = "dev"
			}
			if a := sinks.arrow[split]; a != nil {
				r.AppendArrow(a.Builder())
				if err := a.RowDone(); err != nil {
					return err
				}
			}
			if w := sinks.jbuf[split]; w != nil {
				if sinks.count[split] > 0 {
					w.WriteString(",\n")
				}
				w.Write(o.json[k])
			}
			sinks.count[split]++
			st.Written++
			if split == "dev" {
				st.Dev++
			} else {
				st.Train++
			}
			st.Words += len(r.Sentence.Words)
			if o.pre[k] {
				st.Preparsed++
			} else {
				st.Parsed++
			}
			switch r.Drop {
			case "":
				st.FeaturesKept++
			default:
				if st.FeaturesDropped == nil {
					st.FeaturesDropped = map[string]int{}
				}
				st.FeaturesDropped[r.Drop]++
			}
		}
		j.prog.AddRecords(int64(len(o.rows)))
		return nil
	}
	if err := pipeline.Ordered(ctx, j.workers, next, work, emit); err != nil {
		return st, err
	}
	if readErr != nil {
		return st, &inputFailure{err: fmt.Errorf("%s: %w", j.src.Name, readErr)}
	}
	for _, split := range splits {
		if a := sinks.arrow[split]; a != nil {
			if _, err := a.Close(); err != nil {
				return st, err
			}
		}
		if w := sinks.jbuf[split]; w != nil {
			if err := w.Flush(); err != nil {
				return st, err
			}
			if err := sinks.json[split].Commit(); err != nil {
				return st, err
			}
		}
	}
	if seenW != nil {
		if err := seenW.Flush(); err != nil {
			return st, err
		}
		if err := sinks.seen.Commit(); err != nil {
			return st, err
		}
	}
	added = nil // the input is done: keep its hashes
	return st, nil
}

func isDev(id string, frac float64) bool {
	if frac <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%1000000) < frac*1000000
}

func loadSeen(path string, seen map[uint64]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i := 0; i+8 <= len(data); i += 8 {
		var v uint64
		for k := 0; k < 8; k++ {
			v |= uint64(data[i+k]) << (8 * k)
		}
		seen[v] = true
	}
	return nil
}

// mergeArrow concatenates the shards' record batches into one Arrow IPC
// stream file at dst (atomically). No shards: an empty file with the schema.
func mergeArrow(dst string, parts []string, zstd bool) error {
	if len(parts) == 0 {
		s, err := pipeline.NewArrowSink(dst, lindeps.Schema(), pipeline.ArrowOptions{Zstd: zstd})
		if err != nil {
			return err
		}
		_, err = s.Close()
		return err
	}
	f, err := pipeline.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w *ipc.Writer
	_, err = pipeline.ReadArrow(parts, func(rec arrow.RecordBatch) error {
		if w == nil {
			opts := []ipc.Option{ipc.WithSchema(rec.Schema())}
			if zstd {
				opts = append(opts, ipc.WithZstd(), ipc.WithCompressConcurrency(1))
			}
			w = ipc.NewWriter(bw, opts...)
		}
		return w.Write(rec)
	})
	if err != nil {
		return err
	}
	if w == nil { // every shard empty: copy the first one's schema-only stream
		data, err := os.ReadFile(parts[0])
		if err != nil {
			return err
		}
		if _, err := bw.Write(data); err != nil {
			return err
		}
	} else if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

// mergeJSON writes the JSON list made of the shards' records (each shard
// holds records separated by ",\n", no brackets).
func mergeJSON(dst string, parts []string) error {
	f, err := pipeline.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString("[\n")
	first := true
	for _, p := range parts {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			continue
		}
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(bw, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	bw.WriteString("\n]\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

const parseDescription = `
Reads text (default: raw text segmented by parser/segment; --input-format
lines: one pre-tokenized sentence per line) or CoNLL-U (--conllu-in), parses
every sentence with our model and writes CoNLL-U to stdout: multiword tokens
(don't = do + n't) as range lines, SpaceAfter=No where the text had no space,
"# text" and "# sent_id" comments. CoNLL-U input is re-parsed (UPOS, HEAD and
DEPREL replaced); its other columns are kept.
`

func depsParse(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "deps parse", "--model M [--in FILE] [--conllu-in]", parseDescription, env.Stderr)
	model := fs.String("model", "", "parser model (kprep deps train)")
	in := fs.String("in", "", "input file (default: stdin)")
	conlluIn := fs.Bool("conllu-in", false, "the input is CoNLL-U (same as --input-format conllu)")
	inFormat := fs.String("input-format", "text", "text, lines or conllu")
	lineSent := fs.Bool("line-is-sentence", false, "text: every line break ends a sentence")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	if *model == "" {
		return cli.Usagef("--model is required")
	}
	format, err := lindeps.ParseFormat(*inFormat)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	if *conlluIn {
		format = lindeps.FormatCoNLLU
	}
	m, err := parser.Load(*model)
	if err != nil {
		return err
	}
	var r io.Reader = env.Stdin
	name := "stdin"
	if *in != "" {
		srcs, err := pipeline.ExpandSources([]string{*in}, pipeline.ExpandOptions{})
		if err != nil {
			return err
		}
		if len(srcs) != 1 {
			return cli.Usagef("--in names %d files; give one", len(srcs))
		}
		rc, err := srcs[0].Open(nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		r, name = rc, srcs[0].Name
	}
	if r == nil {
		return cli.Usagef("no input: give --in or pipe text to stdin")
	}
	w := conllu.NewWriter(env.Stdout)
	n := 0
	parseOne := func(cs *conllu.Sentence) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(cs.Words) == 0 {
			return nil
		}
		upos, heads, rels := m.Parse(cs.Forms())
		if len(heads) != len(cs.Words) || len(upos) != len(cs.Words) || len(rels) != len(cs.Words) {
			return fmt.Errorf("the parser returned %d heads for %d words", len(heads), len(cs.Words))
		}
		for i := range cs.Words {
			cs.Words[i].UPOS, cs.Words[i].Head, cs.Words[i].Deprel = upos[i], heads[i], rels[i]
		}
		n++
		return w.Write(cs)
	}
	switch format {
	case lindeps.FormatCoNLLU:
		cr := conllu.NewReader(r)
		for {
			cs, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := parseOne(cs); err != nil {
				return err
			}
		}
	case lindeps.FormatLines:
		rd := lindeps.NewReader(r, name, format, nil)
		for {
			s, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := parseOne(conlluFromLindeps(s, n+1)); err != nil {
				return err
			}
		}
	default:
		// Stream paragraph by paragraph (a blank line always ends a sentence).
		seg := segment.New(segment.Options{LineIsSentence: *lineSent})
		br := bufio.NewReaderSize(r, 1<<16)
		var para strings.Builder
		flush := func() error {
			text := strings.ToValidUTF8(para.String(), "\uFFFD")
			para.Reset()
			for _, ss := range seg.Segment(text) {
				if err := parseOne(conlluFromSegment(text, ss, n+1)); err != nil {
					return err
				}
			}
			return nil
		}
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if strings.TrimSpace(line) == "" || para.Len() >= lindeps.MaxParagraph {
					if ferr := flush(); ferr != nil {
						return ferr
					}
				}
				para.WriteString(line)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// conlluFromSegment builds an unparsed CoNLL-U sentence from a segmented
// sentence: multiword tokens as ranges, SpaceAfter=No where no space
// followed, "# text" with whitespace runs as single spaces.
func conlluFromSegment(text string, ss segment.Sentence, n int) *conllu.Sentence {
	cs := &conllu.Sentence{}
	var tb strings.Builder
	for ti, t := range ss.Tokens {
		tb.WriteString(t.Text)
		spaceAfter := ti+1 < len(ss.Tokens) && t.End < ss.Tokens[ti+1].Start
		if spaceAfter {
			tb.WriteByte(' ')
		}
		misc := "_"
		if !spaceAfter && ti+1 < len(ss.Tokens) {
			misc = "SpaceAfter=No"
		}
		if len(t.Words) > 1 {
			first := len(cs.Words) + 1
			cs.Tokens = append(cs.Tokens, conllu.MultiwordToken{First: first, Last: first + len(t.Words) - 1, Form: t.Text, Misc: misc})
			misc = "_"
		}
		for _, wd := range t.Words {
			cs.Words = append(cs.Words, conllu.Word{ID: len(cs.Words) + 1, Form: wd.Text, Lemma: "_", UPOS: "_", XPOS: "_",
				Feats: "_", Head: conllu.NoHead, Deprel: "_", Deps: "_", Misc: misc})
		}
	}
	cs.SetMeta("sent_id", fmt.Sprint(n))
	cs.SetMeta("text", tb.String())
	return cs
}

func conlluFromLindeps(s *lindeps.Sentence, n int) *conllu.Sentence {
	cs := &conllu.Sentence{}
	for _, w := range s.Words {
		cs.Words = append(cs.Words, conllu.Word{ID: len(cs.Words) + 1, Form: w.Form, Lemma: "_", UPOS: "_", XPOS: "_",
			Feats: "_", Head: conllu.NoHead, Deprel: "_", Deps: "_", Misc: "_"})
	}
	cs.SetMeta("sent_id", fmt.Sprint(n))
	cs.SetMeta("text", s.Text)
	return cs
}
