package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	krt "github.com/kadapter/kadapter/runtime"
)

// tolerance is the acceptance bound against ref_float64 (fixture README).
const tolerance = 1e-5

// fixtureCase is one folder of kadapter-tiny (or one setting of it).
type fixtureCase struct {
	name   string // subtest name
	dir    string // fixture folder
	task   models.Task
	task_  string // task checkpoint file name in dir ("" = none)
	fac    bool   // use fac-adapter/ as --fac
	lin    bool   // use lin-adapter/ as --lin
	fusion string
	a, b   float64
	skip   int
	// refs maps a ref_float64 array to the graph output compared with it.
	refs map[string]string
	// positions maps a graph input to the one-hot fixture input it comes from.
	positions map[string]string
}

var robertaRefs = map[string]string{
	"roberta_hidden_states":   "roberta_hidden_states",
	"roberta_pooled_output":   "roberta_pooled_output",
	"roberta_sequence_output": "roberta_sequence_output",
}

func with(m map[string]string, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var fixtureCases = []fixtureCase{
	{name: "pretrain_fac", dir: "pretrain_fac", task: models.TaskPretrainFac, fac: true,
		refs:      with(robertaRefs, map[string]string{"logits": "logits", "adapter_output": "adapter_outputs"}),
		positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{name: "pretrain_lin", dir: "pretrain_lin", task: models.TaskPretrainLin, lin: true,
		refs: with(robertaRefs, map[string]string{"logits": "logits", "adapter_output": "adapter_outputs",
			"attention_probs": "attention_probs"})},
	{name: "tacred", dir: "tacred", task: models.TaskTACRED, task_: "pytorch_model", fusion: "concat",
		refs: with(robertaRefs, map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output",
			"lin_adapter_output": "lin_adapter_output", "fac_features": "fac_features", "lin_features": "lin_features",
			"task_features": "task_features", "subj_output": "subj_output", "obj_output": "obj_output"}),
		positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{name: "tacred_add_fac", dir: "tacred_add_fac", task: models.TaskTACRED, task_: "pytorch_model", fusion: "add",
		refs:      map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output", "task_features": "task_features"},
		positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{name: "openentity", dir: "openentity", task: models.TaskOpenEntity, task_: "pytorch_model", fusion: "concat",
		refs: with(robertaRefs, map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output",
			"lin_adapter_output": "lin_adapter_output", "task_features": "task_features", "entity_output": "entity_output"}),
		positions: map[string]string{"entity_pos": "start_id"}},
	{name: "figer", dir: "figer", task: models.TaskFIGER, task_: "pytorch_task_model", fusion: "concat",
		refs:      map[string]string{"logits": "logits"},
		positions: map[string]string{"entity_pos": "start_id"}},
	{name: "cosmosqa", dir: "cosmosqa", task: models.TaskCosmosQA, task_: "pytorch_model", fusion: "concat", a: 1, b: 1,
		refs: with(robertaRefs, map[string]string{"logits": "logits", "fac_adapter_chain_output": "fac_adapter_chain_output",
			"fac_adapter_model_output": "fac_adapter_model_output", "lin_adapter_model_output": "lin_adapter_model_output",
			"task_features": "task_features"})},
	{name: "cosmosqa_rates", dir: "cosmosqa_rates", task: models.TaskCosmosQA, task_: "pytorch_model", fusion: "concat", a: 0.25, b: 0.75,
		refs: with(robertaRefs, map[string]string{"logits": "logits", "fac_adapter_chain_output": "fac_adapter_chain_output",
			"fac_adapter_model_output": "fac_adapter_model_output", "lin_adapter_model_output": "lin_adapter_model_output",
			"task_features": "task_features"})},
	{name: "roberta_with_adapter_fac_only", dir: "roberta_with_adapter_fac_only", task: models.TaskFeatures, task_: "pytorch_model",
		fusion: "concat", refs: map[string]string{"task_features": "features"}},
	{name: "roberta_with_adapter_fac_lin", dir: "roberta_with_adapter_fac_lin", task: models.TaskFeatures, task_: "pytorch_model",
		fusion: "concat", refs: map[string]string{"task_features": "features"}},
	{name: "adapter_skip_layers/skip0", dir: "adapter_skip_layers", task: models.TaskFeatures, fac: true, fusion: "add", skip: 0,
		refs: map[string]string{"fac_adapter_output_skip0": "fac_adapter_output"}},
	{name: "adapter_skip_layers/skip2", dir: "adapter_skip_layers", task: models.TaskFeatures, fac: true, fusion: "add", skip: 2,
		refs: map[string]string{"fac_adapter_output_skip2": "fac_adapter_output"}},
	{name: "adapter_skip_layers/skip3", dir: "adapter_skip_layers", task: models.TaskFeatures, fac: true, fusion: "add", skip: 3,
		refs: map[string]string{"fac_adapter_output_skip3": "fac_adapter_output"}},
}

// requireORT loads ONNX Runtime the way the runtime does (krt.Init:
// $ONNXRUNTIME_LIB, else the cache scripts/fetch-onnxruntime.sh fills, else
// the system). A library that is named but does not load fails the test;
// none found skips it, naming the script (fails under CI=true).
func requireORT(t *testing.T) {
	t.Helper()
	if err := krt.Init(); err != nil {
		if os.Getenv(krt.LibraryEnv) != "" {
			t.Fatalf("loading ONNX Runtime: %v", err)
		}
		testshared.Missing(t, "no ONNX Runtime library found (export %s=$(scripts/fetch-onnxruntime.sh) to run the ONNX Runtime checks): %v", krt.LibraryEnv, err)
	}
}

// tinySpec is the adapter configuration of kadapter-tiny (manifest.json).
func tinySpec(c fixtureCase, cfg models.RobertaConfig) models.Spec {
	return models.Spec{
		Task: c.task, Roberta: cfg, Fusion: c.fusion, ARate: c.a, BRate: c.b,
		Adapter: models.AdapterConfig{List: []int{0, 1, 3}, Heads: 4, SkipLayers: c.skip},
	}
}

// sources picks the legacy (.bin) or zip (.zip.bin) files of a case.
func sources(root string, c fixtureCase, format string) models.Sources {
	ext := ".bin"
	if format == "zip" {
		ext = ".zip.bin"
	}
	s := models.Sources{Roberta: filepath.Join(root, "roberta", "pytorch_model"+ext)}
	if c.task_ != "" {
		s.TaskModel = filepath.Join(root, c.dir, c.task_+ext)
	}
	if c.fac {
		s.Fac = filepath.Join(root, "fac-adapter", "pytorch_model"+ext)
	}
	if c.lin {
		s.Lin = filepath.Join(root, "lin-adapter", "pytorch_model"+ext)
	}
	return s
}

func TestFixtures(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	requireORT(t)
	for _, c := range fixtureCases {
		for _, format := range []string{"legacy", "zip"} {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				runFixture(t, root, c, format, false, krt.OptAll, withExposed)
			})
		}
	}
	// Without exposed intermediates the marker-position heads run their
	// last layers on the marker rows only: the logits must not change.
	for _, c := range fixtureCases {
		if len(c.positions) > 0 || c.task == models.TaskCosmosQA {
			t.Run(c.name+"/marker_rows", func(t *testing.T) {
				runFixture(t, root, c, "legacy", false, krt.OptAll, withMarkerRows)
			})
		}
	}
	// The external-data layout (used above 2 GB) must load and give the
	// same numbers.
	t.Run("tacred/external_data", func(t *testing.T) {
		runFixture(t, root, caseNamed(t, "tacred"), "legacy", true, krt.OptAll, withExposed)
	})
	// The numbers must not depend on ONNX Runtime's fusions.
	t.Run("cosmosqa/no_graph_optimization", func(t *testing.T) {
		runFixture(t, root, caseNamed(t, "cosmosqa"), "legacy", false, krt.OptDisable, withExposed)
	})
}

