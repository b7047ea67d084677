package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/parser"
	"github.com/kadapter/kadapter/parser/conllu"
	"github.com/kadapter/kadapter/parser/segment"
)

const depsTrainHelp = `Train the part-of-speech tagger and the dependency parser on a CoNLL-U
treebank (UPOS, HEAD and DEPREL are used). Each epoch is scored on --dev with
predicted tags and the best epoch is kept (tagger: UPOS accuracy; parser:
LAS). Training tags come from jackknifing (the tagger trained on the other
folds) so the parser learns to cope with tagging errors. Same data, options
and seed give the same model. Progress lines go to stderr; the model file is
written atomically.

Example:
  kprep deps train --treebank en_ewt-ud-train.conllu --dev en_ewt-ud-dev.conllu --out ewt.model`

const depsEvalHelp = `Score a model on a gold CoNLL-U treebank with gold tokenization and
predicted tags: UAS, LAS (CoNLL 2018 conventions: punctuation included, LAS
compares the universal relation, i.e. the part before ':'), UPOS accuracy,
and parsing speed in tokens/s (tagging + parsing, --workers goroutines; the
default 1 measures one core). With --text, also score our sentence
segmentation and tokenization (parser/segment) against the raw text of the
treebank's "# text" comments: token, word and sentence F1 over character
spans, as in the CoNLL 2018 shared task.`

// depsTrain implements `kprep deps train` (dispatched by deps.go).
func depsTrain(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "deps train", "--treebank TRAIN.conllu --dev DEV.conllu --out MODEL [flags]", depsTrainHelp, env.Stderr)
	treebank := fs.String("treebank", "", "training treebank (CoNLL-U, required)")
	devPath := fs.String("dev", "", "development treebank for model selection (CoNLL-U, required)")
	out := fs.String("out", "", "model file to write (required)")
	epochs := fs.Int("epochs", 15, "parser training epochs")
	taggerEpochs := fs.Int("tagger-epochs", 10, "tagger training epochs")
	seed := fs.Int64("seed", 1, "random seed (shuffling, exploration)")
	jack := fs.Int("jackknife", 4, "folds used to predict the training tags (1: train the parser on gold tags)")
	nonproj := fs.String("nonproj", "lift", "non-projective training trees: lift (projectivize by lifting arcs) or skip")
	ensemble := fs.Int("ensemble", 2, "parsers trained in parallel (different seeds) and mixed into one model")
	workers := fs.Int("workers", 2, "goroutines for tagger training and dev scoring")
	strict := fs.Bool("strict", false, "fail on the first malformed CoNLL-U sentence instead of skipping it")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *treebank == "" || *devPath == "" || *out == "" {
		return cli.Usagef("--treebank, --dev and --out are required")
	}
	if *epochs < 1 || *taggerEpochs < 1 || *jack < 1 || *workers < 1 || *ensemble < 1 {
		return cli.Usagef("--epochs, --tagger-epochs, --jackknife, --ensemble and --workers must be at least 1")
	}
	if *nonproj != "lift" && *nonproj != "skip" {
		return cli.Usagef("--nonproj must be lift or skip, not %q", *nonproj)
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(env.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}
	train, err := readTreebank(*treebank, *strict, logf)
	if err != nil {
		return err
	}
	dev, err := readTreebank(*devPath, *strict, logf)
	if err != nil {
		return err
	}
	m, err := parser.Train(ctx, train, dev, parser.TrainOptions{
		Epochs: *epochs, TaggerEpochs: *taggerEpochs, Seed: *seed, Jackknife: *jack, NonProj: *nonproj,
		Workers: *workers, Ensemble: *ensemble, Treebank: *treebank, Log: logf,
	})
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	sum := map[string]any{
		"model": *out, "model_bytes": st.Size(), "train_seconds": time.Since(start).Seconds(),
		"sentences": m.Info.Sentences, "tokens": m.Info.Tokens,
		"dev_upos": m.Info.DevUPOS, "dev_uas": m.Info.DevUAS, "dev_las": m.Info.DevLAS,
		"tagger_epoch": m.Info.TaggerEpoch, "parser_epoch": m.Info.ParserEpoch,
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(sum)
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%.1f MB) in %.0fs: dev UPOS %.2f, UAS %.2f, LAS %.2f (tagger epoch %d, parser epoch %d)\n",
		*out, float64(st.Size())/1e6, time.Since(start).Seconds(), m.Info.DevUPOS, m.Info.DevUAS, m.Info.DevLAS, m.Info.TaggerEpoch, m.Info.ParserEpoch)
	return nil
}

