package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/builders/bookcorpus"
	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/builders/lindeps"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/parser"
	"github.com/kadapter/kadapter/parser/conllu"
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
	opts := bookcorpus.Params{InputFormat: *inFormat, Vocab: *vocab, Formats: *format, MaxSentences: *maxSent,
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
	// Inputs are named by their resolved path (as kprep trex names them):
	// two spellings of one file are one input, and --resume does not
	// depend on the spelling.
	srcs, err := pipeline.ExpandSources(ins, pipeline.ExpandOptions{
		ResolvedNames: true,
		OnDuplicate: func(name, first string) {
			fmt.Fprintf(env.Stderr, "warning: input %s is given more than once; it is read once\n", name)
		},
	})
	if err != nil {
		return cli.Usagef("%v", err)
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
	sum, err := bookcorpus.Run(ctx, srcs, bookcorpus.Options{Out: *out, Params: opts, Format: fixedFormat, Model: m, Features: fb,
		Strict: *strict, Resume: *resume, Workers: *workers, Progress: prog, Log: prog.Writer(env.Stderr)})
	prog.Finish()
	if errors.Is(err, bookcorpus.ErrOtherOptions) {
		return cli.Usagef("--resume: %v", err)
	}
	if err != nil {
		return err
	}
	return printDepsSummary(env, sum, *asJSON)
}

// printDepsSummary reports a run: the counts by reason, the inputs that
// failed or ended early, the outputs.
func printDepsSummary(env cli.Env, sum *bookcorpus.Summary, asJSON bool) error {
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
	fmt.Fprintf(w, "kprep deps bookcorpus: %d inputs (%d resumed, %d failed, %d ended early): %d sentences read, %d written (train %d, dev %d), %d words\n",
		sum.Inputs, sum.Resumed, len(sum.Failed), len(sum.EndedEarly), st.Read, st.Written, st.Train, st.Dev, st.Words)
	fmt.Fprintf(w, "  parsed by our model %d, already parsed %d; skipped %s\n", st.Parsed, st.Preparsed, reasons(st.Skipped))
	fmt.Fprintf(w, "  find_head features: %d kept, dropped %s\n", st.FeaturesKept, reasons(st.FeaturesDropped))
	for _, f := range sum.Failed {
		fmt.Fprintf(w, "  failed input %s: %s\n", f.Name, f.Error)
	}
	for _, f := range sum.EndedEarly {
		fmt.Fprintf(w, "  input ended early: %s\n", f.Error)
	}
	fmt.Fprintf(w, "  %.1fs, %.0f sentences/s; outputs: %s\n", sum.Seconds, sum.PerSec, strings.Join(sum.Outputs, ", "))
	return nil
}

// reasons lists counts by reason in sorted order ("duplicate 3, too_few_words 1").
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

const parseDescription = `
Reads text (default: raw text segmented by parser/segment; --input-format
lines: one pre-tokenized sentence per line) or CoNLL-U (--conllu-in), parses
every sentence with our model and writes CoNLL-U to stdout: multiword tokens
(don't = do + n't) as range lines, SpaceAfter=No where the text had no space,
"# text" and "# sent_id" comments. CoNLL-U input is re-parsed (UPOS, HEAD and
DEPREL replaced); its other columns are kept. Bad records (a malformed
CoNLL-U sentence, an invalid UTF-8 line in lines input) are skipped and
counted (a summary on stderr); --strict stops at the first.
`

func depsParse(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "deps parse", "--model M [--in FILE] [--conllu-in]", parseDescription, env.Stderr)
	model := fs.String("model", "", "parser model (kprep deps train)")
	in := fs.String("in", "", "input file (default: stdin)")
	conlluIn := fs.Bool("conllu-in", false, "the input is CoNLL-U (same as --input-format conllu)")
	inFormat := fs.String("input-format", "text", "text, lines or conllu")
	lineSent := fs.Bool("line-is-sentence", false, "text: every line break ends a sentence")
	strict := fs.Bool("strict", false, "stop at the first bad record (malformed CoNLL-U sentence, invalid UTF-8 line) instead of skipping and counting it")
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
	var bad badRecords
	n, err := lindeps.ParseStream(ctx, r, name, m, lindeps.ParseOptions{Format: format, LineIsSentence: *lineSent,
		Bad: func(reason string, err error) error { return bad.add(env, *strict, reason, err) }}, w.Write)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "kprep deps parse: %d sentences parsed; %d bad records skipped", n, bad.total)
	if bad.total > 0 {
		fmt.Fprintf(env.Stderr, " (%s; first: %s)", reasons(bad.by), bad.first)
	}
	fmt.Fprintln(env.Stderr)
	return nil
}

// badRecords counts the bad records kprep deps parse skipped.
type badRecords struct {
	total int
	by    map[string]int
	first string
}

// add counts one bad record (and warns for the first three), or returns
// err under strict.
func (b *badRecords) add(env cli.Env, strict bool, reason string, err error) error {
	if strict {
		return fmt.Errorf("%w (--strict)", err)
	}
	if b.by == nil {
		b.by = map[string]int{}
	}
	b.total++
	b.by[reason]++
	if b.first == "" {
		b.first = err.Error()
	}
	if b.total <= 3 {
		fmt.Fprintf(env.Stderr, "kprep deps parse: skipping a bad record: %v\n", err)
	}
	return nil
}
