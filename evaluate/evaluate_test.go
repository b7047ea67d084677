package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/runtime/onnxtest"
	"github.com/kadapter/kadapter/tasks"
)

// tinyVocab is the kadapter-tiny fixture's tokenizer (1,000 tokens).
func tinyVocab(t *testing.T) string {
	t.Helper()
	return testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
}

func TestTaskNames(t *testing.T) {
	if got, want := TaskNames(), []string{"tacred", "openentity", "figer", "cosmosqa", "trex-rc", "find-head"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("TaskNames() = %v, want %v", got, want)
	}
}

// TestNewTaskErrors checks the option errors NewTask gives (krun turns
// *OptionError into a usage error, exit 2) and their messages.
func TestNewTaskErrors(t *testing.T) {
	cases := []struct {
		name     string
		task     string
		vocab    string
		convert  bool
		o        Options
		option   bool // an *OptionError
		contains string
	}{
		{"unknown task", "squad", "v", true, Options{}, true, `--task "squad": want one of tacred, openentity, figer, cosmosqa, trex-rc, find-head`},
		{"alias is not a name", "fac", "v", true, Options{}, true, `--task "fac"`},
		{"no vocabulary", "tacred", "", true, Options{}, true, "--vocab is required"},
		{"negative max length", "tacred", "", false, Options{MaxSeqLength: -1}, true, "--max-seq-length must be > 0"},
		{"bad head mapping", "find-head", "", false, Options{HeadMapping: "x"}, true, "--head-mapping: "},
		{"figer without labels", "figer", "v", true, Options{}, true, "--labels is required for figer"},
		{"missing label file", "tacred", "", false, Options{Labels: "/nonexistent/labels.json"}, false, "/nonexistent/labels.json"},
		{"missing tokenizer", "tacred", "/nonexistent", true, Options{}, false, "--vocab /nonexistent: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewTask(c.task, "", c.vocab, c.convert, c.o)
			if err == nil {
				t.Fatal("no error")
			}
			var oe *OptionError
			if errors.As(err, &oe) != c.option {
				t.Errorf("error %q: option error %v, want %v", err, !c.option, c.option)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q does not contain %q", err, c.contains)
			}
		})
	}
}

