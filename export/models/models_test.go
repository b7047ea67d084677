package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/testshared"
)

func encode(t *testing.T, g *graph.Graph) []byte {
	t.Helper()
	m, err := g.Model(graph.ModelInfo{ProducerName: "t"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tinyAdapter() models.AdapterConfig {
	return models.AdapterConfig{List: []int{0, 1, 3}, Heads: 4}
}

// TestRobertaPrefixes loads the same RoBERTa under the prefixes roberta.
// (hub file), model. and none, and checks the exported graphs are
// byte-identical.
func TestRobertaPrefixes(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	c, err := checkpoint.Open(filepath.Join(root, "roberta", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(root, "roberta", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]byte
	for _, prefix := range []string{"roberta.", "model.", ""} {
		sub := filepath.Join(dir, "p"+strings.TrimSuffix(prefix, "."))
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, "config.json"), cfg, 0o644)
		var ts []*checkpoint.Tensor
		for _, tn := range c.Ordered() {
			if rest, ok := strings.CutPrefix(tn.Name, "roberta."); ok {
				cp := *tn
				cp.Name = prefix + rest
				ts = append(ts, &cp)
			}
		}
		if err := checkpoint.WriteSafetensors(filepath.Join(sub, "model.safetensors"), ts, nil); err != nil {
			t.Fatal(err)
		}
		w, rc, err := models.LoadWeights(models.TaskFeatures, models.Sources{Roberta: sub,
			Fac: filepath.Join(root, "fac-adapter", "pytorch_model.bin")})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		g, _, err := models.Build(models.Spec{Task: models.TaskFeatures, Roberta: rc, Fusion: "add", Adapter: tinyAdapter()}, w)
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		outs = append(outs, encode(t, g))
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Equal(outs[0], outs[2]) {
		t.Fatal("graphs differ between RoBERTa key prefixes")
	}
}

func TestBuildRejects(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	tacred := models.Sources{Roberta: filepath.Join(root, "roberta"), TaskModel: filepath.Join(root, "tacred", "pytorch_model.bin")}
	cases := []struct {
		name string
		task models.Task
		src  models.Sources
		edit func(*models.Spec)
		want string
	}{
		{"skip 1", models.TaskTACRED, tacred, func(s *models.Spec) { s.Adapter.SkipLayers = 1 }, "IndexError"},
		{"tap past last layer", models.TaskTACRED, tacred, func(s *models.Spec) { s.Adapter.List = []int{0, 1, 5} }, "outside"},
		{"list length", models.TaskTACRED, tacred, func(s *models.Spec) { s.Adapter.List = []int{0, 1} }, "3 adapters"},
		{"heads", models.TaskTACRED, tacred, func(s *models.Spec) { s.Adapter.Heads = 3 }, "not a multiple"},
		{"fusion", models.TaskTACRED, tacred, func(s *models.Spec) { s.Fusion = "max" }, "want concat or add"},
		{"expose", models.TaskTACRED, tacred, func(s *models.Spec) { s.Expose = []string{"nope"} }, "available:"},
		{"pretrain needs its adapter", models.TaskPretrainLin, models.Sources{Roberta: filepath.Join(root, "roberta"),
			Fac: filepath.Join(root, "fac-adapter", "pytorch_model.bin")}, nil, "lin adapter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, cfg, err := models.LoadWeights(c.task, c.src)
			if err == nil {
				spec := models.Spec{Task: c.task, Roberta: cfg, Adapter: tinyAdapter()}
				if c.edit != nil {
					c.edit(&spec)
				}
				_, _, err = models.Build(spec, w)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestInterfaces pins each task's inputs and main output.
func TestInterfaces(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	rob := filepath.Join(root, "roberta")
	cases := []struct {
		task   models.Task
		src    models.Sources
		fusion string
		in     string
		out    string
	}{
		{models.TaskPretrainFac, models.Sources{Roberta: rob, Fac: filepath.Join(root, "fac-adapter", "pytorch_model.bin")}, "",
			"input_ids[batch,seq] attention_mask[batch,seq] subj_pos[batch] obj_pos[batch]", "logits[batch,410]"},
		{models.TaskPretrainLin, models.Sources{Roberta: rob, Lin: filepath.Join(root, "lin-adapter", "pytorch_model.bin")}, "",
			"input_ids[batch,seq] attention_mask[batch,seq]", "logits[batch,seq,24]"},
		{models.TaskTACRED, models.Sources{Roberta: rob, TaskModel: filepath.Join(root, "tacred", "pytorch_model.bin")}, "concat",
			"input_ids[batch,seq] attention_mask[batch,seq] subj_pos[batch] obj_pos[batch]", "logits[batch,42]"},
		{models.TaskOpenEntity, models.Sources{Roberta: rob, TaskModel: filepath.Join(root, "openentity", "pytorch_model.bin")}, "concat",
			"input_ids[batch,seq] attention_mask[batch,seq] entity_pos[batch]", "logits[batch,9]"},
		{models.TaskFIGER, models.Sources{Roberta: rob, TaskModel: filepath.Join(root, "figer", "pytorch_task_model.bin")}, "concat",
			"input_ids[batch,seq] attention_mask[batch,seq] entity_pos[batch]", "logits[batch,13]"},
		{models.TaskCosmosQA, models.Sources{Roberta: rob, TaskModel: filepath.Join(root, "cosmosqa", "pytorch_model.bin")}, "concat",
			"input_ids[batch,4,seq] attention_mask[batch,4,seq]", "logits[batch,4]"},
		{models.TaskFeatures, models.Sources{Roberta: rob, TaskModel: filepath.Join(root, "roberta_with_adapter_fac_lin", "pytorch_model.bin")}, "concat",
			"input_ids[batch,seq] attention_mask[batch,seq]", "features[batch,seq,64]"},
	}
	for _, c := range cases {
		t.Run(string(c.task), func(t *testing.T) {
			w, cfg, err := models.LoadWeights(c.task, c.src)
			if err != nil {
				t.Fatal(err)
			}
			_, iface, err := models.Build(models.Spec{Task: c.task, Roberta: cfg, Adapter: tinyAdapter(), Fusion: c.fusion, ARate: 1, BRate: 1}, w)
			if err != nil {
				t.Fatal(err)
			}
			var in []string
			for _, v := range iface.Inputs {
				if v.DType != "int64" {
					t.Errorf("input %s is %s", v.Name, v.DType)
				}
				in = append(in, v.Name+v.Shape)
			}
			if got := strings.Join(in, " "); got != c.in {
				t.Errorf("inputs %s, want %s", got, c.in)
			}
			if got := iface.Outputs[0].Name + iface.Outputs[0].Shape; got != c.out || iface.Outputs[0].DType != "float32" {
				t.Errorf("output %s, want %s", got, c.out)
			}
		})
	}
}

// TestAdapterFileStrict checks quirk 10: an adapter file with a key that
// is neither adapter.* nor a known pre-training head key is rejected,
// naming the file and the key.
func TestAdapterFileStrict(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	c, err := checkpoint.Open(filepath.Join(root, "fac-adapter", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ts := c.Ordered()
	extra := *ts[0]
	extra.Name = "classifier.weight"
	path := filepath.Join(t.TempDir(), "fac.safetensors")
	if err := checkpoint.WriteSafetensors(path, append(ts, &extra), nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = models.LoadWeights(models.TaskFeatures, models.Sources{Roberta: filepath.Join(root, "roberta"), Fac: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "classifier.weight") {
		t.Fatalf("error %v", err)
	}
}

// TestLoadChecks covers what LoadWeights checks before any graph is built:
// K-Adapter's checkpoint-folder layout (RoBERTa as model.* in
// pytorch_pretrained_model.bin beside the task's pytorch_model.bin),
// adapter shapes against config.json's hidden size, and config.json
// against the weights.
func TestLoadChecks(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	rob := filepath.Join(root, "roberta")
	c, err := checkpoint.Open(filepath.Join(rob, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(rob, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// A task folder: pytorch_model.bin is the task model, RoBERTa is found
	// in pytorch_pretrained_model.bin.
	folder := filepath.Join(dir, "task")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "config.json"), cfg, 0o644)
	task, err := os.ReadFile(filepath.Join(root, "tacred", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(folder, "pytorch_model.bin"), task, 0o644)
	var pre []*checkpoint.Tensor
	for _, tn := range c.Ordered() {
		if rest, ok := strings.CutPrefix(tn.Name, "roberta."); ok {
			cp := *tn
			cp.Name = "model." + rest
			pre = append(pre, &cp)
		}
	}
	if err := checkpoint.WriteTorch(filepath.Join(folder, "pytorch_pretrained_model.bin"), checkpoint.FormatTorchLegacy, pre); err != nil {
		t.Fatal(err)
	}
	w, _, err := models.LoadWeights(models.TaskTACRED, models.Sources{Roberta: folder, TaskModel: filepath.Join(folder, "pytorch_model.bin")})
	if err != nil {
		t.Fatalf("task folder layout: %v", err)
	}
	if !w.Has("roberta.encoder.layer.3.output.LayerNorm.bias") || !w.Has("out_proj.weight") {
		t.Fatalf("task folder layout: keys %v", w.Keys())
	}

	// A mis-shaped adapter key fails at load time, naming file and key.
	a, err := checkpoint.Open(filepath.Join(root, "fac-adapter", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const bad = "adapter.1.up_project.weight"
	var ts []*checkpoint.Tensor
	for _, tn := range a.Ordered() {
		if tn.Name == bad {
			cp := *tn
			cp.Shape = []int{tn.Shape[1], tn.Shape[0]}
			tn = &cp
		}
		ts = append(ts, tn)
	}
	fac := filepath.Join(dir, "fac.safetensors")
	if err := checkpoint.WriteSafetensors(fac, ts, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = models.LoadWeights(models.TaskFeatures, models.Sources{Roberta: rob, Fac: fac})
	if !errors.Is(err, checkpoint.ErrShape) || !strings.Contains(err.Error(), fac) || !strings.Contains(err.Error(), bad) {
		t.Errorf("mis-shaped adapter key: %v", err)
	}

	// config.json must agree with the weights (one layer fewer would
	// otherwise drop a layer silently).
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatal(err)
	}
	m["num_hidden_layers"] = m["num_hidden_layers"].(float64) - 1
	short, _ := json.Marshal(m)
	folder = filepath.Join(dir, "short")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "config.json"), short, 0o644)
	if err := checkpoint.WriteTorch(filepath.Join(folder, "pytorch_model.bin"), checkpoint.FormatTorchLegacy, c.Ordered()); err != nil {
		t.Fatal(err)
	}
	_, _, err = models.LoadWeights(models.TaskFeatures, models.Sources{Roberta: folder, Fac: filepath.Join(root, "fac-adapter", "pytorch_model.bin")})
	if !errors.Is(err, checkpoint.ErrShape) || !strings.Contains(err.Error(), "num_hidden_layers") {
		t.Errorf("config.json with one layer fewer: %v", err)
	}
}
