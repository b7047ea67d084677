package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/evaluate"
	"github.com/kadapter/kadapter/internal/cli"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

func init() {
	program.Register(&cli.Command{
		Name:    "eval",
		Summary: "score an exported task graph on a task's original data file",
		Run:     runEval,
	})
}

// rtTaskFlags are the task flags shared by eval and predict.
type rtTaskFlags struct {
	task        string
	vocab       string
	labels      string
	maxLen      int
	padID       int64
	headMapping string
	legacyLabel bool
	clampAtMax  bool
}

// options are the evaluate options the task flags give.
func (f *rtTaskFlags) options() evaluate.Options {
	return evaluate.Options{
		Labels: f.labels, MaxSeqLength: f.maxLen, PadID: f.padID, HeadMapping: f.headMapping,
		LegacyLabel: f.legacyLabel, ClampAtMax: f.clampAtMax,
	}
}

// rtTaskList names the evaluable tasks: "a, b or c".
func rtTaskList() string {
	n := evaluate.TaskNames()
	return strings.Join(n[:len(n)-1], ", ") + " or " + n[len(n)-1]
}

// rtUsage turns the evaluate package's option errors into command-line
// errors.
func rtUsage(err error) error {
	var oe *evaluate.OptionError
	if errors.As(err, &oe) {
		return &cli.UsageError{Err: err}
	}
	return err
}

// rtProgressFor gives the evaluate package a progress display labelled
// label on stderr.
func rtProgressFor(env cli.Env, label string, quiet bool) func(total int) evaluate.Progress {
	return func(total int) evaluate.Progress {
		return rtProgressAdapter{newRTProgress(env.Stderr, label, total, quiet)}
	}
}

type rtProgressAdapter struct{ p *rtProgress }

func (a rtProgressAdapter) Update(done, total int) { a.p.update(done, total) }
func (a rtProgressAdapter) Finish()                { a.p.finish() }

// rtOpenLogits opens model fetching its logits.
func rtOpenLogits(model string, opts krt.Options) (*krt.Session, error) {
	opts.Outputs = []string{"logits"}
	return krt.Open(model, opts)
}

// rtEvalFlags are eval's own flags.
type rtEvalFlags struct {
	rtTaskFlags
	sess          rtSessionFlags
	model         string
	data          string
	batchSize     int
	padding       string
	asJSON        bool
	predictions   string
	figerUpstream bool
	facLossSum    bool
	strict        bool
	quiet         bool
}

// rtEvalReport is eval's summary (--json prints it).
type rtEvalReport struct {
	Task              string              `json:"task"`
	Model             string              `json:"model"`
	Data              string              `json:"data"`
	Device            string              `json:"device"`
	ORTVersion        string              `json:"onnxruntime_version"`
	Padding           string              `json:"padding"`
	MaxSeqLength      int                 `json:"max_seq_length"`
	BatchSize         int                 `json:"batch_size"`
	Records           int                 `json:"records"`
	Examples          int                 `json:"examples"`
	Dropped           features.DropCounts `json:"dropped"`
	Metrics           tasks.Result        `json:"metrics"`
	Seconds           float64             `json:"seconds"`
	ExamplesPerSecond float64             `json:"examples_per_second"`
	Predictions       string              `json:"predictions,omitempty"`
}

// rtEvalHelp is eval's description, listing every task's metrics.
func rtEvalHelp() string {
	var b strings.Builder
	b.WriteString(`
Scores an exported task graph (krun export) on a task's original data file,
exactly as the original evaluation functions do (spec §6):`)
	for _, d := range tasks.Evaluable() {
		about := strings.ReplaceAll(d.Eval.About, "\n", "\n"+strings.Repeat(" ", 14))
		fmt.Fprintf(&b, "\n  %-11s %s", d.Task, about)
	}
	b.WriteString(`
The data file is read with the task's original feature converter (kprep features);
records it drops are counted by reason. Inputs are padded to --max-seq-length, as the
original does: adapters attend to padding, so only this gives the original's numbers
(--padding dynamic sorts by length and pads per batch: faster, slightly different logits).`)
	return b.String()
}

// registerTaskFlag adds --task.
func (f *rtTaskFlags) registerTask(fs *flag.FlagSet) {
	fs.StringVar(&f.task, "task", "", "task: "+rtTaskList()+" (required)")
}

