package tasks

import "github.com/kadapter/kadapter/export/models"

// examples/run_finetune_TACRED_adapter.py (spec §6.1, §6.6).
func init() {
	register(&Definition{
		Task: models.TaskTACRED, Script: "examples/run_finetune_TACRED_adapter.py",
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
	})
}
