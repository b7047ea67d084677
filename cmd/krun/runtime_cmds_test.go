package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/evaluate"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/runtime/metrics"
	"github.com/kadapter/kadapter/runtime/onnxtest"
	"github.com/kadapter/kadapter/tasks"
)

// rtRequireORT loads ONNX Runtime or skips naming ONNXRUNTIME_LIB (fails
// under CI=true).
func rtRequireORT(t *testing.T) {
	t.Helper()
	err := krt.Init()
	if err == nil {
		return
	}
	if os.Getenv(krt.LibraryEnv) == "" && os.Getenv("CI") != "true" {
		t.Skipf("%s is unset and no ONNX Runtime library was found: %v", krt.LibraryEnv, err)
	}
	t.Fatalf("loading ONNX Runtime: %v", err)
}

// rtRun runs krun with args and returns the exit code, stdout and stderr.
func rtRun(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(ctx, cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin)}, args)
	return code, out.String(), errb.String()
}

func rtWriteModel(t *testing.T, model []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnxtest.Write(p, model); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInferCommand(t *testing.T) {
	rtRequireORT(t)
	model := rtWriteModel(t, onnxtest.Classifier("entity_pos"))
	in := t.TempDir()
	outDir := filepath.Join(t.TempDir(), "out")
	// int32 ids are widened to the graph's int64.
	for name, a := range map[string]*npy.Array{
		"input_ids":      {DType: npy.Int32, Shape: []int{2, 3}, Int32: []int32{3, 4, 1, 7, 1, 1}},
		"attention_mask": {DType: npy.Int64, Shape: []int{2, 3}, Int64: []int64{1, 1, 0, 1, 0, 0}},
		"entity_pos":     {DType: npy.Int64, Shape: []int{2}, Int64: []int64{1, 0}},
	} {
		if err := npy.WriteFile(filepath.Join(in, name+".npy"), a); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir, "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum rtInferSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if len(sum.Outputs) != 2 || sum.Device != "cpu" {
		t.Fatalf("summary %+v", sum)
	}
	logits, err := npy.ReadFile(filepath.Join(outDir, "logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{7, 8, 1, 7, 9, 0}; !reflect.DeepEqual(logits.Float32, want) || !reflect.DeepEqual(logits.Shape, []int{2, 3}) {
		t.Fatalf("logits %v %v, want %v", logits.Shape, logits.Float32, want)
	}
	// --fetch limits the outputs.
	out2 := filepath.Join(t.TempDir(), "o2")
	if code, _, stderr := rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", out2, "--fetch", "seq_len"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out2, "logits.npy")); !os.IsNotExist(err) {
		t.Fatalf("logits.npy written although not fetched: %v", err)
	}
	// --list prints the interface.
	code, stdout, _ = rtRun(t, context.Background(), "", "infer", "--model", model, "--list")
	if code != 0 || !strings.Contains(stdout, "entity_pos") || !strings.Contains(stdout, "seq_len") {
		t.Fatalf("--list: exit %d\n%s", code, stdout)
	}
	// A missing input file names the input and the path.
	os.Remove(filepath.Join(in, "entity_pos.npy"))
	code, _, stderr = rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir)
	if code != 1 || !strings.Contains(stderr, "entity_pos.npy") {
		t.Fatalf("missing input: exit %d: %s", code, stderr)
	}
	// A float array cannot feed an int64 input.
	npy.WriteFile(filepath.Join(in, "entity_pos.npy"), &npy.Array{DType: npy.Float32, Shape: []int{2}, Float32: []float32{1, 0}})
	code, _, stderr = rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir)
	if code != 1 || !strings.Contains(stderr, "cannot feed a int64 input") {
		t.Fatalf("float positions: exit %d: %s", code, stderr)
	}
	// One-hot marker rows [B,L] given with --input become indices.
	oneHot := filepath.Join(t.TempDir(), "start_id.npy")
	npy.WriteFile(oneHot, &npy.Array{DType: npy.Float32, Shape: []int{2, 3}, Float32: []float32{0, 1, 0, 1, 0, 0}})
	code, _, stderr = rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir, "--input", "entity_pos="+oneHot)
	if code != 0 {
		t.Fatalf("one-hot positions: exit %d: %s", code, stderr)
	}
	if l, _ := npy.ReadFile(filepath.Join(outDir, "logits.npy")); !reflect.DeepEqual(l.Float32, []float32{7, 8, 1, 7, 9, 0}) {
		t.Fatalf("one-hot positions gave logits %v", l.Float32)
	}
	npy.WriteFile(oneHot, &npy.Array{DType: npy.Float32, Shape: []int{2, 3}, Float32: []float32{0, 1, 1, 1, 0, 0}})
	code, _, stderr = rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir, "--input", "entity_pos="+oneHot)
	if code != 1 || !strings.Contains(stderr, "row 0 is not one-hot") {
		t.Fatalf("bad one-hot: exit %d: %s", code, stderr)
	}
	code, _, stderr = rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", in, "--outputs", outDir, "--input", "entity_pos="+oneHot, "--input", "subj_pos="+oneHot)
	if code != 2 || !strings.Contains(stderr, `no input "subj_pos"`) {
		t.Fatalf("unknown --input: exit %d: %s", code, stderr)
	}
}

