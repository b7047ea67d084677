package tasks

import (
	"fmt"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime/metrics"
)

// examples/run_finetune_figer_adapter.py (spec §6.3, §6.6).
func init() {
	Register(&Definition{
		Task: models.TaskFIGER, Script: "examples/run_finetune_figer_adapter.py",
		Graph:    models.TaskGraph{Head: entityHead, Labels: multiHotLabels, Loss: bceLoss},
		Loss:     "BCE with logits (mean over B x num_labels)",
		Metric:   "accuracy",
		Upstream: Upstream{ClipGroups: []string{"task", "roberta"}},
		Defaults: Hyper{LearningRate: 3e-5, WarmupSteps: 120, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 4, Accumulation: 1, Epochs: 3, MaxSeqLength: 256, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{
			{Name: "pytorch_task_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: same},
			{Name: "pytorch_pretrained_model.bin", Modules: []string{"roberta"}, Rename: robertaKey},
		},
		ConfigExtra:     freezeAdapterConfig,
		ConfigNumLabels: true,
		Init: Init{ClassesFrom: "labels.npy", Head: func(h, n int) ([]Layer, error) {
			if n <= 0 {
				return nil, fmt.Errorf("figer: the label count is unknown (give --num-labels or labels in the data)")
			}
			return classifierLayers(h, h, n), nil
		}},
		DevMetrics: func(d Dev) map[string]float64 { return typingDev(metrics.FIGERTyping(d.Logits, d.Hot)) },
		Eval: Eval{
			Order: 3,
			About: "predicted types {logit > 0 or = row max}; exact ratio, loose micro/macro\n" +
				"(--figer-upstream-metric: the original's batch-size-dependent cumulative counting)",
			Positions: []Position{entityPos},
			// The original reads data_dir/labels.json.
			LabelsFile: true,
			Columns:    []string{features.ColEntityPos, features.ColLabels},
			LabelField: "labels",
			FillLabel:  fillEmptyLabels,
			Score: func(in ScoreInput) (Result, error) {
				lg, labels, loss, err := typingScores(string(models.TaskFIGER), in)
				if err != nil {
					return nil, err
				}
				m := TypingMetrics{Loss: loss}
				if in.FIGERUpstream {
					m.TypingResult = metrics.FIGERTypingUpstream(lg, labels, in.BatchSize)
					m.Upstream, m.EvalBatchSize = true, in.BatchSize
				} else {
					m.TypingResult = metrics.FIGERTyping(lg, labels)
				}
				return m, nil
			},
			Predict: predictTyping(metrics.FIGERPredict[float32]),
		},
	})
}
