package tasks

import "github.com/kadapter/kadapter/export/models"

// lin-adapter.py: dependency-head prediction (spec §7.2).
func init() {
	register(&Definition{
		Task: models.TaskPretrainLin, Script: "lin-adapter.py", Adapter: "lin", Pretraining: true,
		Loss:     "cross-entropy (mean) over the positions whose attention_mask is 1, of logits [B,L,max_seq_length]",
		Metric:   "accuracy",
		Upstream: Upstream{ClipGroups: []string{"adapter_model"}},
		Defaults: Hyper{LearningRate: 2e-5, WarmupSteps: 500, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 32, Accumulation: 1, Epochs: 10, MaxSeqLength: 64, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{{Name: "pytorch_model.bin", Modules: []string{"adapters", "head"}, Rename: adapterModelKey}},
	})
}
