package tasks

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// Eval is how a task's graph is fed, scored and its predictions written
// (package evaluate runs it; krun eval and krun predict report it). The
// feature converter is builders/features' converter of the same task name.
type Eval struct {
	// Order places the task in listings (krun eval's task list): a new
	// task takes the next number.
	Order int
	// About says in one line what the metrics are (krun eval --help);
	// continuation lines are indented to the text.
	About string
	// Positions are the graph's marker-position inputs (int64 [B]) after
	// input_ids and attention_mask, in the graph's order.
	Positions []Position
	// MultiChoice: an example has several sequences (input_ids [B,C,L]).
	MultiChoice bool
	// PadOption: rows are padded with the --pad-id option (CosmosQA's
	// original pads with 0 = <s>) instead of the vocabulary's <pad>.
	PadOption bool
	// Labels returns the built-in label list (nil: the task has none).
	Labels func() []string
	// LabelsFile: labels.json beside the data file is the default label
	// list and a label list is required (FIGER).
	LabelsFile bool
	// Columns are the Arrow feature columns (features.Col*) the task
	// reads beyond id, record, input_ids and attention_mask.
	Columns []string
	// FillLabel gives a raw record (a decoded JSON object) that lacks its
	// label field a placeholder label, so that the converter accepts it
	// for prediction; labels is the task's label list. nil: a record
	// without a label is converted as it is.
	FillLabel func(obj map[string]json.RawMessage, labels []string) error
	// LabelField is the raw record's label field: a record that has it
	// (not null) is predicted with its gold label.
	LabelField string
	// ReduceTokens, when set, makes the task per-token: the graph gives
	// logits [L, C] per example (data, row-major), reduced right after its
	// batch ran so the L×C logits are not kept. nil: the graph gives one
	// logits vector per example (Output.Logits).
	ReduceTokens func(ex *features.Example, data []float32, L, C int) (Output, error)
	// Score computes the metrics of a data set.
	Score func(in ScoreInput) (Result, error)
	// Predict fills the task's fields of one prediction line (Pred,
	// PredID, Logits, and Gold when withGold).
	Predict func(p *Prediction, ex *features.Example, o Output, labels []string, withGold bool)
}

// Position is a marker-position graph input and the Example field that
// feeds it.
type Position struct {
	// Input is the graph input's name.
	Input string
	// Of returns the position for an example.
	Of func(ex *features.Example) int
}

// Output is what is kept of one example's graph output.
type Output struct {
	// Logits is the example's logits vector (tasks without ReduceTokens).
	Logits []float32
	// Heads is a per-token task's argmax class at each real position.
	Heads []int
	// LossSum and LossN are a per-token task's loss summed over the
	// positions the original's loss sees, and their number.
	LossSum float64
	LossN   int
}

// ScoreOptions are the scoring choices some tasks have.
type ScoreOptions struct {
	// FIGERUpstream reproduces the original FIGER's cumulative micro/macro
	// counting (depends on BatchSize).
	FIGERUpstream bool
	// FacLossSum reports trex-rc's loss as the original's sum of batch
	// losses instead of their mean.
	FacLossSum bool
}

// ScoreInput is what a task's Score function gets.
type ScoreInput struct {
	// Examples are the scored examples and Outputs their graph outputs,
	// in the same order (the data set's order).
	Examples []features.Example
	Outputs  []Output
	// Labels is the task's label list (nil for tasks without names).
	Labels []string
	// BatchSize is the eval batch size: losses are averaged per batch of
	// consecutive examples and then over batches, as the original
	// eval_loss; the upstream batch-dependent metrics use it too.
	BatchSize int
	ScoreOptions
}

// Result is one task's typed metrics: encoded as JSON it is the "metrics"
// object of krun eval --json.
type Result interface {
	// Values are the metrics by name, the task's headline metric
	// (Definition.Metric) included.
	Values() map[string]float64
	// WriteText prints the metrics as krun eval does.
	WriteText(w io.Writer)
}

