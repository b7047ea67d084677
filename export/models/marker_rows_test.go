package models_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	krt "github.com/kadapter/kadapter/runtime"
)

// TestMarkerRowsMatchAllPositions builds the marker-position heads (and
// CosmosQA, which reads position 0) with and without pruning
// (Spec.AllPositions) for adapter settings the fixtures do not cover (skip
// connections into the pruned adapter, a tap on RoBERTa's last layer,
// which keeps that layer whole) and checks the logits agree within the
// fixture tolerance, the pruned graph gathering rows (more GatherElements
// nodes) where the full one does not.
func TestMarkerRowsMatchAllPositions(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	requireORT(t)
	cases := []struct {
		name string
		c    string
		list []int
		skip int
	}{
		{"tacred/skip3", "tacred", []int{0, 1, 3}, 3},
		{"tacred/skip2", "tacred", []int{0, 1, 3}, 2},
		{"tacred/tap_last_layer", "tacred", []int{1, 2, 4}, 0},
		{"tacred_add_fac/skip3", "tacred_add_fac", []int{0, 2, 3}, 3},
		{"pretrain_fac/tap_last_layer", "pretrain_fac", []int{0, 3, 4}, 3},
		{"openentity/skip3", "openentity", []int{0, 1, 3}, 3},
		{"cosmosqa/skip3", "cosmosqa", []int{0, 1, 3}, 3},
		{"cosmosqa_rates/tap_last_layer", "cosmosqa_rates", []int{0, 1, 4}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := caseNamed(t, tc.c)
			inDir := filepath.Join(root, c.dir, "inputs")
			inputs := map[string]krt.Tensor{}
			for _, name := range []string{"input_ids", "attention_mask"} {
				a := readNpy(t, filepath.Join(inDir, name+".npy"))
				inputs[name] = krt.Tensor{Shape: shape64(a.Shape), Data: a.AsInt64()}
			}
			for in, file := range c.positions {
				inputs[in] = oneHotToIndex(t, readNpy(t, filepath.Join(inDir, file+".npy")))
			}
			var logits [2]krt.Tensor
			var nodes [2]int
			for i, all := range []bool{true, false} {
				w, cfg, err := models.LoadWeights(c.task, sources(root, c, "legacy"))
				if err != nil {
					t.Fatal(err)
				}
				spec := tinySpec(c, cfg)
				spec.Adapter.List, spec.Adapter.SkipLayers, spec.AllPositions = tc.list, tc.skip, all
				g, iface, err := models.Build(spec, w)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(strings.Join(iface.Exposable, " "), "roberta_hidden_states") {
					t.Errorf("exposable list %v lacks roberta_hidden_states", iface.Exposable)
				}
				m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-test"})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range m.GetGraph().GetNode() {
					if n.GetOpType() == "GatherElements" {
						nodes[i]++
					}
				}
				path := filepath.Join(t.TempDir(), "model.onnx")
				if _, err := graph.Save(path, m, graph.SaveOptions{}); err != nil {
					t.Fatal(err)
				}
				sess, err := krt.Open(path, krt.Options{IntraOpThreads: 1})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := sess.Run(context.Background(), inputs)
				sess.Close()
				if err != nil {
					t.Fatal(err)
				}
				logits[i] = outs["logits"]
			}
			if nodes[1] <= nodes[0] {
				t.Errorf("pruned graph has %d GatherElements nodes, the full one %d: not pruned", nodes[1], nodes[0])
			}
			full := logits[0]
			want := &npy.Array{DType: npy.Float64, Shape: make([]int, len(full.Shape))}
			for i, d := range full.Shape {
				want.Shape[i] = int(d)
			}
			for _, x := range full.Data.([]float32) {
				want.Float64 = append(want.Float64, float64(x))
			}
			compare(t, fmt.Sprintf("pruned logits vs all positions (list %v, skip %d)", tc.list, tc.skip), logits[1], want)
		})
	}
}
