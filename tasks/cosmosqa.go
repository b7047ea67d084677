package tasks

import (
	"fmt"
	"io"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// examples/run_finetune_cosmosqa_adapter.py (spec §6.4, §6.6): no
// clipping, the first update after accumulation-1 micro-batches, eps 1e-6.
func init() {
	Register(&Definition{
		Task: models.TaskCosmosQA, Script: "examples/run_finetune_cosmosqa_adapter.py",
		Graph: models.TaskGraph{Choices: 4, ReadsFirst: true, Rates: true,
			Head: cosmosQAHead, Labels: classLabels, Loss: crossEntropyLoss},
		Loss:     "cross-entropy (mean) over the 4 choices of logits [B,4]",
		Metric:   "accuracy",
		Upstream: Upstream{AccumulationOffset: 1},
		Defaults: Hyper{LearningRate: 1e-5, WarmupSteps: 0, WeightDecay: 0, AdamEpsilon: 1e-6, MaxGradNorm: 0,
			BatchSize: 16, Accumulation: 8, MaxSteps: 20000, MaxSeqLength: 256, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{
			{Name: "pytorch_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: same},
			{Name: "pytorch_bertmodel.bin", Modules: []string{"roberta"}, Rename: robertaKey},
		},
		NoConfig: true,
		Init: Init{
			PerAdapter: func(kind string, h int) []Layer { return []Layer{linear(kind+"_adapter.task_dense", 2*h, h)} },
			Head:       func(h, _ int) ([]Layer, error) { return []Layer{linear("classifier", h, 1)}, nil },
		},
		DevMetrics: func(d Dev) map[string]float64 {
			_, acc := metrics.MultipleChoiceAccuracy(d.Logits, d.Gold)
			return map[string]float64{"accuracy": acc}
		},
		Eval: Eval{
			Order:       4,
			About:       "accuracy over the four choices",
			MultiChoice: true,
			PadOption:   true,
			Columns:     []string{features.ColLabel},
			// An absent label is "no label": such examples are predicted
			// and counted as unlabeled, not scored.
			LabelField: "label",
			Score:      scoreCosmosQA,
			Predict: func(p *Prediction, ex *features.Example, o Output, _ []string, withGold bool) {
				p.Pred, p.Logits = metrics.Argmax(o.Logits), o.Logits
				if withGold && ex.Label >= 0 {
					p.Gold = ex.Label
				}
			},
		},
	})
}

// cosmosQAHead is COSMOSQAModel's head: each chain's AdapterModel output
// task_dense([a·S, b·F]) (add fusion: a·S + b·F), their fusion T, and
// classifier(dropout(T[:,0])) as 4 choice logits.
func cosmosQAHead(hb *models.Head) *graph.Value {
	g, h, spec := hb.Graph(), hb.Hidden(), hb.Spec()
	outs := map[string]*graph.Value{}
	for _, kind := range hb.Adapters() {
		pre := kind + "_adapter"
		g.Within(pre+".model", func() {
			a := g.Mul(hb.Sequence(), g.Scalar(float32(spec.ARate)))
			b := g.Mul(hb.Adapter(kind), g.Scalar(float32(spec.BRate)))
			if spec.Fusion == "concat" {
				outs[kind] = hb.Linear(g.Concat(-1, a, b), pre+".task_dense", 2*h, h)
			} else {
				outs[kind] = g.Add(a, b)
			}
		})
		hb.Expose(pre+"_chain_output", func() *graph.Value { return g.Identity(hb.Adapter(kind)) })
		hb.Expose(pre+"_model_output", func() *graph.Value { return outs[kind] })
	}
	t := hb.Fuse(outs)
	var logits *graph.Value
	g.Within("head", func() {
		first := g.Gather(t, g.ScalarInt(0), 1)
		g.Expose("cls_output", first)
		logits = g.Reshape(hb.Linear(hb.Dropout(first), "classifier", h, 1), -1, 4)
	})
	return logits
}

// CosmosQAMetrics are CosmosQA's metrics.
type CosmosQAMetrics struct {
	Accuracy  float64 `json:"accuracy"`
	Correct   int     `json:"correct"`
	Labeled   int     `json:"labeled"`
	Unlabeled int     `json:"unlabeled"`
	Loss      float64 `json:"loss"`
}

// Values: accuracy, correct, labeled, unlabeled, loss.
func (m CosmosQAMetrics) Values() map[string]float64 {
	return map[string]float64{"accuracy": m.Accuracy, "correct": float64(m.Correct), "labeled": float64(m.Labeled),
		"unlabeled": float64(m.Unlabeled), "loss": m.Loss}
}

// WriteText prints the metrics as krun eval does.
func (m CosmosQAMetrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "accuracy %.4f (%d/%d)  loss %.4f", m.Accuracy, m.Correct, m.Labeled, m.Loss)
	if m.Unlabeled > 0 {
		fmt.Fprintf(w, "  (%d unlabeled examples not scored)", m.Unlabeled)
	}
	fmt.Fprintln(w)
}

// scoreCosmosQA: accuracy of the argmax choice over the labelled examples.
func scoreCosmosQA(in ScoreInput) (Result, error) {
	lg := logitRows(in.Outputs)
	var m CosmosQAMetrics
	var gold, pred []int
	var sums []float64
	for i, ex := range in.Examples {
		if ex.Label < 0 {
			m.Unlabeled++
			continue
		}
		gold = append(gold, ex.Label)
		pred = append(pred, metrics.Argmax(lg[i]))
		sums = append(sums, metrics.CrossEntropy(lg[i], ex.Label))
	}
	m.Labeled = len(gold)
	m.Correct, m.Accuracy = metrics.Accuracy(gold, pred)
	m.Loss = metrics.CombineLosses(batchMeans(sums, ones(len(sums)), in.BatchSize), false)
	return m, nil
}
