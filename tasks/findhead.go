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

// lin-adapter.py: dependency-head prediction (spec §7.2).
func init() {
	Register(&Definition{
		Task: models.TaskPretrainLin, Script: "lin-adapter.py", Adapter: "lin", Pretraining: true,
		Graph: models.TaskGraph{Aliases: []string{"pretrain-lin", "lin", "pretrain_lin"}, SeqClasses: true,
			Head: linHead, Labels: models.LabelSpec{DType: graph.Int64, Rank: 2}, Loss: linLoss},
		Loss:     "cross-entropy (mean) over the positions whose attention_mask is 1, of logits [B,L,max_seq_length]",
		Metric:   "accuracy",
		Upstream: Upstream{ClipGroups: []string{"adapter_model"}},
		Defaults: Hyper{LearningRate: 2e-5, WarmupSteps: 500, WeightDecay: 0, AdamEpsilon: 1e-8, MaxGradNorm: 1,
			BatchSize: 32, Accumulation: 1, Epochs: 10, MaxSeqLength: 64, AdamBeta1: 0.9, AdamBeta2: 0.999, DropoutConfig: 0.1},
		Files:       []File{{Name: "pytorch_model.bin", Modules: []string{"adapters", "head"}, Rename: adapterModelKey}},
		ConfigExtra: map[string]any{"output_attentions": true},
		Init: Init{ClassesFrom: "input_ids.npy", Head: func(h, n int) ([]Layer, error) {
			if n <= 0 {
				return nil, fmt.Errorf("find-head: the head's size (max_seq_length) is unknown")
			}
			return []Layer{linear("com_dense", 2*h, h), {Name: "self_attention", In: h, Attention: true},
				linear("dense", h, h), linear("out_proj", h, n)}, nil
		}},
		DevMetrics: func(d Dev) map[string]float64 {
			preds := make([][]int, len(d.Logits))
			for i, row := range d.Logits {
				seq := len(row) / d.Classes
				preds[i] = make([]int, seq)
				for j := 0; j < seq; j++ {
					preds[i][j] = metrics.Argmax(row[j*d.Classes : (j+1)*d.Classes])
				}
			}
			return map[string]float64{"accuracy": metrics.LinAccuracy(preds, d.Heads, d.Masks)}
		},
		Eval: Eval{
			Order:   6,
			About:   "lin-adapter pre-training: token accuracy (token-weighted, and the original's mean over batches)",
			Columns: []string{features.ColLabels},
			// A record without its pairs is predicted with every governor
			// ROOT.
			LabelField:   "pairs",
			FillLabel:    fillRootPairs,
			ReduceTokens: reduceHeads,
			Score:        scoreFindHead,
			Predict: func(p *Prediction, ex *features.Example, o Output, _ []string, withGold bool) {
				// One predicted head position per real token (logits
				// omitted: L×C).
				p.Pred = o.Heads
				if withGold {
					p.Gold = ex.Labels[:min(len(o.Heads), len(ex.Labels))]
				}
			},
		},
	})
}

// linHead is lin-adapter.py's head on RoBERTa's and the lin chain's
// outputs: C = com_dense([S, L]), then a one-head BertAttention over C
// and out_proj(dropout(dense(context))) at every position.
func linHead(hb *models.Head) *graph.Value {
	g, h := hb.Graph(), hb.Hidden()
	var logits *graph.Value
	g.Within("head", func() {
		com := hb.Linear(g.Concat(-1, hb.Sequence(), hb.Adapter("lin")), "com_dense", 2*h, h)
		g.Expose("com_features", com)
		ext := g.Unsqueeze(hb.AdditiveMask(hb.AttentionMask()), 1, 2)
		ctx, probs := hb.Attention(com, "self_attention", 1, ext)
		g.Expose("attention_probs", probs)
		g.Expose("context", ctx)
		x := hb.Dropout(hb.Linear(ctx, "dense", h, h))
		logits = hb.Linear(x, "out_proj", h, hb.Classes("out_proj.weight"))
	})
	return logits
}

// linLoss is cross-entropy (mean) over the positions whose
// attention_mask is 1, of logits [B,L,C] against head labels [B,L].
func linLoss(in models.LossInput) *graph.Value {
	g := in.Graph
	c := in.Logits.Shape[2]
	flat := g.Reshape(in.Logits, -1, c.Coef)
	active := g.Cast(g.Equal(g.Reshape(in.AttentionMask, -1), g.ScalarInt(1)), graph.Float32)
	return models.CrossEntropy(g, flat, g.Reshape(in.Labels, -1), active)
}

