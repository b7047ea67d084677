package tasks

import (
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
)

// The labels inputs of the built-in losses.
var (
	// classLabels are class indices [batch].
	classLabels = models.LabelSpec{DType: graph.Int64, Rank: 1}
	// multiHotLabels are multi-hot rows [batch,classes].
	multiHotLabels = models.LabelSpec{DType: graph.Float32, Rank: 2}
)

// crossEntropyLoss is CrossEntropyLoss (mean) of logits [B,C] against
// class labels [B].
func crossEntropyLoss(in models.LossInput) *graph.Value {
	return models.CrossEntropy(in.Graph, in.Logits, in.Labels, nil)
}

// bceLoss is BCEWithLogitsLoss (mean over B × C) of logits against
// multi-hot labels.
func bceLoss(in models.LossInput) *graph.Value {
	return models.BCEWithLogits(in.Graph, in.Logits, in.Labels)
}

// entityHead is ETModel's and FIGERModel's head on the fused output:
// out_proj(dropout(dense(T[entity_pos]))).
func entityHead(hb *models.Head) *graph.Value {
	t := hb.Fuse(nil)
	g, h := hb.Graph(), hb.Hidden()
	var logits *graph.Value
	g.Within("head", func() {
		e := hb.At(t, 0)
		g.Expose("entity_output", e)
		x := hb.Linear(e, "dense", h, h)
		logits = hb.Linear(hb.Dropout(x), "out_proj", h, hb.Classes("out_proj.weight"))
	})
	return logits
}

// classifierLayers are dense (in→h) and out_proj (h→n), TACREDModel's,
// ETModel's and FIGERModel's head.
func classifierLayers(in, h, n int) []Layer {
	return []Layer{linear("dense", in, h), linear("out_proj", h, n)}
}