func caseNamed(t *testing.T, name string) fixtureCase {
	for _, c := range fixtureCases {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no fixture case %s", name)
	return fixtureCase{}
}

// The graph variants runFixture builds.
const (
	// withExposed adds every referenced intermediate as an output (and so
	// keeps all positions).
	withExposed = iota
	// withMarkerRows exposes nothing and checks the main output only: the
	// pruned graph of the marker-position heads.
	withMarkerRows
)

func runFixture(t *testing.T, root string, c fixtureCase, format string, external bool, opt krt.OptLevel, variant int) {
	src := sources(root, c, format)
	w, cfg, err := models.LoadWeights(c.task, src)
	if err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(c, cfg)
	main := "logits"
	if c.task == models.TaskFeatures {
		main = "features"
	}
	refs := c.refs
	if variant == withMarkerRows {
		refs = map[string]string{}
		for ref, out := range c.refs {
			if out == main {
				refs[ref] = out
			}
		}
		if len(refs) == 0 {
			t.Fatalf("case %s has no reference for %s", c.name, main)
		}
	}
	for _, out := range sortedValues(refs) {
		if out != main {
			spec.Expose = append(spec.Expose, out)
		}
	}
	g, _, err := models.Build(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-test"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	res, err := graph.Save(path, m, graph.SaveOptions{ExternalData: external})
	if err != nil {
		t.Fatal(err)
	}
	if external && (res.DataFile != path+".data" || res.DataBytes == 0 || res.ModelBytes > res.InitializerBytes/4) {
		t.Fatalf("external data not used: %+v", res)
	}
	sess, err := krt.Open(path, krt.Options{IntraOpThreads: 1, Optimization: opt})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	inDir := filepath.Join(root, c.dir, "inputs")
	inputs := map[string]krt.Tensor{}
	for _, name := range []string{"input_ids", "attention_mask"} {
		a := readNpy(t, filepath.Join(inDir, name+".npy"))
		inputs[name] = krt.Tensor{Shape: shape64(a.Shape), Data: a.AsInt64()}
	}
	for in, file := range c.positions {
		inputs[in] = oneHotToIndex(t, readNpy(t, filepath.Join(inDir, file+".npy")))
	}
	outs, err := sess.Run(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if variant == withMarkerRows && len(outs) != 1 {
		t.Fatalf("pruned graph has outputs %v, want only %s", len(outs), main)
	}
	for ref, out := range refs {
		want := readNpy(t, filepath.Join(root, c.dir, "ref_float64", ref+".npy"))
		got, ok := outs[out]
		if !ok {
			t.Fatalf("output %s missing", out)
		}
		compare(t, fmt.Sprintf("%s vs ref %s", out, ref), got, want)
	}
}

func sortedValues(m map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if v := m[k]; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func readNpy(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func shape64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// oneHotToIndex turns the original's one-hot float marker rows [B,L] into
// the int64 [B] positions the graph takes, checking each row has exactly
// one 1.
func oneHotToIndex(t *testing.T, a *npy.Array) krt.Tensor {
	t.Helper()
	if len(a.Shape) != 2 {
		t.Fatalf("one-hot marker array has shape %v", a.Shape)
	}
	v := a.AsFloat64()
	b, l := a.Shape[0], a.Shape[1]
	idx := make([]int64, b)
	for i := 0; i < b; i++ {
		n := 0
		for j := 0; j < l; j++ {
			switch v[i*l+j] {
			case 1:
				idx[i] = int64(j)
				n++
			case 0:
			default:
				t.Fatalf("row %d of the marker array is not one-hot", i)
			}
		}
		if n != 1 {
			t.Fatalf("row %d of the marker array has %d ones", i, n)
		}
	}
	return krt.Tensor{Shape: []int64{int64(b)}, Data: idx}
}

// compare checks shape equality and max |got - want| ≤ tolerance.
func compare(t *testing.T, what string, got krt.Tensor, want *npy.Array) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape64(want.Shape)) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, want.Shape)
		return
	}
	g, ok := got.Data.([]float32)
	if !ok {
		t.Errorf("%s: output type %T, want []float32", what, got.Data)
		return
	}
	w := want.AsFloat64()
	worst, at := 0.0, 0
	for i := range w {
		d := math.Abs(float64(g[i]) - w[i])
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tolerance || math.IsNaN(worst) {
		t.Errorf("%s: max abs diff %.3g at flat index %d (got %v, want %v), tolerance %g", what, worst, at, g[at], w[at], tolerance)
	} else {
		t.Logf("%s: max abs diff %.3g", what, worst)
	}
}

// manifest reads a value of manifest.json (used to keep a/b rates honest).
func manifest(t *testing.T, root string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFixtureSettingsMatchManifest checks the table's adapter settings and
// CosmosQA rates against manifest.json, so the table cannot drift.
func TestFixtureSettingsMatchManifest(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	m := manifest(t, root)
	ad := m["adapter"].(map[string]any)
	if fmt.Sprint(ad["adapter_list"]) != "[0 1 3]" || ad["adapter_heads"].(float64) != 4 {
		t.Fatalf("manifest adapter settings changed: %v", ad)
	}
	arts := m["artifacts"].(map[string]any)
	for _, c := range fixtureCases {
		if c.task != models.TaskCosmosQA {
			continue
		}
		a := arts[c.dir].(map[string]any)
		if a["a_rate"].(float64) != c.a || a["b_rate"].(float64) != c.b {
			t.Errorf("%s: table rates %v/%v, manifest %v/%v", c.name, c.a, c.b, a["a_rate"], a["b_rate"])
		}
	}
}
