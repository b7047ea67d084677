// Package evaluate runs a task's exported graph (krun export) over a data
// set and scores it exactly as the original evaluation functions do: it is
// what krun eval and krun predict run, and what a trainer calls to score a
// dev set during training. What differs between tasks (graph inputs, label
// lists, how logits are reduced, the metrics, prediction lines) comes from
// the task's definition in package tasks (Definition.Eval); this package
// is the task-independent part: reading data (original files through the
// builders/features converters, or Arrow features), batching rows through
// a runtime.Session, checking the graph and the token ids, scoring.
//
// Scoring a dev set, exactly as `krun eval` scores it:
//
//	sess, err := runtime.Open("tacred.onnx", runtime.Options{Outputs: []string{"logits"}})
//	m, err := evaluate.Score(ctx, sess, "tacred", "dev.json", "roberta-large/", evaluate.Options{BatchSize: 8})
//	fmt.Println(m.Name, m.Value)     // micro_f1 0.6711 (the task's headline metric)
//	m.Values["loss"]                 // every metric by name
//	m.Result.(tasks.TACREDMetrics)   // the typed metrics (krun eval --json's "metrics")
//
// dataPath may also name Arrow features written by kprep features
// (X.arrow, sharded or not: vocabDir is then not needed), and
// ScoreExamples scores examples already built in memory. The zero Options
// are krun eval's defaults except BatchSize (0 means 8, as krun eval's
// --batch-size): fixed padding to the task's max_seq_length, the
// original's label lists and pad ids. Batch size matters beyond speed:
// losses are averaged per eval batch and the upstream FIGER and find-head
// metrics depend on it, as in the original.
//
// For more control (krun eval's report, predictions), set a task up with
// NewTask, read data with Task.Load or Task.ReadRecords, run it with
// Task.Run and score it with Task.Score; krun predict uses
// Task.ReadForPrediction and Task.Predictions.
package evaluate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kadapter/kadapter/builders/features"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

// DefaultBatchSize is the batch size when Options.BatchSize is 0 (krun
// eval's --batch-size default).
const DefaultBatchSize = 8

// Options are how a task's data are read, run and scored. The zero value
// gives krun eval's defaults (see DefaultBatchSize).
type Options struct {
	// Labels is a label list file (JSON array); "" = the task's built-in
	// list (tasks.Eval.Labels), or labels.json beside the data file for
	// FIGER.
	Labels string
	// MaxSeqLength is the features' max_seq_length and the padded length;
	// 0 = the original script's for raw records, the longest stored row for
	// features.
	MaxSeqLength int
	// PadID is the pad id of tasks padded by an option (CosmosQA: the
	// original pads with 0 = <s>); other tasks pad with the vocabulary's
	// <pad> (1 for features).
	PadID int64
	// HeadMapping is find-head's label encoding: "original" ("" too) or
	// "first-subtoken".
	HeadMapping string
	// LegacyLabel (CosmosQA): an integer 0 label means "no label".
	LegacyLabel bool
	// ClampAtMax (TACRED): clamp a marker index equal to max_seq_length
	// instead of rejecting the record.
	ClampAtMax bool
	// BatchSize is the examples per run, and the eval batch of the
	// batch-mean losses and of the batch-dependent upstream metrics (0 =
	// DefaultBatchSize).
	BatchSize int
	// Padding is fixed (the original's numbers) or dynamic.
	Padding krt.Padding
	// Strict fails on the first rejected record instead of skipping and
	// counting it.
	Strict bool
	// Progress, when set, is called once the examples have passed the
	// checks, with their number, and is then told how the run advances.
	Progress func(total int) Progress
	// ScoreOptions are the task-specific scoring choices.
	tasks.ScoreOptions
}

// Progress is told how a run advances.
type Progress interface {
	// Update is called after every batch with the examples done and their
	// total.
	Update(done, total int)
	// Finish is called once when the run ends, also after an error.
	Finish()
}

// OptionError is a bad option (a bad command line for krun): an unknown
// task, a missing vocabulary or label list, a bad value. Its message names
// krun's flag for the option.
type OptionError struct{ Err error }

// Error returns the message.
func (e *OptionError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *OptionError) Unwrap() error { return e.Err }