func TestRuntimeUsageErrors(t *testing.T) {
	cases := [][]string{
		{"infer", "--inputs", "x", "--outputs", "y"},
		{"infer", "--model", "m.onnx"},
		{"infer", "--model", "m.onnx", "--inputs", "x", "--outputs", "y", "--device", "tpu"},
		{"infer", "--model", "m.onnx", "--inputs", "x", "--outputs", "y", "--graph-opt", "max"},
		{"eval", "--task", "tacred", "--model", "m.onnx"},
		{"eval", "--task", "squad", "--model", "m.onnx", "--data", "d.json", "--vocab", "v"},
		{"eval", "--task", "tacred", "--model", "m.onnx", "--data", "d.json", "--vocab", "v", "--padding", "some"},
		{"eval", "--task", "tacred", "--model", "m.onnx", "--data", "d.json", "--vocab", "v", "--batch-size", "0"},
		{"eval", "--task", "figer", "--model", "m.onnx", "--data", "d.json", "--vocab", "v"},
		{"predict", "--model", "m.onnx"},
	}
	for _, args := range cases {
		code, _, stderr := rtRun(t, context.Background(), "", args...)
		if code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, cli.ExitUsage, stderr)
		}
	}
	for _, cmd := range []string{"infer", "eval", "predict"} {
		if code, stdout, _ := rtRun(t, context.Background(), "", cmd, "--help"); code != 0 || !strings.Contains(stdout, "-device string") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, stdout)
		}
	}
}

