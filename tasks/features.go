package tasks

import (
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
)

// RobertaModelwithAdapter, "K-Adapter used like RoBERTa": the fused
// features [B,L,H] (spec §4). It is exported, not trained or evaluated,
// so it registers a graph only.
func init() {
	models.Register(models.TaskFeatures, models.TaskGraph{
		Aliases:           []string{"roberta-adapter", "roberta_with_adapter", "feature-extractor"},
		OptionalTaskModel: true,
		Output:            "features",
		Head:              func(hb *models.Head) *graph.Value { return hb.Fuse(nil) },
	})
}
