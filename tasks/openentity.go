package tasks

import (
	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// examples/run_finetune_openentity_adapter.py (spec §6.2, §6.6).
func init() {
	Register(&Definition{
		Task: models.TaskOpenEntity, Script: "examples/run_finetune_openentity_adapter.py",
		Graph:    models.TaskGraph{Aliases: []string{"open-entity"}, Head: entityHead, Labels: multiHotLabels, Loss: bceLoss},
		Loss:     "BCE with logits (mean over B x 9)",
		Metric:   "micro_f1",
		Upstream: Upstream{OptimizerFirst: true, ClipGroups: []string{"roberta", "task"}},
		Defaults: Hyper{LearningRate: 1e-4, WarmupSteps: 120, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 4, Accumulation: 1, MaxSteps: 12000, MaxSeqLength: 256, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{
			{Name: "pytorch_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: same},
			{Name: "pytorch_pretrained_model.bin", Modules: []string{"roberta"}, Rename: robertaKey},
		},
		ConfigExtra: freezeAdapterConfig,
		Init:        Init{Head: func(h, _ int) ([]Layer, error) { return classifierLayers(h, h, 9), nil }},
		DevMetrics:  func(d Dev) map[string]float64 { return typingDev(metrics.OpenEntityTyping(d.Logits, d.Hot)) },
		Eval: Eval{
			Order:      2,
			About:      "predicted types {logit > 0}; exact-match count and ratio, loose micro and macro P/R/F1",
			Positions:  []Position{entityPos},
			Labels:     func() []string { return features.OpenEntityLabels },
			Columns:    []string{features.ColEntityPos, features.ColLabels},
			LabelField: "labels",
			FillLabel:  fillEmptyLabels,
			Score: func(in ScoreInput) (Result, error) {
				lg, labels, loss, err := typingScores(string(models.TaskOpenEntity), in)
				if err != nil {
					return nil, err
				}
				return TypingMetrics{TypingResult: metrics.OpenEntityTyping(lg, labels), Loss: loss}, nil
			},
			Predict: predictTyping(metrics.OpenEntityPredict[float32]),
		},
	})
}

// typingDev are the entity-typing dev metrics: the exact-match ratio as
// accuracy, loose micro and macro F1.
func typingDev(r metrics.TypingResult) map[string]float64 {
	return map[string]float64{"accuracy": r.ExactRatio, "micro_f1": r.Micro.F1, "macro_f1": r.Macro.F1}
}
