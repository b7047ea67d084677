package seventh_test

// This file is what a seventh task adds to package tasks (there it would
// be tasks/relationcls.go, calling Register from init and free to use the
// package's helpers): a sentence-level relation classifier that reads
// TACRED records, reuses builders/features' TACRED converter, and puts a
// classifier on the fused <s> vector (no marker positions), trained with
// cross-entropy and scored by accuracy. It lives in a test package so that
// the six real tasks' listings stay as they are.

import (
	"fmt"
	"io"
	"strings"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
	"github.com/kadapter/kadapter/tasks"
)

// relationCls is the seventh task's name.
const relationCls models.Task = "relation-cls"

// relationLabels are its classes.
var relationLabels = []string{"no_relation", "per:title", "org:founded_by"}

func init() {
	tasks.Register(&tasks.Definition{
		Task: relationCls, Script: "(none: a sentence-level TACRED baseline)",
		Loss:     "cross-entropy (mean) of logits [B,3]",
		Metric:   "accuracy",
		Upstream: tasks.Upstream{OptimizerFirst: true, ClipGroups: []string{"roberta", "task"}},
		Defaults: tasks.Hyper{LearningRate: 1e-3, WarmupSteps: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 4, Accumulation: 1, MaxSteps: 3, MaxSeqLength: 32, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []tasks.File{
			{Name: "pytorch_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: func(k string) string { return k }},
			{Name: "pytorch_pretrained_model.bin", Modules: []string{"roberta"},
				Rename: func(k string) string { return "model." + strings.TrimPrefix(k, "roberta.") }},
		},
		ConfigExtra: map[string]any{"freeze_adapter": "True"},
		Graph: models.TaskGraph{
			ReadsFirst: true,
			Head: func(hb *models.Head) *graph.Value {
				t := hb.Fuse(nil)
				g, h := hb.Graph(), hb.Hidden()
				var logits *graph.Value
				g.Within("head", func() {
					first := g.Gather(t, g.ScalarInt(0), 1)
					g.Expose("cls_output", first)
					x := hb.Linear(hb.Dropout(first), "dense", h, h)
					logits = hb.Linear(hb.Dropout(g.Tanh(x)), "out_proj", h, hb.Classes("out_proj.weight"))
				})
				return logits
			},
			Labels: models.LabelSpec{DType: graph.Int64, Rank: 1},
			Loss: func(in models.LossInput) *graph.Value {
				return models.CrossEntropy(in.Graph, in.Logits, in.Labels, nil)
			},
		},
		Features: &features.Format{MaxSeqLength: 32, Layout: features.LayoutRelation,
			New: func(tok features.Tokenizer, cfg features.Config) (features.RecordConverter, error) {
				if cfg.Labels == nil {
					cfg.Labels = relationLabels
				}
				return features.NewTACRED(tok, features.TACREDOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
			}},
		Init: tasks.Init{Head: func(h, _ int) ([]tasks.Layer, error) {
			return []tasks.Layer{{Name: "dense", In: h, Out: h}, {Name: "out_proj", In: h, Out: len(relationLabels)}}, nil
		}},
		DevMetrics: func(d tasks.Dev) map[string]float64 {
			_, acc := metrics.Accuracy(d.Gold, metrics.ArgmaxRows(d.Logits))
			return map[string]float64{"accuracy": acc}
		},
		Eval: tasks.Eval{
			Order:      7,
			About:      "accuracy of the sentence's relation",
			Labels:     func() []string { return relationLabels },
			Columns:    []string{features.ColLabel},
			LabelField: "relation",
			Score: func(in tasks.ScoreInput) (tasks.Result, error) {
				var gold, pred []int
				var batch []float64
				for i, ex := range in.Examples {
					lg := in.Outputs[i].Logits
					gold, pred = append(gold, ex.Label), append(pred, metrics.Argmax(lg))
					if i%in.BatchSize == 0 {
						batch = append(batch, 0)
					}
					n := min(in.BatchSize, len(in.Examples)-i/in.BatchSize*in.BatchSize)
					batch[len(batch)-1] += metrics.CrossEntropy(lg, ex.Label) / float64(n)
				}
				var m accuracy
				m.Correct, m.Accuracy = metrics.Accuracy(gold, pred)
				m.Loss = metrics.CombineLosses(batch, false)
				return m, nil
			},
			Predict: func(p *tasks.Prediction, ex *features.Example, o tasks.Output, labels []string, withGold bool) {
				k := metrics.Argmax(o.Logits)
				p.PredID, p.Pred, p.Logits = k, labels[k], o.Logits
				if withGold {
					p.Gold = labels[ex.Label]
				}
			},
		},
	})
}

// accuracy are the seventh task's metrics.
type accuracy struct {
	Accuracy float64 `json:"accuracy"`
	Correct  int     `json:"correct"`
	Loss     float64 `json:"loss"`
}

// Values: accuracy, correct, loss.
func (m accuracy) Values() map[string]float64 {
	return map[string]float64{"accuracy": m.Accuracy, "correct": float64(m.Correct), "loss": m.Loss}
}

// WriteText prints the metrics.
func (m accuracy) WriteText(w io.Writer) {
	fmt.Fprintf(w, "accuracy %.4f (%d correct)  loss %.4f\n", m.Accuracy, m.Correct, m.Loss)
}
