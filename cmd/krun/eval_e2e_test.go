package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/evaluate"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	krt "github.com/kadapter/kadapter/runtime"
)

// rtEndToEnd is preprocessing_reference.json's "end_to_end" part: the
// original converters' features of the edge-case records run through the
// saved kadapter-tiny task models by the original PyTorch code (float32).
type rtEndToEnd struct {
	CaseIDs []string    `json:"case_ids"`
	Logits  [][]float64 `json:"logits"`
	ARate   float64     `json:"a_rate"`
	BRate   float64     `json:"b_rate"`
}

// rtE2ETolerance: the reference logits come from float32 torch (the fixture
// allows atol ~1e-4), but the fixture README's 1e-5 is what the float32
// graph meets against ref_float64 and what separates the quirks (LayerNorm
// eps moves logits by ~2.5e-5); measured here: under 3e-6.
const rtE2ETolerance = 1e-5

// rtExportFixture builds the fixture folder's task graph with the graph
// helper's exporter API and saves it.
func rtExportFixture(t testing.TB, root, dir, taskFile string, task models.Task, a, b float64) string {
	t.Helper()
	src := models.Sources{
		Roberta:   filepath.Join(root, "roberta", "pytorch_model.bin"),
		TaskModel: filepath.Join(root, dir, taskFile),
	}
	w, cfg, err := models.LoadWeights(task, src)
	if err != nil {
		t.Fatal(err)
	}
	spec := models.Spec{Task: task, Roberta: cfg, Fusion: "concat", ARate: a, BRate: b,
		Adapter: models.AdapterConfig{List: []int{0, 1, 3}, Heads: 4}}
	g, _, err := models.Build(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-test"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), dir+".onnx")
	if _, err := graph.Save(path, m, graph.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEvalEndToEndFixtures exports the tacred, openentity and cosmosqa
// fixture models, runs krun eval on the fixture's raw records (through the
// Go tokenizer and feature builders), and compares every example's logits
// with the original code's end-to-end logits. It also checks that dynamic
// padding changes adapter logits (why fixed padding is the default).
func TestEvalEndToEndFixtures(t *testing.T) {
	rtRequireORT(t)
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	b, err := os.ReadFile(filepath.Join(root, "preprocessing", "preprocessing_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		EndToEnd map[string]json.RawMessage `json:"end_to_end"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		task, dir, file string
		mtask           models.Task
		lines           bool
	}{
		{"tacred", "tacred", "pytorch_model.bin", models.TaskTACRED, false},
		{"openentity", "openentity", "pytorch_model.bin", models.TaskOpenEntity, false},
		{"cosmosqa", "cosmosqa", "pytorch_model.bin", models.TaskCosmosQA, true},
	}
	for _, c := range cases {
		t.Run(c.task, func(t *testing.T) {
			var ref rtEndToEnd
			if err := json.Unmarshal(all.EndToEnd[c.task], &ref); err != nil {
				t.Fatalf("end_to_end.%s: %v", c.task, err)
			}
			if len(ref.CaseIDs) == 0 {
				t.Fatalf("no end_to_end reference for %s", c.task)
			}
			pre, vocab := rtLoadRefTask(t, c.task)
			data := rtWriteRecords(t, pre.Cases, c.lines)
			model := rtExportFixture(t, root, c.dir, c.file, c.mtask, ref.ARate, ref.BRate)
			run := func(padding string) map[string][]float64 {
				preds := filepath.Join(t.TempDir(), "p.jsonl")
				code, _, stderr := rtRun(t, context.Background(), "", "eval", "--task", c.task, "--model", model,
					"--data", data, "--vocab", vocab, "--max-seq-length", rtItoa(pre.MaxSeqLength), "--batch-size", "2",
					"--padding", padding, "--predictions", preds, "--threads", "1", "--quiet")
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", padding, code, stderr)
				}
				out := map[string][]float64{}
				for _, l := range rtReadPredictions(t, preds) {
					var id string
					var lg []float64
					json.Unmarshal(l["id"], &id)
					json.Unmarshal(l["logits"], &lg)
					out[id] = lg
				}
				return out
			}
			fixed := run("fixed")
			if len(fixed) != len(ref.CaseIDs) {
				t.Fatalf("%d predictions, reference has %d cases %v", len(fixed), len(ref.CaseIDs), ref.CaseIDs)
			}
			worst := 0.0
			for i, id := range ref.CaseIDs {
				got, ok := fixed[id]
				if !ok || len(got) != len(ref.Logits[i]) {
					t.Fatalf("case %s: logits %v", id, got)
				}
				for j := range got {
					worst = math.Max(worst, math.Abs(got[j]-ref.Logits[i][j]))
				}
			}
			if worst > rtE2ETolerance {
				t.Errorf("fixed padding: max |logit - original| = %.3g > %g", worst, rtE2ETolerance)
			}
			t.Logf("fixed padding: max |logit - original| = %.3g over %d examples", worst, len(ref.CaseIDs))
			dyn := run("dynamic")
			moved := 0.0
			for i, id := range ref.CaseIDs {
				for j, v := range dyn[id] {
					moved = math.Max(moved, math.Abs(v-ref.Logits[i][j]))
				}
			}
			t.Logf("dynamic padding: max |logit - original| = %.3g", moved)
			if moved < 1e-3 {
				t.Errorf("dynamic padding matches the original to %.3g: adapters should see the padding", moved)
			}
		})
	}
}

// BenchmarkEvalPadding measures krun eval's inference path (feature rows
// through RunRows on one reused session) on the exported kadapter-tiny
// TACRED model with the original max_seq_length 184: fixed padding (the
// original's numbers) against length-sorted dynamic padding. The fixture's
// 8 records are repeated to 256 examples.
//
//	go test ./cmd/krun -run '^$' -bench EvalPadding -benchtime 5x
func BenchmarkEvalPadding(b *testing.B) {
	if err := krt.Init(); err != nil {
		b.Skipf("ONNX Runtime: %v", err)
	}
	root := testshared.Path(b, "fixtures", "kadapter-tiny")
	ref, vocab := rtLoadRefTask(b, "tacred")
	tok, err := features.LoadTokenizer(vocab)
	if err != nil {
		b.Fatal(err)
	}
	conv, err := features.NewConverter(tok, features.Config{Task: "tacred", MaxSeqLength: 184, NegativeSample: -1})
	if err != nil {
		b.Fatal(err)
	}
	task, err := evaluate.NewTask("tacred", "", "", false, evaluate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var rows []krt.Row
	for len(rows) < 256 {
		for i, c := range ref.Cases {
			var buf bytes.Buffer
			json.Compact(&buf, c.Input)
			res := conv.Convert(i, buf.Bytes())
			if res.Err == nil && len(rows) < 256 {
				rows = append(rows, task.Row(&res.Example))
			}
		}
	}
	model := rtExportFixture(b, root, "tacred", "pytorch_model.bin", models.TaskTACRED, 0, 0)
	sess, err := krt.Open(model, krt.Options{Outputs: []string{"logits"}, IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	for _, p := range []krt.Padding{krt.PadFixed, krt.PadDynamic} {
		b.Run(p.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := sess.RunRows(context.Background(), rows, krt.BatchOptions{BatchSize: 32, Padding: p, MaxLen: 184, PadID: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}

// TestInferFixtureFromOutside checks a kadapter-tiny folder the way a user
// would from outside: krun infer on the fixture's own inputs folder (its
// one-hot marker files mapped with --input) must reproduce ref_float64's
// logits within 1e-5.
func TestInferFixtureFromOutside(t *testing.T) {
	rtRequireORT(t)
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	for _, c := range []struct {
		dir   string
		task  models.Task
		remap []string
	}{
		{"tacred", models.TaskTACRED, []string{"subj_pos=subj_special_start_id", "obj_pos=obj_special_start_id"}},
		{"openentity", models.TaskOpenEntity, []string{"entity_pos=start_id"}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			model := rtExportFixture(t, root, c.dir, "pytorch_model.bin", c.task, 0, 0)
			in := filepath.Join(root, c.dir, "inputs")
			out := t.TempDir()
			args := []string{"infer", "--model", model, "--inputs", in, "--outputs", out, "--threads", "1"}
			for _, r := range c.remap {
				name, file, _ := strings.Cut(r, "=")
				args = append(args, "--input", name+"="+filepath.Join(in, file+".npy"))
			}
			if code, _, stderr := rtRun(t, context.Background(), "", args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, err := npy.ReadFile(filepath.Join(out, "logits.npy"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := npy.ReadFile(filepath.Join(root, c.dir, "ref_float64", "logits.npy"))
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.AsFloat64(), want.AsFloat64()
			if len(g) != len(w) {
				t.Fatalf("logits %v, reference %v", got.Shape, want.Shape)
			}
			worst := 0.0
			for i := range g {
				worst = math.Max(worst, math.Abs(g[i]-w[i]))
			}
			if worst > 1e-5 {
				t.Fatalf("max |logit - ref_float64| = %.3g > 1e-5", worst)
			}
			t.Logf("max |logit - ref_float64| = %.3g", worst)
		})
	}
}