func TestInferCUDAUnavailable(t *testing.T) {
	rtRequireORT(t)
	if os.Getenv("KADAPTER_TEST_CUDA") != "" {
		t.Skip("KADAPTER_TEST_CUDA is set: CUDA is expected to work here")
	}
	model := rtWriteModel(t, onnxtest.Classifier())
	code, _, stderr := rtRun(t, context.Background(), "", "infer", "--model", model, "--inputs", t.TempDir(), "--outputs", t.TempDir(), "--device", "cuda:0")
	if code == 0 {
		t.Skip("the CUDA execution provider works on this machine")
	}
	if code != 1 || !strings.Contains(stderr, "device cuda:0 is not available") || !strings.Contains(stderr, "--device cpu") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// rtPreprocessingReference is the part of the kadapter-tiny preprocessing
// fixture the eval tests use: the original converters' records and
// features.
type rtPreprocessingReference map[string]json.RawMessage

type rtRefCase struct {
	Input     json.RawMessage `json:"input"`
	Status    string          `json:"status"`
	InputIDs  []int64         `json:"input_ids"`
	InputMask []int64         `json:"input_mask"`
	LabelID   json.RawMessage `json:"label_id"`
	Subj      int64           `json:"subj_special_start_id_argmax"`
	Obj       int64           `json:"obj_special_start_id_argmax"`
	Start     int64           `json:"start_id_argmax"`
	Label     json.RawMessage `json:"label"`
	Choices   []struct {
		InputIDs  []int64 `json:"input_ids"`
		InputMask []int64 `json:"input_mask"`
	} `json:"choices"`
}

type rtRefTask struct {
	Cases        []rtRefCase `json:"cases"`
	MaxSeqLength int         `json:"max_seq_length"`
	LabelList    []string    `json:"label_list"`
}

func rtLoadRefTask(t testing.TB, name string) (rtRefTask, string) {
	t.Helper()
	p := testshared.Path(t, "fixtures", "kadapter-tiny", "preprocessing", "preprocessing_reference.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var all rtPreprocessingReference
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	var task rtRefTask
	if err := json.Unmarshal(all[name], &task); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return task, testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
}

// rtWriteRecords writes the cases' input records as a JSON array (or JSON
// lines) into a temporary file.
func rtWriteRecords(t *testing.T, cases []rtRefCase, lines bool) string {
	t.Helper()
	var b bytes.Buffer
	if !lines {
		b.WriteString("[")
	}
	for i, c := range cases {
		if i > 0 && !lines {
			b.WriteString(",")
		}
		if err := json.Compact(&b, c.Input); err != nil {
			t.Fatal(err)
		}
		if lines {
			b.WriteString("\n")
		}
	}
	if !lines {
		b.WriteString("]")
	}
	p := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rtReadPredictions(t *testing.T, path string) []map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

func rtMaskedSum(ids, mask []int64) int64 {
	var s int64
	for i := range ids {
		s += ids[i] * mask[i]
	}
	return s
}

// TestEvalTACREDPlumbing runs krun eval on the fixture's TACRED records
// with a stand-in graph whose tasks.Prediction is (Σ ids·mask + subj + obj) mod 42,
// and checks each tasks.Prediction against that function of the ORIGINAL
// converter's features (so records, features, markers, batching order and
// labels all line up) and the metrics against runtime/metrics.
func TestEvalTACREDPlumbing(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "tacred")
	data := rtWriteRecords(t, ref.Cases, false)
	model := rtWriteModel(t, onnxtest.Scorer(42, "subj_pos", "obj_pos"))
	var ok []rtRefCase
	for _, c := range ref.Cases {
		if c.Status == "ok" {
			ok = append(ok, c)
		}
	}
	for _, padding := range []string{"fixed", "dynamic"} {
		t.Run(padding, func(t *testing.T) {
			preds := filepath.Join(t.TempDir(), "preds.jsonl")
			code, stdout, stderr := rtRun(t, context.Background(), "", "eval", "--task", "tacred", "--model", model,
				"--data", data, "--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--batch-size", "3",
				"--padding", padding, "--json", "--predictions", preds, "--threads", "1", "--quiet")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep struct {
				Records  int                 `json:"records"`
				Examples int                 `json:"examples"`
				Dropped  map[string]int      `json:"dropped"`
				Metrics  tasks.TACREDMetrics `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if rep.Records != len(ref.Cases) || rep.Examples != len(ok) || rep.Dropped["marker_at_max_len"] != 1 {
				t.Fatalf("records %d examples %d dropped %v; want %d, %d, marker_at_max_len=1", rep.Records, rep.Examples, rep.Dropped, len(ref.Cases), len(ok))
			}
			lines := rtReadPredictions(t, preds)
			if len(lines) != len(ok) {
				t.Fatalf("%d predictions for %d examples", len(lines), len(ok))
			}
			var gold, pred []int
			for i, c := range ok {
				var label, predID int
				json.Unmarshal(c.LabelID, &label)
				json.Unmarshal(lines[i]["pred_id"], &predID)
				want := int((rtMaskedSum(c.InputIDs, c.InputMask) + c.Subj + c.Obj) % 42)
				if predID != want {
					t.Errorf("example %d: pred %d, want %d", i, predID, want)
				}
				var id string
				json.Unmarshal(lines[i]["id"], &id)
				var inp struct {
					ID string `json:"id"`
				}
				json.Unmarshal(c.Input, &inp)
				if id != inp.ID {
					t.Errorf("example %d: id %q, want %q", i, id, inp.ID)
				}
				gold, pred = append(gold, label), append(pred, predID)
			}
			want := metrics.TACREDMicroF1(gold, pred, metrics.TACREDNoRelation)
			if rep.Metrics.Precision != want.Precision || rep.Metrics.Recall != want.Recall || rep.Metrics.F1 != want.F1 {
				t.Errorf("metrics %+v, want %+v", rep.Metrics, want)
			}
		})
	}
	// --strict fails on the rejected record and names it.
	code, _, stderr := rtRun(t, context.Background(), "", "eval", "--task", "tacred", "--model", model,
		"--data", data, "--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--strict", "--quiet")
	if code != 1 || !strings.Contains(stderr, "record 7") || !strings.Contains(stderr, "marker_at_max_len") {
		t.Fatalf("--strict: exit %d: %s", code, stderr)
	}
}

func rtItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestEvalOpenEntityAndFIGERPlumbing(t *testing.T) {
	rtRequireORT(t)
	for _, task := range []string{"openentity", "figer"} {
		t.Run(task, func(t *testing.T) {
			ref, vocab := rtLoadRefTask(t, task)
			data := rtWriteRecords(t, ref.Cases, false)
			nl := 9
			args := []string{}
			if task == "figer" {
				nl = len(ref.LabelList)
				lp := filepath.Join(t.TempDir(), "labels.json")
				b, _ := json.Marshal(ref.LabelList)
				os.WriteFile(lp, b, 0o644)
				args = append(args, "--labels", lp, "--figer-upstream-metric")
			}
			model := rtWriteModel(t, onnxtest.Scorer(int64(nl), "entity_pos"))
			preds := filepath.Join(t.TempDir(), "p.jsonl")
			args = append([]string{"eval", "--task", task, "--model", model, "--data", data, "--vocab", vocab,
				"--max-seq-length", rtItoa(ref.MaxSeqLength), "--batch-size", "2", "--json", "--predictions", preds, "--quiet"}, args...)
			code, stdout, stderr := rtRun(t, context.Background(), "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep struct {
				Examples int                 `json:"examples"`
				Metrics  tasks.TypingMetrics `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			var logits [][]float64
			var labels [][]float64
			lines := rtReadPredictions(t, preds)
			k := 0
			for _, c := range ref.Cases {
				if c.Status != "ok" {
					continue
				}
				var lab []float64
				json.Unmarshal(c.LabelID, &lab)
				cls := (rtMaskedSum(c.InputIDs, c.InputMask) + c.Start) % int64(nl)
				row := make([]float64, nl)
				for j := range row {
					row[j] = -1
				}
				row[cls] = 1
				var got []float64
				json.Unmarshal(lines[k]["logits"], &got)
				if !reflect.DeepEqual(got, row) {
					t.Errorf("example %d: logits %v, want %v", k, got, row)
				}
				logits, labels = append(logits, row), append(labels, lab)
				k++
			}
			if rep.Examples != k {
				t.Fatalf("%d examples, want %d", rep.Examples, k)
			}
			var want metrics.TypingResult
			if task == "openentity" {
				want = metrics.OpenEntityTyping(logits, labels)
			} else {
				want = metrics.FIGERTypingUpstream(logits, labels, 2)
			}
			if !reflect.DeepEqual(rep.Metrics.TypingResult, want) {
				t.Errorf("metrics %+v, want %+v", rep.Metrics.TypingResult, want)
			}
		})
	}
}

func TestEvalCosmosQAPadID(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "cosmosqa")
	data := rtWriteRecords(t, ref.Cases, true)
	model := rtWriteModel(t, onnxtest.MultipleChoice())
	for _, pad := range []int64{0, 1} {
		preds := filepath.Join(t.TempDir(), "p.jsonl")
		code, stdout, stderr := rtRun(t, context.Background(), "", "eval", "--task", "cosmosqa", "--model", model, "--data", data,
			"--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--pad-id", rtItoa(int(pad)), "--json", "--predictions", preds, "--quiet")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep struct {
			Metrics tasks.CosmosQAMetrics `json:"metrics"`
		}
		json.Unmarshal([]byte(stdout), &rep)
		lines := rtReadPredictions(t, preds)
		var gold, pred []int
		for i, c := range ref.Cases {
			// The graph sums every id, pads included: with the original's pad
			// 0 that is the reference features' sum; pad 1 adds the pads.
			want := make([]float64, 4)
			for k, ch := range c.Choices {
				var s int64
				for j, id := range ch.InputIDs {
					if ch.InputMask[j] == 0 {
						id = pad
					}
					s += id
				}
				want[k] = float64(s)
			}
			var got []float64
			json.Unmarshal(lines[i]["logits"], &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pad %d case %d: logits %v, want %v", pad, i, got, want)
			}
			var label int
			json.Unmarshal(c.Label, &label)
			gold, pred = append(gold, label), append(pred, metrics.Argmax(want))
		}
		c, acc := metrics.Accuracy(gold, pred)
		if rep.Metrics.Correct != c || rep.Metrics.Accuracy != acc || rep.Metrics.Labeled != len(ref.Cases) {
			t.Errorf("pad %d: metrics %+v, want %d/%v", pad, rep.Metrics, c, acc)
		}
	}
}

func TestEvalFindHead(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "find_head")
	data := rtWriteRecords(t, ref.Cases, false)
	L := ref.MaxSeqLength
	model := rtWriteModel(t, onnxtest.TokenClassifier(int64(L)))
	code, stdout, stderr := rtRun(t, context.Background(), "", "eval", "--task", "find-head", "--model", model, "--data", data,
		"--vocab", vocab, "--max-seq-length", rtItoa(L), "--batch-size", "1", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Examples int                   `json:"examples"`
		Metrics  tasks.FindHeadMetrics `json:"metrics"`
	}
	json.Unmarshal([]byte(stdout), &rep)
	// The graph predicts input_ids mod L at each position.
	var pred, gold, mask [][]int
	for _, c := range ref.Cases {
		if c.Status != "ok" {
			continue
		}
		var lab []int
		json.Unmarshal(c.LabelID, &lab)
		p := make([]int, L)
		m := make([]int, L)
		for j := range p {
			p[j] = int(c.InputIDs[j] % int64(L))
			m[j] = int(c.InputMask[j])
		}
		pred, gold, mask = append(pred, p), append(gold, lab), append(mask, m)
	}
	if rep.Examples != len(pred) {
		t.Fatalf("%d examples, want %d", rep.Examples, len(pred))
	}
	if want := metrics.LinAccuracy(pred, gold, mask); rep.Metrics.Accuracy != want {
		t.Errorf("accuracy %v, want %v", rep.Metrics.Accuracy, want)
	}
	if want := metrics.LinAccuracyUpstream(pred, gold, mask, 1); rep.Metrics.AccuracyUpstream != want {
		t.Errorf("upstream accuracy %v, want %v", rep.Metrics.AccuracyUpstream, want)
	}
}

func TestPredictCommand(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "tacred")
	model := rtWriteModel(t, onnxtest.Scorer(42, "subj_pos", "obj_pos"))
	// The first record without its relation, the second with it, then a
	// broken one.
	var first map[string]any
	json.Unmarshal(ref.Cases[0].Input, &first)
	delete(first, "relation")
	b0, _ := json.Marshal(first)
	var b1 bytes.Buffer
	json.Compact(&b1, ref.Cases[1].Input)
	stdin := string(b0) + "\n" + b1.String() + "\n" + `{"token": "oops"}` + "\n"
	code, stdout, stderr := rtRun(t, context.Background(), stdin, "predict", "--task", "tacred", "--model", model,
		"--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--padding", "dynamic")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var lines []tasks.Prediction
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var p tasks.Prediction
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, p)
	}
	if len(lines) != 3 || lines[0].Gold != nil || lines[1].Gold == nil || lines[2].Error == "" || lines[2].Record != 2 {
		t.Fatalf("predictions %+v", lines)
	}
	for i := 0; i < 2; i++ {
		c := ref.Cases[i]
		want := float64((rtMaskedSum(c.InputIDs, c.InputMask) + c.Subj + c.Obj) % 42)
		if lines[i].PredID != want {
			t.Errorf("record %d: pred %v, want %v", i, lines[i].PredID, want)
		}
	}
	code, _, stderr = rtRun(t, context.Background(), stdin, "predict", "--task", "tacred", "--model", model,
		"--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--strict")
	if code != 1 || !strings.Contains(stderr, "record 2") {
		t.Fatalf("--strict: exit %d: %s", code, stderr)
	}
}

