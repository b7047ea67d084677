package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kadapter/kadapter/evaluate"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

func init() {
	program.Register(&cli.Command{
		Name:    "predict",
		Summary: "predict labels for raw examples (JSON lines in the task's layout)",
		Run:     runPredict,
	})
}

func runPredict(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "predict", "--task T --model M.onnx --vocab DIR [--in FILE] [--out FILE] [flags]", `
Predicts labels for raw examples written in the task's original record layout
(one JSON object per line, or a JSON array), read from --in or stdin; the label
field may be left out. Writes one JSON line per input record to --out (atomically)
or stdout: {"record", "id", "pred", "pred_id", "logits"} plus "gold" when the
record had a label, or {"record", "error"} for a record that cannot be converted
(--strict fails instead). Inputs are built and padded exactly as krun eval does.`, env.Stderr)
	var tf rtTaskFlags
	var sf rtSessionFlags
	sf.register(fs)
	tf.registerTask(fs)
	model := fs.String("model", "", "exported ONNX graph of the task (required)")
	fs.StringVar(&tf.vocab, "vocab", "", "RoBERTa tokenizer folder: vocab.json + merges.txt, or tokenizer.json (required)")
	fs.StringVar(&tf.labels, "labels", "", "label list (JSON array): required for figer; trex-rc defaults to the original's 410 relations")
	fs.IntVar(&tf.maxLen, "max-seq-length", 0, "max_seq_length (0 = the original script's)")
	fs.Int64Var(&tf.padID, "pad-id", 0, "cosmosqa padding id (the original's 0)")
	fs.StringVar(&tf.headMapping, "head-mapping", "original", "find-head label encoding: original or first-subtoken")
	fs.BoolVar(&tf.clampAtMax, "clamp-at-max", false, "tacred: clamp a marker index equal to max_seq_length instead of rejecting the record")
	in := fs.String("in", "-", "input records (- = stdin)")
	out := fs.String("out", "-", "output file (- = stdout)")
	batchSize := fs.Int("batch-size", evaluate.DefaultBatchSize, "examples per run")
	paddingFlag := fs.String("padding", "fixed", "fixed (the original's numbers) or dynamic (length-sorted)")
	strict := fs.Bool("strict", false, "fail on the first record that cannot be converted")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *model == "" || tf.task == "" {
		return cli.Usagef("--task and --model are required")
	}
	if *batchSize <= 0 {
		return cli.Usagef("--batch-size must be > 0")
	}
	padding, err := krt.ParsePadding(*paddingFlag)
	if err != nil {
		return cli.Usagef("--padding: %v", err)
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	eo := tf.options()
	eo.BatchSize, eo.Padding, eo.Strict = *batchSize, padding, *strict
	eo.Progress = rtProgressFor(env, "krun predict "+tf.task, *quiet)
	task, err := evaluate.NewTask(tf.task, "", tf.vocab, true, eo)
	if err != nil {
		return rtUsage(err)
	}
	var r io.Reader = env.Stdin
	name := "stdin"
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, *in
	}
	if r == nil {
		return cli.Usagef("no input: give --in FILE or pipe records to stdin")
	}
	recs, examples, err := task.ReadForPrediction(r, name)
	if err != nil {
		return err
	}
	outs := make([]tasks.Output, len(examples))
	if len(examples) > 0 {
		sess, err := rtOpenLogits(*model, opts)
		if err != nil {
			return err
		}
		outs, err = task.Run(ctx, sess, examples)
		sess.Close()
		if err != nil {
			return err
		}
	}
	var w io.Writer = env.Stdout
	var af *pipeline.AtomicFile
	if *out != "-" {
		if af, err = pipeline.CreateAtomic(*out); err != nil {
			return err
		}
		defer af.Abort()
		w = af
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	failed := 0
	for _, rec := range recs {
		if rec.Err != nil {
			failed++
		}
	}
	for _, p := range task.Predictions(recs, outs) {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if af != nil {
		if err := af.Commit(); err != nil {
			return err
		}
	}
	if !*quiet {
		fmt.Fprintf(env.Stderr, "krun predict %s: %d records, %d predicted, %d could not be converted\n", task.Name, len(recs), len(examples), failed)
	}
	return nil
}
