package tasks

import "github.com/kadapter/kadapter/export/models"

// examples/run_finetune_openentity_adapter.py (spec §6.2, §6.6).
func init() {
	register(&Definition{
		Task: models.TaskOpenEntity, Script: "examples/run_finetune_openentity_adapter.py",
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
	})
}
