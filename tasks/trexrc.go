package tasks

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// fac-adapter.py: relation classification over T-REx (spec §7.1).
func init() {
	Register(&Definition{
		Task: models.TaskPretrainFac, Script: "fac-adapter.py", Adapter: "fac", Pretraining: true,
		Graph: models.TaskGraph{Aliases: []string{"pretrain-fac", "fac", "pretrain_fac"},
			Head: facHead, Labels: classLabels, Loss: crossEntropyLoss},
		Loss:     "cross-entropy (mean) of logits [B,410] against the relation index",
		Metric:   "micro_f1",
		Upstream: Upstream{ClipGroups: []string{"adapter_model"}, UndividedBatch: true},
		Defaults: Hyper{LearningRate: 5e-5, WarmupSteps: 1200, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 64, Accumulation: 1, Epochs: 5, MaxSeqLength: 64, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{{Name: "pytorch_model.bin", Modules: []string{"adapters", "head"}, Rename: adapterModelKey}},
		Init: Init{Head: func(h, _ int) ([]Layer, error) {
			return []Layer{linear("com_dense", 2*h, h), linear("dense", 2*h, h), linear("out_proj", h, 410)}, nil
		}},
		DevMetrics: func(d Dev) map[string]float64 {
			r := metrics.FacPretrain(d.Gold, metrics.ArgmaxRows(d.Logits), d.BatchLosses, false)
			return map[string]float64{"micro_f1": r.MicroF1, "macro_f1": r.MacroF1}
		},
		Eval: Eval{
			Order:     5,
			About:     "fac-adapter pre-training: micro-F1 (= accuracy), macro-F1 over gold ∪ predicted labels",
			Positions: []Position{subjPos, objPos},
			// The released fac-adapter's hard-coded 410 relations (root
			// utils_glue.py).
			Labels:  trexrc.Relations410,
			Columns: []string{features.ColSubjPos, features.ColObjPos, features.ColLabel},
			// A record without its relation is predicted as the first
			// relation's.
			LabelField: "relation",
			FillLabel: func(obj map[string]json.RawMessage, labels []string) error {
				b, _ := json.Marshal(labels[0])
				obj["relation"] = b
				return nil
			},
			Score:   scoreFac,
			Predict: predictRelation,
		},
	})
}

// facHead is fac-adapter.py's head on RoBERTa's and the fac chain's
// outputs: C = com_dense([S, F]), out_proj(dropout(dense([C[subj_pos],
// C[obj_pos]]))).
func facHead(hb *models.Head) *graph.Value {
	g, h := hb.Graph(), hb.Hidden()
	var logits *graph.Value
	g.Within("head", func() {
		com := hb.Linear(g.Concat(-1, hb.Sequence(), hb.Adapter("fac")), "com_dense", 2*h, h)
		hb.Expose("com_features", func() *graph.Value { return com })
		subj, obj := hb.At(com, 0), hb.At(com, 1)
		g.Expose("subj_output", subj)
		g.Expose("obj_output", obj)
		x := hb.Dropout(hb.Linear(g.Concat(-1, subj, obj), "dense", 2*h, h))
		logits = hb.Linear(x, "out_proj", h, hb.Classes("out_proj.weight"))
	})
	return logits
}

// FacMetrics are the fac-adapter pre-training metrics (JSON: those of
// metrics.FacResult).
type FacMetrics struct{ metrics.FacResult }

// Values: micro_f1, macro_f1, loss.
func (m FacMetrics) Values() map[string]float64 {
	return map[string]float64{"micro_f1": m.MicroF1, "macro_f1": m.MacroF1, "loss": m.Loss}
}

// WriteText prints the metrics as krun eval does.
func (m FacMetrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "micro-F1 %.4f  macro-F1 %.4f  loss %.4f\n", m.MicroF1, m.MacroF1, m.Loss)
}

func scoreFac(in ScoreInput) (Result, error) {
	gold, pred, batch, err := relationScores(string(models.TaskPretrainFac), in)
	if err != nil {
		return nil, err
	}
	return FacMetrics{metrics.FacPretrain(gold, pred, batch, in.FacLossSum)}, nil
}