func optionErrorf(format string, args ...any) error {
	return &OptionError{Err: fmt.Errorf(format, args...)}
}

// Metrics are the scores of one data set.
type Metrics struct {
	// Task is the task's name.
	Task string `json:"task"`
	// Name is the task's headline metric (tasks.Definition.Metric:
	// micro_f1 or accuracy) and Value its value.
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Values are every metric by name (tasks.Result.Values), Name
	// included.
	Values map[string]float64 `json:"values"`
	// Result is the task's typed metrics, as krun eval --json prints them
	// (tasks.TACREDMetrics, tasks.TypingMetrics, ...).
	Result tasks.Result `json:"metrics"`
	// Examples is the number of examples scored; Dropped the records the
	// converter dropped, by reason (raw records only).
	Examples int                 `json:"examples"`
	Dropped  features.DropCounts `json:"dropped,omitempty"`
}

// Task is a task set up for evaluation: its definition, feature converter,
// label list and padding.
type Task struct {
	// Def is the task's definition.
	Def *tasks.Definition
	// Name is the task's name.
	Name string
	// Labels is the label list (nil for tasks without label names, and
	// for FIGER features given without a label list).
	Labels []string
	// MaxLen is the padded length (0 for features until Load or
	// UseFeatures) and PadID the padding id.
	MaxLen int
	PadID  int64

	opts  Options
	conv  *features.Converter
	data  string // the data file, named in id-range errors
	vocab string // " (--vocab V: N tokens)", named in id-range errors
}

// TaskNames lists the tasks that can be evaluated, in tasks.Eval.Order.
func TaskNames() []string {
	var out []string
	for _, d := range tasks.Evaluable() {
		out = append(out, string(d.Task))
	}
	return out
}

// lookup returns an evaluable task's definition by its exact name.
func lookup(name string) (*tasks.Definition, error) {
	if d := tasks.Lookup(name); d != nil && d.Eval.Score != nil {
		return d, nil
	}
	return nil, optionErrorf("--task %q: want one of %s", name, strings.Join(TaskNames(), ", "))
}

