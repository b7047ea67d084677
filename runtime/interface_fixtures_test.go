package runtime

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/testshared"
	_ "github.com/kadapter/kadapter/tasks" // registers the task graphs
)

// TestReadInterfaceExportedModels compares the header reader with ONNX
// Runtime on real exported graphs (weights larger than the read buffer, so
// the seek path is used), inline and with external data.
func TestReadInterfaceExportedModels(t *testing.T) {
	requireORT(t)
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	for _, c := range []struct {
		dir    string
		task   models.Task
		a, b   float64
		expose []string
	}{
		{"tacred", models.TaskTACRED, 0, 0, []string{"roberta_hidden_states", "subj_output"}},
		{"cosmosqa", models.TaskCosmosQA, 1, 1, []string{"task_features"}},
	} {
		w, cfg, err := models.LoadWeights(c.task, models.Sources{
			Roberta:   filepath.Join(root, "roberta", "pytorch_model.bin"),
			TaskModel: filepath.Join(root, c.dir, "pytorch_model.bin"),
		})
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := models.Build(models.Spec{Task: c.task, Roberta: cfg, Fusion: "concat", ARate: c.a, BRate: c.b,
			Adapter: models.AdapterConfig{List: []int{0, 1, 3}, Heads: 4}, Expose: c.expose}, w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, external := range []bool{false, true} {
			path := filepath.Join(t.TempDir(), c.dir+".onnx")
			if _, err := graph.Save(path, m, graph.SaveOptions{ExternalData: external}); err != nil {
				t.Fatal(err)
			}
			checkInterface(t, path, fmt.Sprintf("%s (external %v)", c.dir, external))
		}
	}
}
