package tasks

import "github.com/kadapter/kadapter/export/models"

// examples/run_finetune_figer_adapter.py (spec §6.3, §6.6).
func init() {
	register(&Definition{
		Task: models.TaskFIGER, Script: "examples/run_finetune_figer_adapter.py",
		Loss:     "BCE with logits (mean over B x num_labels)",
		Metric:   "accuracy",
		Upstream: Upstream{ClipGroups: []string{"task", "roberta"}},
		Defaults: Hyper{LearningRate: 3e-5, WarmupSteps: 120, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 4, Accumulation: 1, Epochs: 3, MaxSeqLength: 256, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{
			{Name: "pytorch_task_model.bin", Modules: []string{"adapters", "fusion", "head"}, Rename: same},
			{Name: "pytorch_pretrained_model.bin", Modules: []string{"roberta"}, Rename: robertaKey},
		},
		ConfigExtra: freezeAdapterConfig,
	})
}