// FindHeadMetrics are the lin-adapter pre-training metrics.
type FindHeadMetrics struct {
	Accuracy         float64 `json:"accuracy"`
	AccuracyUpstream float64 `json:"accuracy_upstream_batch_mean"`
	Tokens           int     `json:"tokens"`
	EvalBatchSize    int     `json:"eval_batch_size"`
	Loss             float64 `json:"loss"`
}

// Values: accuracy, accuracy_upstream_batch_mean, tokens, loss.
func (m FindHeadMetrics) Values() map[string]float64 {
	return map[string]float64{"accuracy": m.Accuracy, "accuracy_upstream_batch_mean": m.AccuracyUpstream,
		"tokens": float64(m.Tokens), "loss": m.Loss}
}

// WriteText prints the metrics as krun eval does.
func (m FindHeadMetrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "token accuracy %.4f over %d tokens (original per-batch mean at batch %d: %.4f)  loss %.4f\n",
		m.Accuracy, m.Tokens, m.EvalBatchSize, m.AccuracyUpstream, m.Loss)
}

// fillRootPairs gives a record without pairs one per word, governor ROOT.
func fillRootPairs(obj map[string]json.RawMessage, _ []string) error {
	var words []json.RawMessage
	if err := json.Unmarshal(obj["tokens"], &words); err != nil {
		return fmt.Errorf(`"tokens": %v`, err)
	}
	pairs := make([]map[string]int, len(words))
	for i := range words {
		pairs[i] = map[string]int{"dependent_index": i + 1, "governor_index": 0}
	}
	b, _ := json.Marshal(pairs)
	obj["pairs"] = b
	return nil
}

// reduceHeads keeps the argmax head class at each real position and the
// cross-entropy over the positions the original's loss sees (attended,
// label not ignored).
func reduceHeads(ex *features.Example, data []float32, L, C int) (Output, error) {
	n := min(realLen(ex.AttentionMask), L)
	o := Output{Heads: make([]int, n)}
	for l := 0; l < n; l++ {
		row := data[l*C : (l+1)*C]
		o.Heads[l] = metrics.Argmax(row)
		if l < len(ex.Labels) && ex.AttentionMask[l] != 0 && ex.Labels[l] != features.IgnoreLabel {
			if ex.Labels[l] < 0 || ex.Labels[l] >= int64(C) {
				return Output{}, fmt.Errorf("record %d: head label %d at position %d is outside the graph's %d head classes (--max-seq-length must equal the lin-adapter head's max_seq_length)", ex.Record, ex.Labels[l], l, C)
			}
			o.LossSum += metrics.CrossEntropy(row, int(ex.Labels[l]))
			o.LossN++
		}
	}
	return o, nil
}

// scoreFindHead: token accuracy over the active positions, token-weighted
// and as the original's mean over eval batches.
func scoreFindHead(in ScoreInput) (Result, error) {
	// Positions past the real tokens have mask 0: only the first n count.
	var pred, gold, mask [][]int
	sums := make([]float64, len(in.Examples))
	counts := make([]int, len(in.Examples))
	for i := range in.Examples {
		ex, o := &in.Examples[i], &in.Outputs[i]
		n := len(o.Heads)
		g := make([]int, n)
		m := make([]int, n)
		for l := 0; l < n; l++ {
			if l < len(ex.Labels) {
				g[l] = int(ex.Labels[l])
			}
			if ex.AttentionMask[l] != 0 && g[l] != features.IgnoreLabel {
				m[l] = 1
			}
		}
		sums[i], counts[i] = o.LossSum, o.LossN
		pred, gold, mask = append(pred, o.Heads), append(gold, g), append(mask, m)
	}
	tokens := 0
	for _, c := range counts {
		tokens += c
	}
	bs := in.BatchSize
	return FindHeadMetrics{
		Accuracy:         metrics.LinAccuracy(pred, gold, mask),
		AccuracyUpstream: metrics.LinAccuracyUpstream(pred, gold, mask, bs),
		Tokens:           tokens, EvalBatchSize: bs,
		Loss: metrics.CombineLosses(batchMeans(sums, counts, bs), false),
	}, nil
}