// readTreebank reads a CoNLL-U file, skipping (and counting) malformed
// sentences unless strict.
func readTreebank(path string, strict bool, logf func(string, ...any)) ([]*conllu.Sentence, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := conllu.NewReader(f)
	var out []*conllu.Sentence
	bad := 0
	for {
		s, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *conllu.ParseError
		if errors.As(err, &pe) {
			if strict {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if bad < 5 {
				logf("%s: skipping sentence: %v", path, err)
			}
			bad++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, s)
	}
	logf("%s: %d sentences (%d malformed, skipped)", path, len(out), bad)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sentences", path)
	}
	return out, nil
}

// depsEval implements `kprep deps eval` (dispatched by deps.go).
func depsEval(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "deps eval", "--model MODEL --treebank GOLD.conllu [flags]", depsEvalHelp, env.Stderr)
	modelPath := fs.String("model", "", "model file written by kprep deps train (required)")
	treebank := fs.String("treebank", "", "gold treebank (CoNLL-U, required)")
	workers := fs.Int("workers", 1, "goroutines for tagging and parsing")
	text := fs.Bool("text", false, "also score sentence segmentation and tokenization against the \"# text\" comments")
	strict := fs.Bool("strict", false, "fail on the first malformed CoNLL-U sentence instead of skipping it")
	asJSON := fs.Bool("json", false, "print {\"uas\",\"las\",\"upos\",\"tokens_per_sec\",...} (percentages) on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *modelPath == "" || *treebank == "" {
		return cli.Usagef("--model and --treebank are required")
	}
	if *workers < 1 {
		return cli.Usagef("--workers must be at least 1")
	}
	logf := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }
	t0 := time.Now()
	m, err := parser.Load(*modelPath)
	if err != nil {
		return err
	}
	loadSec := time.Since(t0).Seconds()
	gold, err := readTreebank(*treebank, *strict, logf)
	if err != nil {
		return err
	}
	var usable []*conllu.Sentence
	for _, s := range gold {
		if hasTree(s) {
			usable = append(usable, s)
		}
	}
	if len(usable) < len(gold) {
		logf("%s: %d sentences without gold HEAD/DEPREL skipped", *treebank, len(gold)-len(usable))
	}
	if len(usable) == 0 {
		return fmt.Errorf("%s: no sentences with gold trees", *treebank)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t1, c1 := time.Now(), parser.ProcessCPUSeconds()
	sc := parser.Evaluate(m, usable, *workers)
	sec := time.Since(t1).Seconds()
	cpu := parser.ProcessCPUSeconds() - c1
	res := map[string]any{
		"uas": round2(sc.UAS), "las": round2(sc.LAS), "upos": round2(sc.UPOS),
		"tokens_per_sec": round2(float64(sc.Tokens) / sec), "tokens": sc.Tokens, "sentences": len(usable),
		"workers": *workers, "load_seconds": round2(loadSec),
	}
	if cpu > 0 {
		res["tokens_per_cpu_sec"] = round2(float64(sc.Tokens) / cpu)
	}
	var rep segment.Report
	if *text {
		f, err := os.Open(*treebank)
		if err != nil {
			return err
		}
		docs, err := segment.ReadGold(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *treebank, err)
		}
		rep = segment.Evaluate(docs, segment.New(segment.Options{}))
		res["tokens_f1"], res["words_f1"], res["sentences_f1"] = round2(rep.Tokens.F1), round2(rep.Words.F1), round2(rep.Sentences.F1)
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s on %s (%d sentences, %d words; gold tokenization, predicted tags)\n", *modelPath, *treebank, len(usable), sc.Tokens)
	fmt.Fprintf(w, "UAS     %6.2f\nLAS     %6.2f\nUPOS    %6.2f\n", sc.UAS, sc.LAS, sc.UPOS)
	fmt.Fprintf(w, "speed   %.0f tokens/s (%d worker(s))", float64(sc.Tokens)/sec, *workers)
	if cpu > 0 { // ProcessCPUSeconds is 0 where the CPU time is not available
		fmt.Fprintf(w, ", %.0f tokens per CPU-second", float64(sc.Tokens)/cpu)
	}
	fmt.Fprintf(w, "; model loaded in %.2fs\n", loadSec)
	if *text {
		fmt.Fprintf(w, "segmentation on \"# text\" (%d documents): tokens F1 %.2f, words F1 %.2f, sentences F1 %.2f\n",
			rep.Documents, rep.Tokens.F1, rep.Words.F1, rep.Sentences.F1)
	}
	return nil
}

func hasTree(s *conllu.Sentence) bool {
	for _, w := range s.Words {
		if w.Head == conllu.NoHead || w.Deprel == "_" {
			return false
		}
	}
	return len(s.Words) > 0
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
