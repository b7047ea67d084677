package runtime

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/graph"
)

// TestRunErrorDoesNotPanic: a run that fails after ONNX Runtime ran (here
// onnxruntime_go cannot wrap a rank-0 output) returns an error naming the
// model instead of panicking while releasing outputs.
func TestRunErrorDoesNotPanic(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	g := graph.New("scalar_out")
	x := g.Input("x", graph.Float32, graph.Known(3))
	g.Output("y", g.ReduceSum(x, false, 0))
	m, err := g.Model(graph.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if _, err := graph.Save(path, m, graph.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{3}, Data: []float32{1, 2, 3}}})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("want an error naming %s, got %v", path, err)
	}
}
