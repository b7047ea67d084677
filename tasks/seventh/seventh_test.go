// Package seventh_test proves that a task is one file: task_test.go
// defines a seventh task with tasks.Register alone, and this test trains
// it with package train (from its raw records, through the registered
// converter), exports its graph with export/models and scores it with
// package evaluate on ONNX Runtime.
package seventh_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/evaluate"
	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/testshared"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train"
)

const hidden = 16

var adapterList = []int{0, 1}

// tinyModel writes a random two-layer RoBERTa (config.json and
// pytorch_model.bin) for the vocabulary at vocab, and a random fac adapter
// file, as krun init does; it returns the RoBERTa folder and the adapter
// file.
func tinyModel(t *testing.T, vocab string) (string, string) {
	t.Helper()
	tok, err := features.LoadTokenizer(vocab)
	if err != nil {
		t.Fatal(err)
	}
	n := tok.(interface{ VocabSize() int }).VocabSize()
	dir := t.TempDir()
	cfg := map[string]any{"architectures": []string{"RobertaModel"}, "model_type": "roberta",
		"vocab_size": n, "hidden_size": hidden, "num_hidden_layers": 2, "num_attention_heads": 2,
		"intermediate_size": 32, "max_position_embeddings": 64, "type_vocab_size": 1,
		"layer_norm_eps": 1e-5, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
		"attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": 1,
		"bos_token_id": 0, "eos_token_id": 2}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := models.RobertaConfig{VocabSize: n, HiddenSize: hidden, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 32, MaxPositionEmbeddings: 64, TypeVocabSize: 1, LayerNormEps: 1e-5, HiddenAct: "gelu"}
	if err := checkpoint.WriteTorch(filepath.Join(dir, "pytorch_model.bin"), checkpoint.FormatTorchLegacy, train.NewRoberta(c, 1)); err != nil {
		t.Fatal(err)
	}
	fac, err := tasks.Pretraining("fac")
	if err != nil {
		t.Fatal(err)
	}
	w := models.NewWeights()
	made, err := train.InitMissing(fac, w, hidden, train.InitSpec{AdapterList: adapterList, AdapterSize: 8,
		AdapterLayers: 1, AdapterIntermediate: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ts []*checkpoint.Tensor
	for _, k := range made {
		x := w.Get(k)
		ts = append(ts, &checkpoint.Tensor{Name: strings.TrimPrefix(k, "fac_adapter."), Shape: x.Shape, DType: checkpoint.Float32, Data: x.Data})
	}
	adapter := filepath.Join(dir, "fac-adapter.bin")
	if err := checkpoint.WriteTorch(adapter, checkpoint.FormatTorchLegacy, ts); err != nil {
		t.Fatal(err)
	}
	return dir, adapter
}

// records writes n TACRED records labelled with the task's relations.
func records(t *testing.T, n int) string {
	t.Helper()
	sents := [][]string{
		{"John", "Smith", "is", "the", "president", "of", "Acme", "."},
		{"Acme", "was", "founded", "by", "Mary", "Jones", "in", "1990", "."},
		{"Paris", "and", "London", "are", "large", "cities", "."},
	}
	var recs []map[string]any
	for i := range n {
		k := i % len(relationLabels)
		s := sents[k]
		recs = append(recs, map[string]any{"id": i, "token": s, "subj_start": 0, "subj_end": 0,
			"obj_start": len(s) - 2, "obj_end": len(s) - 2, "relation": relationLabels[k]})
	}
	b, _ := json.Marshal(recs)
	p := filepath.Join(t.TempDir(), "train.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tensors(t *testing.T, path string) map[string]*checkpoint.Tensor {
	t.Helper()
	ts, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestSeventhTask(t *testing.T) {
	if err := krt.Init(); err != nil {
		t.Skipf("no ONNX Runtime library (export %s=$(%s)): %v", krt.LibraryEnv, krt.FetchScript, err)
	}
	def, err := tasks.Get(string(relationCls))
	if err != nil {
		t.Fatal(err)
	}
	// Every listing knows the task from its one registration.
	name := string(relationCls)
	for _, c := range []struct {
		where string
		names []string
	}{{"models.TaskNames", models.TaskNames()}, {"features.Tasks", features.Tasks()},
		{"evaluate.TaskNames", evaluate.TaskNames()}, {"tasks.Names", tasks.Names()}} {
		if !slices.Contains(c.names, name) {
			t.Errorf("%s: %v lacks %s", c.where, c.names, name)
		}
	}
	if got := features.DefaultMaxSeqLength(name); got != 32 {
		t.Errorf("DefaultMaxSeqLength = %d, want the registered 32", got)
	}
	if _, err := features.Schema(name); err != nil {
		t.Errorf("Schema: %v", err)
	}
	vocab := testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
	roberta, fac := tinyModel(t, vocab)
	data := records(t, 12)

	// Train: three updates from the raw records, scored on them at the end.
	var losses []float64
	res, err := train.Train(context.Background(), train.Options{
		Task: string(relationCls), Sources: models.Sources{Roberta: roberta, Fac: fac},
		Fusion: "concat", AdapterList: adapterList, AdapterHeads: 2,
		Data: data, Dev: data, Out: t.TempDir(), Hyper: def.Defaults, Dropout: -1, Seed: 3,
		Loop: train.LoopStandard, Session: krt.Options{IntraOpThreads: 1}, Vocab: vocab,
	}, train.Observer{Update: func(u train.UpdateLog) error {
		losses = append(losses, u.Loss)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != def.Defaults.MaxSteps {
		t.Fatalf("%d updates, want %d", len(losses), def.Defaults.MaxSteps)
	}
	for i, l := range losses {
		if math.IsNaN(l) || math.IsInf(l, 0) || l <= 0 {
			t.Fatalf("update %d: loss %v", i+1, l)
		}
	}
	for _, k := range []string{"task_dense_fac.weight", "dense.weight", "out_proj.weight", "out_proj.bias"} {
		if !slices.Contains(res.Initialized, k) || !slices.Contains(res.Trained, k) {
			t.Errorf("%s: initialized %v, trained %v; want both", k, slices.Contains(res.Initialized, k), slices.Contains(res.Trained, k))
		}
	}
	if acc, ok := res.Dev["accuracy"]; !ok || acc < 0 || acc > 1 {
		t.Fatalf("dev metrics %v: want an accuracy in [0,1]", res.Dev)
	}

	// Trained modules moved, frozen ones (the adapters) did not.
	start := tensors(t, filepath.Join(roberta, "pytorch_model.bin"))
	adapters := tensors(t, fac)
	task := tensors(t, filepath.Join(res.Checkpoint, "pytorch_model.bin"))
	base := tensors(t, filepath.Join(res.Checkpoint, "pytorch_pretrained_model.bin"))
	for _, c := range []struct {
		name     string
		before   *checkpoint.Tensor
		after    *checkpoint.Tensor
		changed  bool
		location string
	}{
		{"RoBERTa query weight", start["roberta.encoder.layer.0.attention.self.query.weight"], base["model.encoder.layer.0.attention.self.query.weight"], true, "pytorch_pretrained_model.bin"},
		{"adapter down projection", adapters["adapter.0.down_project.weight"], task["fac_adapter.adapter.0.down_project.weight"], false, "pytorch_model.bin"},
	} {
		if c.before == nil || c.after == nil {
			t.Fatalf("%s: missing (%s)", c.name, c.location)
		}
		if got := !slices.Equal(c.before.Data, c.after.Data); got != c.changed {
			t.Errorf("%s changed = %v, want %v", c.name, got, c.changed)
		}
	}
	init := models.NewWeights()
	if err := init.SetAll(fac, map[string]*checkpoint.Tensor{"fac_adapter.adapter.0.down_project.weight": adapters["adapter.0.down_project.weight"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := train.InitMissing(def, init, hidden, train.InitSpec{Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(init.Get("out_proj.weight").Data, task["out_proj.weight"].Data) {
		t.Error("out_proj.weight is still its initial value")
	}

	// Export the checkpoint as krun export does and score it with ONNX
	// Runtime as krun eval does: the same data, the same weights, so the
	// same accuracy and loss as training's final dev pass.
	w, cfg, err := models.LoadWeights(relationCls, models.Sources{Roberta: res.Checkpoint, TaskModel: filepath.Join(res.Checkpoint, "pytorch_model.bin")})
	if err != nil {
		t.Fatal(err)
	}
	g, iface, err := models.Build(models.Spec{Task: relationCls, Roberta: cfg, Fusion: "concat",
		Adapter: models.AdapterConfig{List: adapterList, Heads: 2}}, w)
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, in := range iface.Inputs {
		ins = append(ins, in.Name)
	}
	if !slices.Equal(ins, []string{"input_ids", "attention_mask"}) || iface.Outputs[0].Shape != "[batch,3]" {
		t.Fatalf("interface: inputs %v, logits %s; want input_ids, attention_mask and [batch,3]", ins, iface.Outputs[0].Shape)
	}
	m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter"})
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "model.onnx")
	if _, err := graph.Save(model, m, graph.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	sess, err := krt.Open(model, krt.Options{Outputs: []string{"logits"}, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	got, err := evaluate.Score(context.Background(), sess, string(relationCls), data, vocab, evaluate.Options{BatchSize: 8}) // krun train's dev batch: max(batch size, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "accuracy" || got.Value != res.Dev["accuracy"] {
		t.Errorf("eval %s = %v, training's dev accuracy %v", got.Name, got.Value, res.Dev["accuracy"])
	}
	if d := math.Abs(got.Values["loss"] - res.Dev["loss"]); d > 1e-4 {
		t.Errorf("eval loss %v, training's dev loss %v", got.Values["loss"], res.Dev["loss"])
	}
}