func TestEvalCancelledLeavesNoPredictions(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "tacred")
	data := rtWriteRecords(t, ref.Cases, false)
	model := rtWriteModel(t, onnxtest.Scorer(42, "subj_pos", "obj_pos"))
	dir := t.TempDir()
	preds := filepath.Join(dir, "p.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := rtRun(t, ctx, "", "eval", "--task", "tacred", "--model", model, "--data", data, "--vocab", vocab,
		"--max-seq-length", rtItoa(ref.MaxSeqLength), "--predictions", preds, "--quiet")
	if code == 0 || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left behind: %v", ents)
	}
}

// TestEvalArrowFeatures writes the TACRED and CosmosQA fixture records as
// Arrow features (as kprep features does) and checks that krun eval on
// them gives the same predictions and metrics as on the original files,
// without --vocab.
func TestEvalArrowFeatures(t *testing.T) {
	rtRequireORT(t)
	for _, c := range []struct {
		task, ref string
		model     []byte
		lines     bool
	}{
		{"tacred", "tacred", onnxtest.Scorer(42, "subj_pos", "obj_pos"), false},
		{"cosmosqa", "cosmosqa", onnxtest.MultipleChoice(), true},
		{"openentity", "openentity", onnxtest.Scorer(9, "entity_pos"), false},
	} {
		t.Run(c.task, func(t *testing.T) {
			ref, vocab := rtLoadRefTask(t, c.ref)
			data := rtWriteRecords(t, ref.Cases, c.lines)
			model := rtWriteModel(t, c.model)
			tok, err := features.LoadTokenizer(vocab)
			if err != nil {
				t.Fatal(err)
			}
			conv, err := features.NewConverter(tok, features.Config{Task: c.task, MaxSeqLength: ref.MaxSeqLength, NegativeSample: -1})
			if err != nil {
				t.Fatal(err)
			}
			schema, _ := features.Schema(c.task)
			arrowPath := filepath.Join(t.TempDir(), "dev.arrow")
			sink, err := pipeline.NewArrowSink(arrowPath, schema, pipeline.ArrowOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for i, rc := range ref.Cases {
				var buf bytes.Buffer
				json.Compact(&buf, rc.Input)
				res := conv.Convert(i, buf.Bytes())
				if res.Err != nil {
					continue
				}
				if err := features.AppendRow(c.task, sink.Builder(), &res.Example); err != nil {
					t.Fatal(err)
				}
				if err := sink.RowDone(); err != nil {
					t.Fatal(err)
				}
				rows++
			}
			if rows == 0 {
				t.Fatal("no fixture record converted: nothing to compare")
			}
			if _, err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) (string, []byte) {
				preds := filepath.Join(t.TempDir(), "p.jsonl")
				args = append([]string{"eval", "--task", c.task, "--model", model, "--batch-size", "2", "--json", "--quiet", "--predictions", preds}, args...)
				code, stdout, stderr := rtRun(t, context.Background(), "", args...)
				if code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, stderr)
				}
				var rep map[string]json.RawMessage
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep["metrics"]) == 0 {
					t.Fatalf("%v: --json output without metrics (%v):\n%s", args, err, stdout)
				}
				p, err := os.ReadFile(preds)
				if err != nil {
					t.Fatal(err)
				}
				if n := bytes.Count(p, []byte("\n")); n != rows {
					t.Fatalf("%v: %d prediction lines for %d examples", args, n, rows)
				}
				return string(rep["metrics"]), p
			}
			m1, p1 := run("--data", data, "--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength))
			m2, p2 := run("--data", arrowPath)
			if m1 != m2 || !bytes.Equal(p1, p2) {
				t.Errorf("original file vs Arrow features:\nmetrics %s\n     vs %s\npredictions\n%s\nvs\n%s", m1, m2, p1, p2)
			}
		})
	}
}

