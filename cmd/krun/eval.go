package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/runtime/metrics"
)

func init() {
	program.Register(&cli.Command{
		Name:    "eval",
		Summary: "score an exported task graph on a task's original data file",
		Run:     runEval,
	})
}

// rtTask is what eval and predict share about one task: the feature
// converter, the label names, the padding and the graph's position inputs.
type rtTask struct {
	name        string
	conv        *features.Converter
	labels      []string // class names (tacred, trex-rc, openentity, figer)
	maxLen      int
	padID       int64
	multiChoice bool
	positions   []string // graph inputs fed from marker positions
	data, vocab string   // the data file and the vocabulary's size, named in id-range errors
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

// newRTTask sets up a task. Without a converter (Arrow features input) no
// tokenizer is loaded and the label list is optional.
func newRTTask(f rtTaskFlags, dataPath string, withConverter bool) (*rtTask, error) {
	t := &rtTask{name: f.task, data: dataPath}
	switch f.task {
	case features.TaskTACRED, features.TaskTREXRC:
		t.positions = []string{"subj_pos", "obj_pos"}
	case features.TaskOpenEntity, features.TaskFIGER:
		t.positions = []string{"entity_pos"}
	case features.TaskCosmosQA:
		t.multiChoice = true
	case features.TaskFindHead:
	default:
		return nil, cli.Usagef("--task %q: want one of tacred, openentity, figer, cosmosqa, trex-rc, find-head", f.task)
	}
	if f.vocab == "" && withConverter {
		return nil, cli.Usagef("--vocab is required (a folder with vocab.json and merges.txt, or tokenizer.json)")
	}
	if f.maxLen < 0 {
		return nil, cli.Usagef("--max-seq-length must be > 0")
	}
	mapping, err := features.ParseHeadMapping(f.headMapping)
	if err != nil {
		return nil, cli.Usagef("--head-mapping: %v", err)
	}
	var labels []string
	labelsPath := f.labels
	if labelsPath == "" && f.task == features.TaskFIGER && dataPath != "" {
		// The original reads data_dir/labels.json.
		if p := filepath.Join(filepath.Dir(dataPath), "labels.json"); rtFileExists(p) {
			labelsPath = p
		}
	}
	if labelsPath != "" {
		if labels, err = features.ReadLabels(labelsPath); err != nil {
			return nil, err
		}
	}
	if !withConverter {
		t.labels = labels
		switch {
		case t.labels != nil:
		case f.task == features.TaskTREXRC:
			t.labels = trexrc.Relations410()
		case f.task == features.TaskTACRED:
			t.labels = features.TACREDRelations
		case f.task == features.TaskOpenEntity:
			t.labels = features.OpenEntityLabels
		}
		t.maxLen, t.padID = f.maxLen, 1
		if f.task == features.TaskCosmosQA {
			t.padID = f.padID
		}
		return t, nil
	}
	if labels == nil && f.task == features.TaskTREXRC {
		// The original's hard-coded 410-relation list (root utils_glue.py).
		labels = trexrc.Relations410()
	}
	if labels == nil && f.task == features.TaskFIGER {
		return nil, cli.Usagef("--labels is required for figer (labels.json; none found beside the data file)")
	}
	tok, err := features.LoadTokenizer(f.vocab)
	if err != nil {
		return nil, fmt.Errorf("--vocab %s: %w", f.vocab, err)
	}
	if v, ok := tok.(interface{ VocabSize() int }); ok {
		t.vocab = fmt.Sprintf(" (--vocab %s: %d tokens)", f.vocab, v.VocabSize())
	}
	cfg := features.Config{
		Task: f.task, MaxSeqLength: f.maxLen, Labels: labels, NegativeSample: -1,
		ClampAtMax: f.clampAtMax, HeadMapping: mapping, PadID: f.padID, LegacyLabel: f.legacyLabel,
	}
	t.conv, err = features.NewConverter(tok, cfg)
	if err != nil {
		return nil, err
	}
	t.maxLen = t.conv.Config().MaxSeqLength
	t.labels = t.conv.Config().Labels
	switch {
	case t.labels != nil:
	case f.task == features.TaskTACRED:
		t.labels = features.TACREDRelations
	case f.task == features.TaskOpenEntity:
		t.labels = features.OpenEntityLabels
	}
	if f.task == features.TaskCosmosQA {
		t.padID = f.padID
	} else if id, ok := tok.TokenID("<pad>"); ok {
		t.padID = int64(id)
	} else {
		return nil, fmt.Errorf("--vocab %s has no <pad> token", f.vocab)
	}
	return t, nil
}

func rtFileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// rtRealLen is the number of leading attended positions (right padding).
func rtRealLen(mask []int64) int {
	n := 0
	for _, m := range mask {
		if m != 0 {
			n++
		}
	}
	return n
}

// row turns an Example into the runtime's unpadded Row.
func (t *rtTask) row(ex *features.Example) krt.Row {
	if t.multiChoice {
		r := krt.Row{Seqs: make([][]int64, len(ex.Choices))}
		for i, c := range ex.Choices {
			r.Seqs[i] = c.InputIDs[:rtRealLen(c.AttentionMask)]
		}
		return r
	}
	r := krt.Row{Seqs: [][]int64{ex.InputIDs[:rtRealLen(ex.AttentionMask)]}, Positions: map[string]int64{}}
	for _, p := range t.positions {
		switch p {
		case "subj_pos":
			r.Positions[p] = int64(ex.SubjPos)
		case "obj_pos":
			r.Positions[p] = int64(ex.ObjPos)
		case "entity_pos":
			r.Positions[p] = int64(ex.EntityPos)
		}
	}
	return r
}

// checkGraph verifies the graph takes what the task feeds it.
func (t *rtTask) checkGraph(s *krt.Session) error {
	want := append([]string{"input_ids", "attention_mask"}, t.positions...)
	for _, n := range want {
		if !s.HasInput(n) {
			return fmt.Errorf("model %s does not look like a %s graph: it has no input %q (inputs: %s)", s.Path(), t.name, n, rtIONames(s.Inputs()))
		}
	}
	if len(s.Inputs()) != len(want) {
		return fmt.Errorf("model %s does not look like a %s graph: it takes %s, a %s graph takes %v", s.Path(), t.name, rtIONames(s.Inputs()), t.name, want)
	}
	return nil
}

// readExamples converts every record of a task file, counting drops;
// strict fails on the first rejected record.
func (t *rtTask) readExamples(path string, r io.Reader, strict bool) ([]features.Example, features.Summary, int, error) {
	var sum features.Summary
	rr, err := features.NewRecordReader(r, path)
	if err != nil {
		return nil, sum, 0, err
	}
	var out []features.Example
	n := 0
	for {
		raw, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, sum, n, fmt.Errorf("%s: record %d: %w", path, rr.Index(), err)
		}
		res := t.conv.Convert(n, raw)
		t.conv.Sequence(&res)
		sum.Add(&res)
		if res.Err != nil && strict && features.IsRejection(features.DropReason(res.Err)) {
			return nil, sum, n, fmt.Errorf("%s: record %d: %v (--strict)", path, n, res.Err)
		}
		if res.Err == nil {
			out = append(out, res.Example)
		}
		n++
	}
	return out, sum, n, nil
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
	Metrics           any                 `json:"metrics"`
	Seconds           float64             `json:"seconds"`
	ExamplesPerSecond float64             `json:"examples_per_second"`
	Predictions       string              `json:"predictions,omitempty"`
}

