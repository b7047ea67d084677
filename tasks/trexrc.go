package tasks

import "github.com/kadapter/kadapter/export/models"

// fac-adapter.py: relation classification over T-REx (spec §7.1).
func init() {
	register(&Definition{
		Task: models.TaskPretrainFac, Script: "fac-adapter.py", Adapter: "fac", Pretraining: true,
		Loss:     "cross-entropy (mean) of logits [B,410] against the relation index",
		Metric:   "micro_f1",
		Upstream: Upstream{ClipGroups: []string{"adapter_model"}, UndividedBatch: true},
		Defaults: Hyper{LearningRate: 5e-5, WarmupSteps: 1200, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 64, Accumulation: 1, Epochs: 5, MaxSeqLength: 64, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files: []File{{Name: "pytorch_model.bin", Modules: []string{"adapters", "head"}, Rename: adapterModelKey}},
	})
}