// NewTask sets up a task. dataPath is the data file ("" when records come
// from elsewhere): FIGER's default label list is labels.json beside it, and
// id-range errors name it. withConverter loads the tokenizer at vocabDir and
// the task's feature converter, needed to read raw records; without it
// (features: Arrow or in memory) no tokenizer is loaded and the label list
// is optional. Option problems are *OptionError.
func NewTask(name, dataPath, vocabDir string, withConverter bool, o Options) (*Task, error) {
	def, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	t := &Task{Def: def, Name: name, opts: o, data: dataPath}
	ev := &def.Eval
	if vocabDir == "" && withConverter {
		return nil, optionErrorf("--vocab is required (a folder with vocab.json and merges.txt, or tokenizer.json)")
	}
	if o.MaxSeqLength < 0 {
		return nil, optionErrorf("--max-seq-length must be > 0")
	}
	if o.BatchSize < 0 {
		return nil, optionErrorf("--batch-size must be > 0")
	}
	if o.HeadMapping == "" {
		o.HeadMapping = "original"
	}
	mapping, err := features.ParseHeadMapping(o.HeadMapping)
	if err != nil {
		return nil, optionErrorf("--head-mapping: %v", err)
	}
	var labels []string
	labelsPath := o.Labels
	if labelsPath == "" && ev.LabelsFile && dataPath != "" {
		// The original reads data_dir/labels.json.
		if p := filepath.Join(filepath.Dir(dataPath), "labels.json"); fileExists(p) {
			labelsPath = p
		}
	}
	if labelsPath != "" {
		if labels, err = features.ReadLabels(labelsPath); err != nil {
			return nil, err
		}
	}
	builtIn := func() []string {
		if ev.Labels != nil {
			return ev.Labels()
		}
		return nil
	}
	if !withConverter {
		t.Labels = labels
		if t.Labels == nil {
			t.Labels = builtIn()
		}
		t.MaxLen, t.PadID = o.MaxSeqLength, 1
		if ev.PadOption {
			t.PadID = o.PadID
		}
		return t, nil
	}
	if labels == nil && ev.LabelsFile {
		return nil, optionErrorf("--labels is required for %s (labels.json; none found beside the data file)", name)
	}
	tok, err := features.LoadTokenizer(vocabDir)
	if err != nil {
		return nil, fmt.Errorf("--vocab %s: %w", vocabDir, err)
	}
	if v, ok := tok.(interface{ VocabSize() int }); ok {
		t.vocab = fmt.Sprintf(" (--vocab %s: %d tokens)", vocabDir, v.VocabSize())
	}
	cfg := features.Config{
		Task: name, MaxSeqLength: o.MaxSeqLength, Labels: labels, NegativeSample: -1,
		ClampAtMax: o.ClampAtMax, HeadMapping: mapping, PadID: o.PadID, LegacyLabel: o.LegacyLabel,
	}
	if t.conv, err = features.NewConverter(tok, cfg); err != nil {
		return nil, err
	}
	t.MaxLen = t.conv.Config().MaxSeqLength
	if t.Labels = t.conv.Config().Labels; t.Labels == nil {
		t.Labels = builtIn()
	}
	if ev.PadOption {
		t.PadID = o.PadID
	} else if id, ok := tok.TokenID("<pad>"); ok {
		t.PadID = int64(id)
	} else {
		return nil, fmt.Errorf("--vocab %s has no <pad> token", vocabDir)
	}
	return t, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Score scores the data at dataPath with sess exactly as krun eval does:
// the task's original data file (JSON array, or JSON lines for CosmosQA)
// converted with the tokenizer at vocabDir, or Arrow features written by
// kprep features (dataPath ends in .arrow; vocabDir is not needed and may
// be ""). sess must take the task's inputs and fetch "logits" (open it
// with runtime.Options{Outputs: []string{"logits"}}); it is not closed.
func Score(ctx context.Context, sess *krt.Session, task, dataPath, vocabDir string, o Options) (Metrics, error) {
	arrowIn := IsArrow(dataPath)
	t, err := NewTask(task, dataPath, vocabDir, !arrowIn, o)
	if err != nil {
		return Metrics{}, err
	}
	d, err := t.Load(dataPath)
	if err != nil {
		return Metrics{}, err
	}
	if err := d.NoExamples(dataPath); err != nil {
		return Metrics{}, err
	}
	outs, err := t.Run(ctx, sess, d.Examples)
	if err != nil {
		return Metrics{}, err
	}
	m, err := t.Score(d.Examples, outs)
	m.Dropped = d.Summary.Dropped
	return m, err
}

// ScoreExamples scores examples already built (by a features.Converter,
// read from Arrow with ReadArrow, or assembled in memory: padded rows as
// kprep features writes them, in the data set's order) exactly as Score
// does. Without Options.MaxSeqLength the padded length is the longest
// row's; the pad id is read off a padded row.
func ScoreExamples(ctx context.Context, sess *krt.Session, task string, examples []features.Example, o Options) (Metrics, error) {
	t, err := NewTask(task, "", "", false, o)
	if err != nil {
		return Metrics{}, err
	}
	if len(examples) == 0 {
		return Metrics{}, errors.New("no example to evaluate")
	}
	t.UseFeatures(examples)
	outs, err := t.Run(ctx, sess, examples)
	if err != nil {
		return Metrics{}, err
	}
	return t.Score(examples, outs)
}

// Score computes the task's metrics from the examples' outputs (Run).
func (t *Task) Score(examples []features.Example, outs []tasks.Output) (Metrics, error) {
	if len(examples) != len(outs) {
		return Metrics{}, fmt.Errorf("%d examples, %d outputs", len(examples), len(outs))
	}
	if len(examples) == 0 {
		return Metrics{}, errors.New("no example to score")
	}
	r, err := t.Def.Eval.Score(tasks.ScoreInput{
		Examples: examples, Outputs: outs, Labels: t.Labels, BatchSize: t.opts.BatchSize, ScoreOptions: t.opts.ScoreOptions,
	})
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{Task: t.Name, Name: t.Def.Metric, Values: r.Values(), Result: r, Examples: len(examples)}
	v, ok := m.Values[m.Name]
	if !ok {
		return m, fmt.Errorf("task %s: its metrics have no %q (its headline metric)", t.Name, m.Name)
	}
	m.Value = v
	return m, nil
}