func FuzzPredictFillLabel(f *testing.F) {
	f.Add("tacred", `{"token":["a"],"subj_start":0,"subj_end":0,"obj_start":0,"obj_end":0}`)
	f.Add("openentity", `{"sent":"a b","start":0,"end":1,"labels":null}`)
	f.Add("find-head", `{"sent":"a b","tokens":[{"1":{"start":0,"end":1}},{"2":{"start":2,"end":3}}]}`)
	f.Add("find-head", `{"sent":"a","tokens":"x"}`)
	f.Add("cosmosqa", `{"context":"c"}`)
	f.Add("trex-rc", `[1,2]`)
	f.Fuzz(func(t *testing.T, task, raw string) {
		switch task {
		case "tacred", "trex-rc", "openentity", "figer", "find-head", "cosmosqa":
		default:
			return
		}
		out, had, err := evaluate.FillLabel(tasks.Lookup(task), []string{"P19"}, []byte(raw))
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if jerr := json.Unmarshal(out, &obj); jerr != nil {
			t.Fatalf("fillLabel(%s, %q) gave invalid JSON %q: %v", task, raw, out, jerr)
		}
		if had && string(out) != raw {
			t.Fatalf("a record with its label was changed: %q -> %q", raw, out)
		}
	})
}

// TestEvalTREXRC runs the fac-adapter pre-training evaluation on the
// fixture's T-REx records with the built-in 410-relation list.
func TestEvalTREXRC(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "trex_rc")
	data := rtWriteRecords(t, ref.Cases, false)
	model := rtWriteModel(t, onnxtest.Scorer(410, "subj_pos", "obj_pos"))
	for _, sum := range []bool{false, true} {
		args := []string{"eval", "--task", "trex-rc", "--model", model, "--data", data, "--vocab", vocab,
			"--max-seq-length", rtItoa(ref.MaxSeqLength), "--batch-size", "1", "--json", "--quiet"}
		if sum {
			args = append(args, "--fac-loss-sum")
		}
		code, stdout, stderr := rtRun(t, context.Background(), "", args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep struct {
			Examples int               `json:"examples"`
			Dropped  map[string]int    `json:"dropped"`
			Metrics  metrics.FacResult `json:"metrics"`
		}
		json.Unmarshal([]byte(stdout), &rep)
		var gold, pred []int
		var losses []float64
		for _, c := range ref.Cases {
			if c.Status != "ok" {
				continue
			}
			var label int
			json.Unmarshal(c.LabelID, &label)
			cls := int((rtMaskedSum(c.InputIDs, c.InputMask) + c.Subj + c.Obj) % 410)
			row := make([]float64, 410)
			for j := range row {
				row[j] = -1
			}
			row[cls] = 1
			gold, pred = append(gold, label), append(pred, cls)
			losses = append(losses, metrics.CrossEntropy(row, label))
		}
		want := metrics.FacPretrain(gold, pred, losses, sum)
		if rep.Examples != len(gold) || rep.Dropped["marker_past_max_len"] != 1 || rep.Dropped["unknown_label"] != 1 {
			t.Fatalf("examples %d dropped %v", rep.Examples, rep.Dropped)
		}
		if rep.Metrics.MicroF1 != want.MicroF1 || rep.Metrics.MacroF1 != want.MacroF1 || math.Abs(rep.Metrics.Loss-want.Loss) > 1e-12 {
			t.Errorf("sum %v: metrics %+v, want %+v", sum, rep.Metrics, want)
		}
	}
}

// TestEvalFindHeadClassMismatch: a find-head graph whose head has fewer
// classes than the labels' positions is reported, not scored with NaNs.
func TestEvalFindHeadClassMismatch(t *testing.T) {
	rtRequireORT(t)
	ref, vocab := rtLoadRefTask(t, "find_head")
	data := rtWriteRecords(t, ref.Cases, false)
	model := rtWriteModel(t, onnxtest.TokenClassifier(3))
	code, _, stderr := rtRun(t, context.Background(), "", "eval", "--task", "find-head", "--model", model, "--data", data,
		"--vocab", vocab, "--max-seq-length", rtItoa(ref.MaxSeqLength), "--quiet")
	if code != 1 || !strings.Contains(stderr, "outside the graph's 3 head classes") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
