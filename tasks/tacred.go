package tasks

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// examples/run_finetune_TACRED_adapter.py (spec §6.1, §6.6).
func init() {
	Register(&Definition{
		Task: models.TaskTACRED, Script: "examples/run_finetune_TACRED_adapter.py",
		Graph:    models.TaskGraph{Head: tacredHead, Labels: classLabels, Loss: crossEntropyLoss},
		Loss:     "cross-entropy (mean) of logits [B,42]",
		Metric:   "micro_f1",
		Upstream: Upstream{OptimizerFirst: true, ClipGroups: []string{"roberta", "task"}},
		Defaults: Hyper{LearningRate: 5e-6, WarmupSteps: 1000, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 32, Accumulation: 1, MaxSteps: 12000, MaxSeqLength: 184, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{
			{Name: "pytorch_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: same},
			{Name: "pytorch_pretrained_model.bin", Modules: []string{"roberta"}, Rename: robertaKey},
		},
		ConfigExtra: freezeAdapterConfig,
		Init:        Init{Head: func(h, _ int) ([]Layer, error) { return classifierLayers(2*h, h, 42), nil }},
		DevMetrics: func(d Dev) map[string]float64 {
			r := metrics.TACREDMicroF1(d.Gold, metrics.ArgmaxRows(d.Logits), 28)
			return map[string]float64{"precision": r.Precision, "recall": r.Recall, "micro_f1": r.F1}
		},
		Eval: Eval{
			Order:     1,
			About:     "micro P/R/F1 ignoring no_relation (index 28; P = 1 when nothing is guessed)",
			Positions: []Position{subjPos, objPos},
			Labels:    func() []string { return features.TACREDRelations },
			Columns:   []string{features.ColSubjPos, features.ColObjPos, features.ColLabel},
			// A record without its relation is predicted as no_relation's.
			LabelField: "relation",
			FillLabel: func(obj map[string]json.RawMessage, _ []string) error {
				obj["relation"] = json.RawMessage(`"` + features.NoRelation + `"`)
				return nil
			},
			Score:   scoreTACRED,
			Predict: predictRelation,
		},
	})
}

// tacredHead is TACREDModel's head on the fused output:
// out_proj(dropout(dense([T[subj_pos], T[obj_pos]]))).
func tacredHead(hb *models.Head) *graph.Value {
	t := hb.Fuse(nil)
	g, h := hb.Graph(), hb.Hidden()
	var logits *graph.Value
	g.Within("head", func() {
		subj, obj := hb.At(t, 0), hb.At(t, 1)
		g.Expose("subj_output", subj)
		g.Expose("obj_output", obj)
		x := hb.Linear(g.Concat(-1, subj, obj), "dense", 2*h, h)
		logits = hb.Linear(hb.Dropout(x), "out_proj", h, hb.Classes("out_proj.weight"))
	})
	return logits
}

// TACREDMetrics are TACRED's metrics (micro P/R/F1 ignoring no_relation).
type TACREDMetrics struct {
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	NoRelationID int     `json:"no_relation_id"`
	Loss         float64 `json:"loss"`
}

// Values: precision, recall, f1 and micro_f1 (the same F1), loss.
func (m TACREDMetrics) Values() map[string]float64 {
	return map[string]float64{"precision": m.Precision, "recall": m.Recall, "f1": m.F1, "micro_f1": m.F1, "loss": m.Loss}
}

// WriteText prints the metrics as krun eval does.
func (m TACREDMetrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "precision %.4f  recall %.4f  f1 %.4f  (no_relation = %d)  loss %.4f\n", m.Precision, m.Recall, m.F1, m.NoRelationID, m.Loss)
}

// scoreTACRED: the original's micro P/R/F1 with no_relation found in the
// label list (index 28 of the original's).
func scoreTACRED(in ScoreInput) (Result, error) {
	gold, pred, batch, err := relationScores(string(models.TaskTACRED), in)
	if err != nil {
		return nil, err
	}
	nr := metrics.TACREDNoRelation
	for i, l := range in.Labels {
		if l == features.NoRelation {
			nr = i
		}
	}
	p := metrics.TACREDMicroF1(gold, pred, nr)
	return TACREDMetrics{Precision: p.Precision, Recall: p.Recall, F1: p.F1, NoRelationID: nr, Loss: metrics.CombineLosses(batch, false)}, nil
}