// Prediction is one line of krun eval --predictions and krun predict.
type Prediction struct {
	Record int    `json:"record"`
	ID     string `json:"id"`
	Gold   any    `json:"gold,omitempty"`
	Pred   any    `json:"pred"`
	PredID any    `json:"pred_id,omitempty"`
	Logits any    `json:"logits,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Lookup returns the definition of a task by its exact name (no aliases:
// the names krun eval and kprep features take), or nil.
func Lookup(name string) *Definition {
	for t, d := range registry {
		if string(t) == name {
			return d
		}
	}
	return nil
}

// Evaluable lists the tasks that have an evaluation (Eval.Score), in
// Eval.Order.
func Evaluable() []*Definition {
	var out []*Definition
	for _, d := range registry {
		if d.Eval.Score != nil {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Eval.Order != out[j].Eval.Order {
			return out[i].Eval.Order < out[j].Eval.Order
		}
		return out[i].Task < out[j].Task
	})
	return out
}

// Helpers shared by the task files.

// logitRows collects the logits vectors of vector tasks.
func logitRows(outs []Output) [][]float32 {
	lg := make([][]float32, len(outs))
	for i := range outs {
		lg[i] = outs[i].Logits
	}
	return lg
}

// checkWidth checks that the graph gives one logit per label.
func checkWidth(task string, lg [][]float32, labels []string) error {
	if labels != nil && len(lg) > 0 && len(lg[0]) != len(labels) {
		return fmt.Errorf("the graph gives %d logits per example, the %s label list has %d", len(lg[0]), task, len(labels))
	}
	return nil
}

// batchMeans groups per-example losses (sum, count) into consecutive
// batches of size bs in the original order, as the original evaluation
// loops do, and returns each batch's mean.
func batchMeans(sums []float64, counts []int, bs int) []float64 {
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

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// labelName is labels[k], or #k outside the list.
func labelName(labels []string, k int) string {
	if k >= 0 && k < len(labels) {
		return labels[k]
	}
	return fmt.Sprintf("#%d", k)
}

func labelNames(labels []string, ks []int) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = labelName(labels, k)
	}
	return out
}

// Marker positions, by the Example field that holds them.
var (
	subjPos   = Position{Input: "subj_pos", Of: func(ex *features.Example) int { return ex.SubjPos }}
	objPos    = Position{Input: "obj_pos", Of: func(ex *features.Example) int { return ex.ObjPos }}
	entityPos = Position{Input: "entity_pos", Of: func(ex *features.Example) int { return ex.EntityPos }}
)

// Relation classification (tacred, trex-rc): one label per example,
// pred = argmax.

// relationScores checks the logits against the labels and returns gold,
// predictions and the per-batch mean cross-entropy.
func relationScores(task string, in ScoreInput) (gold, pred []int, batch []float64, err error) {
	lg := logitRows(in.Outputs)
	if err := checkWidth(task, lg, in.Labels); err != nil {
		return nil, nil, nil, err
	}
	gold = make([]int, len(in.Examples))
	losses := make([]float64, len(in.Examples))
	for i := range in.Examples {
		gold[i] = in.Examples[i].Label
		losses[i] = metrics.CrossEntropy(lg[i], gold[i])
	}
	return gold, metrics.ArgmaxRows(lg), batchMeans(losses, ones(len(in.Examples)), in.BatchSize), nil
}

// predictRelation: pred is the argmax label's name, pred_id its index.
func predictRelation(p *Prediction, ex *features.Example, o Output, labels []string, withGold bool) {
	k := metrics.Argmax(o.Logits)
	p.PredID, p.Pred, p.Logits = k, labelName(labels, k), o.Logits
	if withGold {
		p.Gold = labelName(labels, ex.Label)
	}
}

// Entity typing (openentity, figer): a set of labels per example.

// TypingMetrics are OpenEntity's and FIGER's metrics.
type TypingMetrics struct {
	metrics.TypingResult
	// Upstream is set when the loose metrics use FIGER's original
	// cumulative counting at EvalBatchSize.
	Upstream      bool    `json:"upstream_cumulative,omitempty"`
	EvalBatchSize int     `json:"eval_batch_size,omitempty"`
	Loss          float64 `json:"loss"`
}

// Values: exact_count, exact_ratio and accuracy (= exact_ratio, FIGER's
// ERINE_accuracy), loose_micro_{precision,recall,f1} with micro_f1 (=
// loose_micro_f1), loose_macro_{precision,recall,f1} with macro_f1, loss.
func (m TypingMetrics) Values() map[string]float64 {
	return map[string]float64{
		"exact_count": float64(m.ExactCount), "exact_ratio": m.ExactRatio, "accuracy": m.ExactRatio,
		"loose_micro_precision": m.Micro.Precision, "loose_micro_recall": m.Micro.Recall, "loose_micro_f1": m.Micro.F1,
		"micro_f1":              m.Micro.F1,
		"loose_macro_precision": m.Macro.Precision, "loose_macro_recall": m.Macro.Recall, "loose_macro_f1": m.Macro.F1,
		"macro_f1": m.Macro.F1, "loss": m.Loss,
	}
}

// WriteText prints the metrics as krun eval does.
func (m TypingMetrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "exact %d/%d = %.4f\nloose micro P %.4f R %.4f F1 %.4f\nloose macro P %.4f R %.4f F1 %.4f\nloss %.4f\n",
		m.ExactCount, m.Examples, m.ExactRatio, m.Micro.Precision, m.Micro.Recall, m.Micro.F1,
		m.Macro.Precision, m.Macro.Recall, m.Macro.F1, m.Loss)
	if m.Upstream {
		fmt.Fprintf(w, "(loose micro/macro use the original's cumulative counting at eval batch size %d)\n", m.EvalBatchSize)
	}
	if m.NoGold {
		fmt.Fprintln(w, "warning: no example has a gold label; loose micro recall is reported as 0 (the original divides by zero)")
	}
}

// typingScores checks the logits against the labels and returns them,
// the multi-hot gold labels and the metrics' loss (BCE with logits,
// batch means).
func typingScores(task string, in ScoreInput) (lg [][]float32, labels [][]float64, loss float64, err error) {
	lg = logitRows(in.Outputs)
	if err := checkWidth(task, lg, in.Labels); err != nil {
		return nil, nil, 0, err
	}
	labels = make([][]float64, len(in.Examples))
	losses := make([]float64, len(in.Examples))
	for i := range in.Examples {
		labels[i] = make([]float64, len(in.Examples[i].Labels))
		for j, v := range in.Examples[i].Labels {
			labels[i][j] = float64(v)
		}
		losses[i] = metrics.MeanBCEWithLogits(lg[i:i+1], labels[i:i+1])
	}
	return lg, labels, metrics.CombineLosses(batchMeans(losses, ones(len(in.Examples)), in.BatchSize), false), nil
}

// predictTyping: pred is the predicted set's names (predictSets gives the
// set), pred_id their indices.
func predictTyping(predictSets func([][]float32) [][]int) func(p *Prediction, ex *features.Example, o Output, labels []string, withGold bool) {
	return func(p *Prediction, ex *features.Example, o Output, labels []string, withGold bool) {
		sets := predictSets([][]float32{o.Logits})
		p.PredID, p.Pred, p.Logits = sets[0], labelNames(labels, sets[0]), o.Logits
		if withGold {
			p.Gold = labelNames(labels, metrics.GoldSets([][]int64{ex.Labels})[0])
		}
	}
}

// fillEmptyLabels gives a typing record without labels an empty list.
func fillEmptyLabels(obj map[string]json.RawMessage, _ []string) error {
	obj["labels"] = json.RawMessage(`[]`)
	return nil
}

// realLen is the number of attended positions (right padding).
func realLen(mask []int64) int {
	n := 0
	for _, m := range mask {
		if m != 0 {
			n++
		}
	}
	return n
}
