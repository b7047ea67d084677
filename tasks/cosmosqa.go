package tasks

import "github.com/kadapter/kadapter/export/models"

// examples/run_finetune_cosmosqa_adapter.py (spec §6.4, §6.6): no
// clipping, the first update after accumulation-1 micro-batches, eps 1e-6.
func init() {
	register(&Definition{
		Task: models.TaskCosmosQA, Script: "examples/run_finetune_cosmosqa_adapter.py",
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
	})
}