func runEval(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "eval", "--task T --model M.onnx --data FILE --vocab DIR [flags]", `
Scores an exported task graph (krun export) on a task's original data file,
exactly as the original evaluation functions do (spec §6):
  tacred      micro P/R/F1 ignoring no_relation (index 28; P = 1 when nothing is guessed)
  openentity  predicted types {logit > 0}; exact-match count and ratio, loose micro and macro P/R/F1
  figer       predicted types {logit > 0 or = row max}; exact ratio, loose micro/macro
              (--figer-upstream-metric: the original's batch-size-dependent cumulative counting)
  cosmosqa    accuracy over the four choices
  trex-rc     fac-adapter pre-training: micro-F1 (= accuracy), macro-F1 over gold ∪ predicted labels
  find-head   lin-adapter pre-training: token accuracy (token-weighted, and the original's mean over batches)
The data file is read with the task's original feature converter (kprep features);
records it drops are counted by reason. Inputs are padded to --max-seq-length, as the
original does: adapters attend to padding, so only this gives the original's numbers
(--padding dynamic sorts by length and pads per batch: faster, slightly different logits).`, env.Stderr)
	var f rtEvalFlags
	f.sess.register(fs)
	fs.StringVar(&f.task, "task", "", "task: tacred, openentity, figer, cosmosqa, trex-rc or find-head (required)")
	fs.StringVar(&f.model, "model", "", "exported ONNX graph of the task (required)")
	fs.StringVar(&f.data, "data", "", "the task's original data file (JSON array, or JSON lines for cosmosqa), or features written by kprep features (X.arrow: then --vocab is not needed) (required)")
	fs.StringVar(&f.vocab, "vocab", "", "RoBERTa tokenizer folder: vocab.json + merges.txt, or tokenizer.json (required)")
	fs.StringVar(&f.labels, "labels", "", "label list (JSON array); trex-rc defaults to the original's 410 relations, figer to labels.json beside --data")
	fs.IntVar(&f.maxLen, "max-seq-length", 0, "max_seq_length (0 = the original script's: tacred 184, trex-rc/find-head 64, others 256)")
	fs.IntVar(&f.batchSize, "batch-size", 8, "examples per run; also the eval batch size of the batch-dependent upstream metrics and losses")
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
	arrowIn := rtIsArrowPath(f.data)
	task, err := newRTTask(f.rtTaskFlags, f.data, !arrowIn)
	if err != nil {
		return err
	}
	start := time.Now()
	var examples []features.Example
	var summary features.Summary
	var records int
	if arrowIn {
		// Features kprep features wrote: already converted and padded.
		if examples, err = rtReadArrowExamples(f.data, task.name); err != nil {
			return err
		}
		records = len(examples)
		maxLen, padID := rtArrowPadding(examples, task.padID)
		if task.maxLen == 0 {
			task.maxLen = maxLen
		}
		task.padID = padID
	} else {
		in, err := os.Open(f.data)
		if err != nil {
			return err
		}
		examples, summary, records, err = task.readExamples(f.data, in, f.strict)
		in.Close()
		if err != nil {
			return err
		}
	}
	if len(examples) == 0 {
		return fmt.Errorf("%s: no example to evaluate (%d records, dropped: %s)", f.data, records, summary.Dropped)
	}
	outs, err := task.runLogits(ctx, env, "krun eval", f.model, opts, examples, f.batchSize, padding, f.quiet)
	if err != nil {
		return err
	}
	scored, err := task.score(examples, outs, f)
	if err != nil {
		return err
	}
	if f.predictions != "" {
		if err := rtWritePredictions(f.predictions, task, examples, outs); err != nil {
			return err
		}
	}
	el := time.Since(start).Seconds()
	rep := rtEvalReport{
		Task: task.name, Model: f.model, Data: f.data, Device: opts.Device.String(), ORTVersion: krt.Version(),
		Padding: padding.String(), MaxSeqLength: task.maxLen, BatchSize: f.batchSize,
		Records: records, Examples: len(examples), Dropped: summary.Dropped, Metrics: scored,
		Seconds: el, ExamplesPerSecond: float64(len(examples)) / max(el, 1e-9), Predictions: f.predictions,
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

// Task metric reports.

type rtTACREDMetrics struct {
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	NoRelationID int     `json:"no_relation_id"`
	Loss         float64 `json:"loss"`
}

type rtTypingMetrics struct {
	metrics.TypingResult
	Upstream      bool    `json:"upstream_cumulative,omitempty"`
	EvalBatchSize int     `json:"eval_batch_size,omitempty"`
	Loss          float64 `json:"loss"`
}

type rtCosmosMetrics struct {
	Accuracy  float64 `json:"accuracy"`
	Correct   int     `json:"correct"`
	Labeled   int     `json:"labeled"`
	Unlabeled int     `json:"unlabeled"`
	Loss      float64 `json:"loss"`
}

type rtFindHeadMetrics struct {
	Accuracy         float64 `json:"accuracy"`
	AccuracyUpstream float64 `json:"accuracy_upstream_batch_mean"`
	Tokens           int     `json:"tokens"`
	EvalBatchSize    int     `json:"eval_batch_size"`
	Loss             float64 `json:"loss"`
}

// rtOut is what eval and predict keep of one example's graph output.
type rtOut struct {
	// logits is the example's logits vector (all tasks but find-head).
	logits []float32
	// heads is find-head's argmax head class at each real position.
	heads []int
	// lossSum and lossN are find-head's cross-entropy summed over the
	// positions the original's loss sees (attended, label not ignored).
	lossSum float64
	lossN   int
}

// reduce turns one example's logits tensor into an rtOut right after its
// batch ran, so that find-head's [seq, classes] logits are not kept.
func (t *rtTask) reduce(ex *features.Example, lg krt.Tensor) (rtOut, error) {
	data := lg.Float32s()
	if t.name != features.TaskFindHead {
		if len(lg.Shape) != 1 || data == nil {
			return rtOut{}, fmt.Errorf("record %d: logits have shape %v (%s), want a float vector per example", ex.Record, lg.Shape, lg.DType())
		}
		return rtOut{logits: data}, nil
	}
	if len(lg.Shape) != 2 || data == nil {
		return rtOut{}, fmt.Errorf("record %d: find-head logits have shape %v (%s), want float [seq, classes]", ex.Record, lg.Shape, lg.DType())
	}
	L, C := int(lg.Shape[0]), int(lg.Shape[1])
	n := min(rtRealLen(ex.AttentionMask), L)
	o := rtOut{heads: make([]int, n)}
	for l := 0; l < n; l++ {
		row := data[l*C : (l+1)*C]
		o.heads[l] = metrics.Argmax(row)
		if l < len(ex.Labels) && ex.AttentionMask[l] != 0 && ex.Labels[l] != features.IgnoreLabel {
			if ex.Labels[l] < 0 || ex.Labels[l] >= int64(C) {
				return rtOut{}, fmt.Errorf("record %d: head label %d at position %d is outside the graph's %d head classes (--max-seq-length must equal the lin-adapter head's max_seq_length)", ex.Record, ex.Labels[l], l, C)
			}
			o.lossSum += metrics.CrossEntropy(row, int(ex.Labels[l]))
			o.lossN++
		}
	}
	return o, nil
}

// runLogits opens the graph at model (output logits only), checks its
// interface, runs every example through it in batches with a progress
// display labelled command, and reduces each row's logits; krun eval and
// krun predict share it.
func (t *rtTask) runLogits(ctx context.Context, env cli.Env, command, model string, opts krt.Options,
	examples []features.Example, batchSize int, padding krt.Padding, quiet bool) ([]rtOut, error) {
	opts.Outputs = []string{"logits"}
	sess, err := krt.Open(model, opts)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if err := t.checkGraph(sess); err != nil {
		return nil, err
	}
	rows := make([]krt.Row, len(examples))
	for i := range examples {
		rows[i] = t.row(&examples[i])
	}
	if err := sess.CheckRows(rows, func(i int) string {
		return strings.TrimSpace(fmt.Sprintf("%s record %d%s", t.data, examples[i].Record, t.vocab))
	}); err != nil {
		return nil, err
	}
	prog := newRTProgress(env.Stderr, command+" "+t.name, len(rows), quiet)
	outs := make([]rtOut, len(rows))
	err = sess.EachRow(ctx, rows, krt.BatchOptions{
		BatchSize: batchSize, Padding: padding, MaxLen: t.maxLen, PadID: t.padID,
		MultiChoice: t.multiChoice, Progress: prog.update,
	}, func(i int, r krt.Result) (err error) {
		outs[i], err = t.reduce(&examples[i], r["logits"])
		return err
	})
	prog.finish()
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// rtRows2D collects the logits vectors of vector tasks.
func rtRows2D(outs []rtOut) [][]float32 {
	lg := make([][]float32, len(outs))
	for i := range outs {
		lg[i] = outs[i].logits
	}
	return lg
}

// rtBatchMeans groups per-example losses (sum, count) into consecutive
// batches of size bs in the original order, as the original evaluation
// loops do, and returns each batch's mean.
func rtBatchMeans(sums []float64, counts []int, bs int) []float64 {
	var out []float64
	for from := 0; from < len(sums); from += bs {
		var s float64
		n := 0
		for i := from; i < min(from+bs, len(sums)); i++ {
			s += sums[i]
			n += counts[i]
		}
		if n > 0 {
			out = append(out, s/float64(n))
		}
	}
	return out
}

func rtOnes(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// score computes the task's metrics from per-example outputs.
func (t *rtTask) score(ex []features.Example, outs []rtOut, f rtEvalFlags) (any, error) {
	bs := f.batchSize
	switch t.name {
	case features.TaskTACRED, features.TaskTREXRC:
		lg := rtRows2D(outs)
		if t.labels != nil && len(lg[0]) != len(t.labels) {
			return nil, fmt.Errorf("the graph gives %d logits per example, the %s label list has %d", len(lg[0]), t.name, len(t.labels))
		}
		gold := make([]int, len(ex))
		losses := make([]float64, len(ex))
		for i := range ex {
			gold[i] = ex[i].Label
			losses[i] = metrics.CrossEntropy(lg[i], gold[i])
		}
		pred := metrics.ArgmaxRows(lg)
		batch := rtBatchMeans(losses, rtOnes(len(ex)), bs)
		if t.name == features.TaskTREXRC {
			return metrics.FacPretrain(gold, pred, batch, f.facLossSum), nil
		}
		nr := metrics.TACREDNoRelation
		for i, l := range t.labels {
			if l == features.NoRelation {
				nr = i
			}
		}
		p := metrics.TACREDMicroF1(gold, pred, nr)
		return rtTACREDMetrics{Precision: p.Precision, Recall: p.Recall, F1: p.F1, NoRelationID: nr, Loss: metrics.CombineLosses(batch, false)}, nil
	case features.TaskOpenEntity, features.TaskFIGER:
		lg := rtRows2D(outs)
		if t.labels != nil && len(lg[0]) != len(t.labels) {
			return nil, fmt.Errorf("the graph gives %d logits per example, the %s label list has %d", len(lg[0]), t.name, len(t.labels))
		}
		labels := make([][]float64, len(ex))
		losses := make([]float64, len(ex))
		for i := range ex {
			labels[i] = make([]float64, len(ex[i].Labels))
			for j, v := range ex[i].Labels {
				labels[i][j] = float64(v)
			}
			losses[i] = metrics.MeanBCEWithLogits(lg[i:i+1], labels[i:i+1])
		}
		m := rtTypingMetrics{Loss: metrics.CombineLosses(rtBatchMeans(losses, rtOnes(len(ex)), bs), false)}
		switch {
		case t.name == features.TaskOpenEntity:
			m.TypingResult = metrics.OpenEntityTyping(lg, labels)
		case f.figerUpstream:
			m.TypingResult = metrics.FIGERTypingUpstream(lg, labels, bs)
			m.Upstream, m.EvalBatchSize = true, bs
		default:
			m.TypingResult = metrics.FIGERTyping(lg, labels)
		}
		return m, nil
	case features.TaskCosmosQA:
		lg := rtRows2D(outs)
		var m rtCosmosMetrics
		var gold, pred []int
		var sums []float64
		for i := range ex {
			if ex[i].Label < 0 {
				m.Unlabeled++
				continue
			}
			gold = append(gold, ex[i].Label)
			pred = append(pred, metrics.Argmax(lg[i]))
			sums = append(sums, metrics.CrossEntropy(lg[i], ex[i].Label))
		}
		m.Labeled = len(gold)
		m.Correct, m.Accuracy = metrics.Accuracy(gold, pred)
		m.Loss = metrics.CombineLosses(rtBatchMeans(sums, rtOnes(len(sums)), bs), false)
		return m, nil
	case features.TaskFindHead:
		// Positions past the real tokens have mask 0: only the first n count.
		var pred, gold, mask [][]int
		sums := make([]float64, len(ex))
		counts := make([]int, len(ex))
		for i := range ex {
			o := &outs[i]
			n := len(o.heads)
			g := make([]int, n)
			m := make([]int, n)
			for l := 0; l < n; l++ {
				if l < len(ex[i].Labels) {
					g[l] = int(ex[i].Labels[l])
				}
				if ex[i].AttentionMask[l] != 0 && g[l] != features.IgnoreLabel {
					m[l] = 1
				}
			}
			sums[i], counts[i] = o.lossSum, o.lossN
			pred, gold, mask = append(pred, o.heads), append(gold, g), append(mask, m)
		}
		tokens := 0
		for _, c := range counts {
			tokens += c
		}
		return rtFindHeadMetrics{
			Accuracy:         metrics.LinAccuracy(pred, gold, mask),
			AccuracyUpstream: metrics.LinAccuracyUpstream(pred, gold, mask, bs),
			Tokens:           tokens, EvalBatchSize: bs,
			Loss: metrics.CombineLosses(rtBatchMeans(sums, counts, bs), false),
		}, nil
	}
	return nil, fmt.Errorf("unknown task %q", t.name)
}

// rtPrediction is one line of --predictions / krun predict's output.
type rtPrediction struct {
	Record int    `json:"record"`
	ID     string `json:"id"`
	Gold   any    `json:"gold,omitempty"`
	Pred   any    `json:"pred"`
	PredID any    `json:"pred_id,omitempty"`
	Logits any    `json:"logits,omitempty"`
	Error  string `json:"error,omitempty"`
}

// predict builds the prediction line of one example.
func (t *rtTask) predict(ex *features.Example, o rtOut, withGold bool) rtPrediction {
	p := rtPrediction{Record: ex.Record, ID: ex.ID}
	data := o.logits
	switch t.name {
	case features.TaskTACRED, features.TaskTREXRC:
		k := metrics.Argmax(data)
		p.PredID, p.Pred, p.Logits = k, rtLabelName(t.labels, k), data
		if withGold {
			p.Gold = rtLabelName(t.labels, ex.Label)
		}
	case features.TaskOpenEntity, features.TaskFIGER:
		var sets [][]int
		if t.name == features.TaskOpenEntity {
			sets = metrics.OpenEntityPredict([][]float32{data})
		} else {
			sets = metrics.FIGERPredict([][]float32{data})
		}
		p.PredID, p.Pred, p.Logits = sets[0], rtLabelNames(t.labels, sets[0]), data
		if withGold {
			p.Gold = rtLabelNames(t.labels, metrics.GoldSets([][]int64{ex.Labels})[0])
		}
	case features.TaskCosmosQA:
		p.Pred, p.Logits = metrics.Argmax(data), data
		if withGold && ex.Label >= 0 {
			p.Gold = ex.Label
		}
	case features.TaskFindHead:
		// One predicted head position per real token (logits omitted: L×C).
		p.Pred = o.heads
		if withGold {
			p.Gold = ex.Labels[:min(len(o.heads), len(ex.Labels))]
		}
	}
	return p
}

func rtLabelName(labels []string, k int) string {
	if k >= 0 && k < len(labels) {
		return labels[k]
	}
	return fmt.Sprintf("#%d", k)
}

func rtLabelNames(labels []string, ks []int) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = rtLabelName(labels, k)
	}
	return out
}

// rtWritePredictions writes one JSON line per example to path, atomically.
func rtWritePredictions(path string, t *rtTask, ex []features.Example, outs []rtOut) error {
	f, err := pipeline.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	for i := range ex {
		if err := enc.Encode(t.predict(&ex[i], outs[i], true)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

func rtPrintEvalReport(w io.Writer, r rtEvalReport) {
	fmt.Fprintf(w, "task %s: %d examples from %d records of %s", r.Task, r.Examples, r.Records, r.Data)
	if r.Dropped.Total() > 0 {
		fmt.Fprintf(w, " (dropped %d: %s)", r.Dropped.Total(), r.Dropped)
	}
	fmt.Fprintf(w, "\nmodel %s on %s, padding %s to %d, batch %d: %.2fs (%.1f examples/s)\n",
		r.Model, r.Device, r.Padding, r.MaxSeqLength, r.BatchSize, r.Seconds, r.ExamplesPerSecond)
	switch m := r.Metrics.(type) {
	case rtTACREDMetrics:
		fmt.Fprintf(w, "precision %.4f  recall %.4f  f1 %.4f  (no_relation = %d)  loss %.4f\n", m.Precision, m.Recall, m.F1, m.NoRelationID, m.Loss)
	case metrics.FacResult:
		fmt.Fprintf(w, "micro-F1 %.4f  macro-F1 %.4f  loss %.4f\n", m.MicroF1, m.MacroF1, m.Loss)
	case rtTypingMetrics:
		fmt.Fprintf(w, "exact %d/%d = %.4f\nloose micro P %.4f R %.4f F1 %.4f\nloose macro P %.4f R %.4f F1 %.4f\nloss %.4f\n",
			m.ExactCount, m.Examples, m.ExactRatio, m.Micro.Precision, m.Micro.Recall, m.Micro.F1,
			m.Macro.Precision, m.Macro.Recall, m.Macro.F1, m.Loss)
		if m.Upstream {
			fmt.Fprintf(w, "(loose micro/macro use the original's cumulative counting at eval batch size %d)\n", m.EvalBatchSize)
		}
		if m.NoGold {
			fmt.Fprintln(w, "warning: no example has a gold label; loose micro recall is reported as 0 (the original divides by zero)")
		}
	case rtCosmosMetrics:
		fmt.Fprintf(w, "accuracy %.4f (%d/%d)  loss %.4f", m.Accuracy, m.Correct, m.Labeled, m.Loss)
		if m.Unlabeled > 0 {
			fmt.Fprintf(w, "  (%d unlabeled examples not scored)", m.Unlabeled)
		}
		fmt.Fprintln(w)
	case rtFindHeadMetrics:
		fmt.Fprintf(w, "token accuracy %.4f over %d tokens (original per-batch mean at batch %d: %.4f)  loss %.4f\n",
			m.Accuracy, m.Tokens, m.EvalBatchSize, m.AccuracyUpstream, m.Loss)
	}
	if r.Predictions != "" {
		fmt.Fprintf(w, "predictions: %s\n", r.Predictions)
	}
}

// rtIsArrowPath reports whether --data names Arrow features (kprep
// features --out X.arrow, possibly sharded) rather than an original file.
func rtIsArrowPath(p string) bool { return strings.EqualFold(filepath.Ext(p), ".arrow") }

// rtReadArrowExamples reads the features kprep features wrote for task
// (features.Schema) back into Examples. Columns are looked up by name.
func rtReadArrowExamples(path, task string) ([]features.Example, error) {
	files, err := pipeline.ArrowFiles(path)
	if err != nil {
		return nil, err
	}
	var out []features.Example
	_, err = pipeline.ReadArrow(files, func(rec arrow.RecordBatch) error {
		sc := rec.Schema()
		col := func(name string) (arrow.Array, error) {
			idx := sc.FieldIndices(name)
			if len(idx) != 1 {
				return nil, fmt.Errorf("%s: no %q column: not %s features (kprep features --task %s)", path, name, task, task)
			}
			return rec.Column(idx[0]), nil
		}
		need := []string{features.ColID, features.ColRecord, features.ColInputIDs, features.ColAttentionMask}
		switch task {
		case features.TaskTACRED, features.TaskTREXRC:
			need = append(need, features.ColSubjPos, features.ColObjPos, features.ColLabel)
		case features.TaskOpenEntity, features.TaskFIGER:
			need = append(need, features.ColEntityPos, features.ColLabels)
		case features.TaskFindHead:
			need = append(need, features.ColLabels)
		case features.TaskCosmosQA:
			need = append(need, features.ColLabel)
		}
		cols := map[string]arrow.Array{}
		for _, n := range need {
			c, err := col(n)
			if err != nil {
				return err
			}
			cols[n] = c
		}
		ints := func(name string, i int) (int64, bool, error) {
			a, ok := cols[name].(*array.Int64)
			if !ok {
				return 0, false, fmt.Errorf("%s: column %q is %s, want int64", path, name, cols[name].DataType())
			}
			if a.IsNull(i) {
				return 0, false, nil
			}
			return a.Value(i), true, nil
		}
		list := func(a arrow.Array, i int) ([]int64, error) {
			l, ok := a.(*array.List)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<int64>", path, a.DataType())
			}
			v, ok := l.ListValues().(*array.Int64)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<int64>", path, a.DataType())
			}
			from, to := l.ValueOffsets(i)
			return append([]int64(nil), v.Int64Values()[from:to]...), nil
		}
		nested := func(a arrow.Array, i int) ([][]int64, error) {
			l, ok := a.(*array.List)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<list<int64>>", path, a.DataType())
			}
			from, to := l.ValueOffsets(i)
			var out [][]int64
			for j := from; j < to; j++ {
				s, err := list(l.ListValues(), int(j))
				if err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			return out, nil
		}
		ids, ok := cols[features.ColID].(*array.String)
		if !ok {
			return fmt.Errorf("%s: column id is %s, want string", path, cols[features.ColID].DataType())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			ex := features.Example{ID: ids.Value(i), SubjPos: -1, ObjPos: -1, EntityPos: -1, Label: -1}
			r, _, err := ints(features.ColRecord, i)
			if err != nil {
				return err
			}
			ex.Record = int(r)
			if task == features.TaskCosmosQA {
				in, err := nested(cols[features.ColInputIDs], i)
				if err != nil {
					return err
				}
				mask, err := nested(cols[features.ColAttentionMask], i)
				if err != nil {
					return err
				}
				if len(in) != len(mask) {
					return fmt.Errorf("%s: row %d: %d choices of ids, %d of masks", path, i, len(in), len(mask))
				}
				for k := range in {
					ex.Choices = append(ex.Choices, features.Choice{InputIDs: in[k], AttentionMask: mask[k]})
				}
			} else {
				if ex.InputIDs, err = list(cols[features.ColInputIDs], i); err != nil {
					return err
				}
				if ex.AttentionMask, err = list(cols[features.ColAttentionMask], i); err != nil {
					return err
				}
			}
			for _, p := range []struct {
				col string
				dst *int
			}{{features.ColSubjPos, &ex.SubjPos}, {features.ColObjPos, &ex.ObjPos}, {features.ColEntityPos, &ex.EntityPos}, {features.ColLabel, &ex.Label}} {
				if _, ok := cols[p.col]; !ok {
					continue
				}
				v, valid, err := ints(p.col, i)
				if err != nil {
					return err
				}
				if valid {
					*p.dst = int(v)
				}
			}
			if _, ok := cols[features.ColLabels]; ok {
				if ex.Labels, err = list(cols[features.ColLabels], i); err != nil {
					return err
				}
			}
			out = append(out, ex)
		}
		return nil
	})
	return out, err
}

// rtArrowPadding infers max_seq_length and the pad id from stored features
// (padded by kprep features): the longest row, and the id at a masked
// position (def when no row is padded).
func rtArrowPadding(ex []features.Example, def int64) (maxLen int, padID int64) {
	padID = def
	found := false
	visit := func(ids, mask []int64) {
		maxLen = max(maxLen, len(ids))
		for j, m := range mask {
			if m == 0 && j < len(ids) && !found {
				padID, found = ids[j], true
			}
		}
	}
	for i := range ex {
		if ex[i].Choices != nil {
			for _, c := range ex[i].Choices {
				visit(c.InputIDs, c.AttentionMask)
			}
			continue
		}
		visit(ex[i].InputIDs, ex[i].AttentionMask)
	}
	return maxLen, padID
}