// TestNewTaskDefaults checks labels, padded length and pad id per task,
// for features (no converter) and for raw records (the tiny tokenizer).
func TestNewTaskDefaults(t *testing.T) {
	dir := t.TempDir()
	figerData := filepath.Join(dir, "test.json")
	if err := os.WriteFile(filepath.Join(dir, "labels.json"), []byte(`["/a","/b","/c"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		task    string
		data    string
		convert bool
		o       Options
		labels  int
		maxLen  int
		padID   int64
	}{
		{"tacred", "", false, Options{}, 42, 0, 1},
		{"trex-rc", "", false, Options{MaxSeqLength: 64}, 410, 64, 1},
		{"openentity", "", false, Options{}, 9, 0, 1},
		{"figer", "", false, Options{}, 0, 0, 1},
		{"figer", figerData, false, Options{}, 3, 0, 1},
		{"cosmosqa", "", false, Options{PadID: 7}, 0, 0, 7},
		{"find-head", "", false, Options{}, 0, 0, 1},
		{"tacred", "", true, Options{}, 42, 184, 1},
		{"trex-rc", "", true, Options{}, 410, 64, 1},
		{"openentity", "", true, Options{MaxSeqLength: 32}, 9, 32, 1},
		{"figer", figerData, true, Options{}, 3, 256, 1},
		{"cosmosqa", "", true, Options{}, 0, 256, 0},
		{"find-head", "", true, Options{HeadMapping: "first-subtoken"}, 0, 64, 1},
	}
	for _, c := range cases {
		vocab := ""
		if c.convert {
			vocab = tinyVocab(t)
		}
		task, err := NewTask(c.task, c.data, vocab, c.convert, c.o)
		if err != nil {
			t.Fatalf("%s (converter %v): %v", c.task, c.convert, err)
		}
		if len(task.Labels) != c.labels || task.MaxLen != c.maxLen || task.PadID != c.padID {
			t.Errorf("%s (converter %v, data %q): %d labels, max len %d, pad %d; want %d, %d, %d",
				c.task, c.convert, c.data, len(task.Labels), task.MaxLen, task.PadID, c.labels, c.maxLen, c.padID)
		}
	}
}

func TestFillLabel(t *testing.T) {
	cases := []struct {
		task, raw string
		want      string // "" = raw unchanged
		had       bool
		err       string
	}{
		{"tacred", `{"token":["a"],"relation":"per:title"}`, "", true, ""},
		{"tacred", `{"token":["a"]}`, `{"relation":"no_relation","token":["a"]}`, false, ""},
		{"tacred", `{"token":["a"],"relation":null}`, `{"relation":"no_relation","token":["a"]}`, false, ""},
		{"trex-rc", `{"token":["a"]}`, `{"relation":"P19","token":["a"]}`, false, ""},
		{"openentity", `{"sent":"a","labels":["person"]}`, "", true, ""},
		{"figer", `{"sent":"a"}`, `{"labels":[],"sent":"a"}`, false, ""},
		{"cosmosqa", `{"context":"c"}`, "", false, ""},
		{"cosmosqa", `{"context":"c","label":"1"}`, "", true, ""},
		{"find-head", `{"sent":"a b","tokens":[{"1":{}},{"2":{}}]}`,
			`{"pairs":[{"dependent_index":1,"governor_index":0},{"dependent_index":2,"governor_index":0}],"sent":"a b","tokens":[{"1":{}},{"2":{}}]}`, false, ""},
		{"find-head", `{"sent":"a","tokens":"x"}`, "", false, `"tokens": `},
		{"tacred", `[1,2]`, "", false, "not a JSON object"},
	}
	for _, c := range cases {
		out, had, err := FillLabel(tasks.Lookup(c.task), []string{"P19"}, []byte(c.raw))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: error %v, want %q", c.task, c.raw, err, c.err)
			}
			continue
		}
		want := c.want
		if want == "" {
			want = c.raw
		}
		if err != nil || had != c.had || string(out) != want {
			t.Errorf("%s %s: %s, %v, %v; want %s, %v", c.task, c.raw, out, had, err, want, c.had)
		}
	}
}

func TestRow(t *testing.T) {
	ex := features.Example{InputIDs: []int64{0, 5, 6, 2, 1, 1}, AttentionMask: []int64{1, 1, 1, 1, 0, 0}, SubjPos: 1, ObjPos: 2, EntityPos: 3,
		Choices: []features.Choice{{InputIDs: []int64{0, 9, 1}, AttentionMask: []int64{1, 1, 0}}, {InputIDs: []int64{0, 8, 7}, AttentionMask: []int64{1, 1, 1}}}}
	seq := [][]int64{{0, 5, 6, 2}}
	cases := []struct {
		task string
		want krt.Row
	}{
		{"tacred", krt.Row{Seqs: seq, Positions: map[string]int64{"subj_pos": 1, "obj_pos": 2}}},
		{"trex-rc", krt.Row{Seqs: seq, Positions: map[string]int64{"subj_pos": 1, "obj_pos": 2}}},
		{"openentity", krt.Row{Seqs: seq, Positions: map[string]int64{"entity_pos": 3}}},
		{"figer", krt.Row{Seqs: seq, Positions: map[string]int64{"entity_pos": 3}}},
		{"find-head", krt.Row{Seqs: seq, Positions: map[string]int64{}}},
		{"cosmosqa", krt.Row{Seqs: [][]int64{{0, 9}, {0, 8, 7}}}},
	}
	for _, c := range cases {
		task, err := NewTask(c.task, "", "", false, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := task.Row(&ex); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: row %+v, want %+v", c.task, got, c.want)
		}
	}
}

func TestUseFeatures(t *testing.T) {
	cases := []struct {
		name   string
		ex     []features.Example
		maxLen int
		def    int64
		wantL  int
		wantP  int64
	}{
		{"padded", []features.Example{{InputIDs: []int64{0, 4, 2, 1}, AttentionMask: []int64{1, 1, 1, 0}}}, 0, 1, 4, 1},
		{"pad id read off a row", []features.Example{{InputIDs: []int64{0, 4, 2}, AttentionMask: []int64{1, 1, 1}}, {InputIDs: []int64{0, 2, 9}, AttentionMask: []int64{1, 1, 0}}}, 0, 1, 3, 9},
		{"no padding: default pad", []features.Example{{InputIDs: []int64{0, 2}, AttentionMask: []int64{1, 1}}}, 0, 5, 2, 5},
		{"set length kept", []features.Example{{InputIDs: []int64{0, 2}, AttentionMask: []int64{1, 1}}}, 16, 1, 16, 1},
		{"choices", []features.Example{{Choices: []features.Choice{{InputIDs: []int64{0, 3, 0, 0, 0}, AttentionMask: []int64{1, 1, 0, 0, 0}}}}}, 0, 1, 5, 0},
	}
	for _, c := range cases {
		task := &Task{MaxLen: c.maxLen, PadID: c.def}
		task.UseFeatures(c.ex)
		if task.MaxLen != c.wantL || task.PadID != c.wantP {
			t.Errorf("%s: max len %d pad %d, want %d %d", c.name, task.MaxLen, task.PadID, c.wantL, c.wantP)
		}
	}
}

// requireORT loads ONNX Runtime or skips (fails under CI=true).
func requireORT(t *testing.T) {
	t.Helper()
	if err := krt.Init(); err != nil {
		testshared.Missing(t, "ONNX Runtime (%s): %v", krt.LibraryEnv, err)
	}
}

func writeModel(t *testing.T, model []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnxtest.Write(p, model); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixtureRecords writes the preprocessing fixture's records of a task as
// its original data file and returns its path and max_seq_length.
func fixtureRecords(t *testing.T, name string, lines bool) (string, int) {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, "fixtures", "kadapter-tiny", "preprocessing", "preprocessing_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]json.RawMessage
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var r struct {
		MaxSeqLength int `json:"max_seq_length"`
		Cases        []struct {
			Input json.RawMessage `json:"input"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(ref[name], &r); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for i, c := range r.Cases {
		if lines {
			json.Compact(&buf, c.Input)
			buf.WriteByte('\n')
			continue
		}
		if i == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		json.Compact(&buf, c.Input)
	}
	if !lines {
		buf.WriteByte(']')
	}
	path := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, r.MaxSeqLength
}

// TestScoreRawArrowAndMemory scores the same fixture records three ways,
// through Score on the original file, through Score on Arrow features
// written as kprep features writes them, and through ScoreExamples on the
// converted examples, and checks the three agree, for every task.
func TestScoreRawArrowAndMemory(t *testing.T) {
	requireORT(t)
	vocab := tinyVocab(t)
	cases := []struct {
		task, fixture string
		model         []byte
		lines         bool
		o             Options
	}{
		{"tacred", "tacred", onnxtest.Scorer(42, "subj_pos", "obj_pos"), false, Options{BatchSize: 3}},
		{"trex-rc", "trex_rc", onnxtest.Scorer(410, "subj_pos", "obj_pos"), false, Options{BatchSize: 2, ScoreOptions: tasks.ScoreOptions{FacLossSum: true}}},
		{"openentity", "openentity", onnxtest.Scorer(9, "entity_pos"), false, Options{}},
		{"cosmosqa", "cosmosqa", onnxtest.MultipleChoice(), true, Options{BatchSize: 2}},
		{"find-head", "find_head", onnxtest.TokenClassifier(24), false, Options{Padding: krt.PadDynamic}},
	}
	for _, c := range cases {
		t.Run(c.task, func(t *testing.T) {
			data, maxLen := fixtureRecords(t, c.fixture, c.lines)
			c.o.MaxSeqLength = maxLen
			sess, err := krt.Open(writeModel(t, c.model), krt.Options{IntraOpThreads: 1, Outputs: []string{"logits"}})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			ctx := context.Background()
			raw, err := Score(ctx, sess, c.task, data, vocab, c.o)
			if err != nil {
				t.Fatal(err)
			}
			def := tasks.Lookup(c.task)
			if raw.Name != def.Metric || raw.Value != raw.Values[def.Metric] || raw.Examples == 0 || raw.Task != c.task {
				t.Fatalf("metrics %+v: headline %s", raw, def.Metric)
			}
			// The converted examples, in memory and as Arrow.
			task, err := NewTask(c.task, data, vocab, true, c.o)
			if err != nil {
				t.Fatal(err)
			}
			d, err := task.Load(data)
			if err != nil {
				t.Fatal(err)
			}
			schema, err := features.Schema(c.task)
			if err != nil {
				t.Fatal(err)
			}
			arrowPath := filepath.Join(t.TempDir(), "dev.arrow")
			sink, err := pipeline.NewArrowSink(arrowPath, schema, pipeline.ArrowOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range d.Examples {
				if err := features.AppendRow(c.task, sink.Builder(), &d.Examples[i]); err != nil {
					t.Fatal(err)
				}
				if err := sink.RowDone(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			fromArrow, err := Score(ctx, sess, c.task, arrowPath, "", c.o)
			if err != nil {
				t.Fatal(err)
			}
			mem, err := ScoreExamples(ctx, sess, c.task, d.Examples, c.o)
			if err != nil {
				t.Fatal(err)
			}
			for name, m := range map[string]Metrics{"arrow": fromArrow, "memory": mem} {
				if !reflect.DeepEqual(m.Result, raw.Result) || !reflect.DeepEqual(m.Values, raw.Values) {
					t.Errorf("%s: %+v\nraw file: %+v", name, m.Result, raw.Result)
				}
			}
		})
	}
}

// TestRunErrors checks the errors Run gives before anything runs.
func TestRunErrors(t *testing.T) {
	requireORT(t)
	ex := []features.Example{{Record: 7, InputIDs: []int64{0, 5, 2}, AttentionMask: []int64{1, 1, 1}, SubjPos: 1, ObjPos: 1, EntityPos: 1}}
	cases := []struct {
		name, task string
		model      []byte
		outputs    []string
		want       string
	}{
		{"wrong graph", "openentity", onnxtest.Scorer(42, "subj_pos", "obj_pos"), []string{"logits"}, `does not look like a openentity graph: it has no input "entity_pos"`},
		{"extra input", "find-head", onnxtest.Scorer(42, "subj_pos"), []string{"logits"}, "does not look like a find-head graph: it takes input_ids, attention_mask, subj_pos"},
		{"id outside the embedding", "find-head", onnxtest.Embedder(4, 0), []string{"logits"}, "data.json record 7: input_ids id 5 at position 1 is outside the model's embedding table emb of 4 rows"},
		{"logits not fetched", "tacred", onnxtest.Classifier("subj_pos", "obj_pos"), []string{"seq_len"}, `the session does not fetch "logits" (it fetches seq_len)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess, err := krt.Open(writeModel(t, c.model), krt.Options{Outputs: c.outputs})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			task, err := NewTask(c.task, "data.json", "", false, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = task.Run(context.Background(), sess, ex)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}