func runEval(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "eval", "--task T --model M.onnx --data FILE --vocab DIR [flags]", rtEvalHelp(), env.Stderr)
	var f rtEvalFlags
	f.sess.register(fs)
	f.registerTask(fs)
	fs.StringVar(&f.model, "model", "", "exported ONNX graph of the task (required)")
	fs.StringVar(&f.data, "data", "", "the task's original data file (JSON array, or JSON lines for cosmosqa), or features written by kprep features (X.arrow: then --vocab is not needed) (required)")
	fs.StringVar(&f.vocab, "vocab", "", "RoBERTa tokenizer folder: vocab.json + merges.txt, or tokenizer.json (required)")
	fs.StringVar(&f.labels, "labels", "", "label list (JSON array); trex-rc defaults to the original's 410 relations, figer to labels.json beside --data")
	fs.IntVar(&f.maxLen, "max-seq-length", 0, "max_seq_length (0 = the original script's: tacred 184, trex-rc/find-head 64, others 256)")
	fs.IntVar(&f.batchSize, "batch-size", evaluate.DefaultBatchSize, "examples per run; also the eval batch size of the batch-dependent upstream metrics and losses")
	fs.StringVar(&f.padding, "padding", "fixed", "fixed (pad to --max-seq-length: the original's numbers) or dynamic (length-sorted, pad to each batch's longest row)")
	fs.Int64Var(&f.padID, "pad-id", 0, "cosmosqa padding id (the original pads with 0 = <s>; other tasks pad with <pad>)")
	fs.StringVar(&f.headMapping, "head-mapping", "original", "find-head labels: original (as the released lin-adapter was trained) or first-subtoken")
	fs.BoolVar(&f.legacyLabel, "cosmosqa-legacy-label", false, "cosmosqa: an integer 0 label means \"no label\", as the original's int(label) if label else None")
	fs.BoolVar(&f.clampAtMax, "clamp-at-max", false, "tacred: clamp a marker index equal to max_seq_length to max_seq_length-10 instead of rejecting the record")
	fs.BoolVar(&f.asJSON, "json", false, "print the summary as JSON on stdout")
	fs.StringVar(&f.predictions, "predictions", "", "write per-example predictions (JSON lines: record, id, gold, pred, logits) to this file")
	fs.BoolVar(&f.figerUpstream, "figer-upstream-metric", false, "figer: reproduce the original's cumulative micro/macro counting (depends on --batch-size)")
	fs.BoolVar(&f.facLossSum, "fac-loss-sum", false, "trex-rc: report the loss as the original's sum of batch losses instead of their mean")
	fs.BoolVar(&f.strict, "strict", false, "fail on the first rejected record instead of skipping and counting it")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if f.model == "" || f.data == "" || f.task == "" {
		return cli.Usagef("--task, --model and --data are required")
	}
	if f.batchSize <= 0 {
		return cli.Usagef("--batch-size must be > 0")
	}
	padding, err := krt.ParsePadding(f.padding)
	if err != nil {
		return cli.Usagef("--padding: %v", err)
	}
	opts, err := f.sess.options()
	if err != nil {
		return err
	}
	eo := f.options()
	eo.BatchSize, eo.Padding, eo.Strict = f.batchSize, padding, f.strict
	eo.FIGERUpstream, eo.FacLossSum = f.figerUpstream, f.facLossSum
	eo.Progress = rtProgressFor(env, "krun eval "+f.task, f.quiet)
	task, err := evaluate.NewTask(f.task, f.data, f.vocab, !evaluate.IsArrow(f.data), eo)
	if err != nil {
		return rtUsage(err)
	}
	start := time.Now()
	data, err := task.Load(f.data)
	if err != nil {
		return err
	}
	if err := data.NoExamples(f.data); err != nil {
		return err
	}
	sess, err := rtOpenLogits(f.model, opts)
	if err != nil {
		return err
	}
	outs, err := task.Run(ctx, sess, data.Examples)
	sess.Close()
	if err != nil {
		return err
	}
	scored, err := task.Score(data.Examples, outs)
	if err != nil {
		return err
	}
	if f.predictions != "" {
		if err := task.WritePredictions(f.predictions, data.Examples, outs); err != nil {
			return err
		}
	}
	el := time.Since(start).Seconds()
	rep := rtEvalReport{
		Task: task.Name, Model: f.model, Data: f.data, Device: opts.Device.String(), ORTVersion: krt.Version(),
		Padding: padding.String(), MaxSeqLength: task.MaxLen, BatchSize: f.batchSize,
		Records: data.Records, Examples: len(data.Examples), Dropped: data.Summary.Dropped, Metrics: scored.Result,
		Seconds: el, ExamplesPerSecond: float64(len(data.Examples)) / max(el, 1e-9), Predictions: f.predictions,
	}
	if rep.Dropped == nil {
		rep.Dropped = features.DropCounts{}
	}
	if f.asJSON {
		return rtWriteJSON(env.Stdout, rep)
	}
	rtPrintEvalReport(env.Stdout, rep)
	return nil
}

func rtPrintEvalReport(w io.Writer, r rtEvalReport) {
	fmt.Fprintf(w, "task %s: %d examples from %d records of %s", r.Task, r.Examples, r.Records, r.Data)
	if r.Dropped.Total() > 0 {
		fmt.Fprintf(w, " (dropped %d: %s)", r.Dropped.Total(), r.Dropped)
	}
	fmt.Fprintf(w, "\nmodel %s on %s, padding %s to %d, batch %d: %.2fs (%.1f examples/s)\n",
		r.Model, r.Device, r.Padding, r.MaxSeqLength, r.BatchSize, r.Seconds, r.ExamplesPerSecond)
	r.Metrics.WriteText(w)
	if r.Predictions != "" {
		fmt.Fprintf(w, "predictions: %s\n", r.Predictions)
	}
}
