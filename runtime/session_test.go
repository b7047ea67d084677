package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/runtime/onnxtest"
)

// requireORT loads the library or skips (naming the variable) when
// ONNXRUNTIME_LIB is unset; under CI=true a missing library fails.
func requireORT(t testing.TB) {
	t.Helper()
	if os.Getenv(LibraryEnv) == "" && os.Getenv("CI") != "true" {
		if err := Init(); err != nil {
			t.Skipf("%s is unset and no ONNX Runtime library was found (export %s=$(%s)): %v", LibraryEnv, LibraryEnv, FetchScript, err)
		}
		return
	}
	if err := Init(); err != nil {
		t.Fatalf("loading ONNX Runtime: %v", err)
	}
}

func writeModel(t testing.TB, name string, model []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := onnxtest.Write(p, model); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInitLoadsLibrary(t *testing.T) {
	requireORT(t)
	if LibraryPath() == "" {
		t.Fatal("no library path after Init")
	}
	v := Version()
	if !strings.HasPrefix(v, "1.") {
		t.Fatalf("unexpected ONNX Runtime version %q", v)
	}
	t.Logf("ONNX Runtime %s from %s", v, LibraryPath())
	if err := Init(); err != nil {
		t.Fatalf("second Init: %v", err)
	}
}

func TestSessionRun(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "cls.onnx", onnxtest.Classifier("subj_pos", "obj_pos"))
	for _, lvl := range []OptLevel{OptDisable, OptAll} {
		t.Run(string(lvl), func(t *testing.T) {
			s, err := Open(path, Options{IntraOpThreads: 1, InterOpThreads: 1, Optimization: lvl})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			wantIn := []IOInfo{
				{Name: "input_ids", Shape: []int64{-1, -1}, DType: "int64"},
				{Name: "attention_mask", Shape: []int64{-1, -1}, DType: "int64"},
				{Name: "subj_pos", Shape: []int64{-1}, DType: "int64"},
				{Name: "obj_pos", Shape: []int64{-1}, DType: "int64"},
			}
			if !reflect.DeepEqual(s.Inputs(), wantIn) {
				t.Fatalf("inputs %+v, want %+v", s.Inputs(), wantIn)
			}
			out, err := s.Run(context.Background(), map[string]Tensor{
				"input_ids":      {Shape: []int64{2, 3}, Data: []int64{5, 6, 1, 7, 1, 1}},
				"attention_mask": {Shape: []int64{2, 3}, Data: []int64{1, 1, 0, 1, 0, 0}},
				"subj_pos":       {Shape: []int64{2}, Data: []int64{1, 2}},
				"obj_pos":        {Shape: []int64{2}, Data: []int64{3, 4}},
			})
			if err != nil {
				t.Fatal(err)
			}
			logits := out["logits"]
			if !reflect.DeepEqual(logits.Shape, []int64{2, 4}) {
				t.Fatalf("logits shape %v", logits.Shape)
			}
			want := []float32{11, 12, 1, 3, 7, 9, 2, 4}
			if !reflect.DeepEqual(logits.Data, want) {
				t.Fatalf("logits %v, want %v", logits.Data, want)
			}
			if got := out["seq_len"].Data; !reflect.DeepEqual(got, []float32{3, 3}) {
				t.Fatalf("seq_len %v", got)
			}
		})
	}
}

func TestSessionInputErrors(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "cls.onnx", onnxtest.Classifier("entity_pos"))
	s, err := Open(path, Options{Outputs: []string{"logits"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := Tensor{Shape: []int64{1, 2}, Data: []int64{1, 2}}
	cases := []struct {
		name   string
		inputs map[string]Tensor
		want   string
	}{
		{"missing", map[string]Tensor{"input_ids": ids, "attention_mask": ids}, "missing: [entity_pos]"},
		{"unknown", map[string]Tensor{"input_ids": ids, "attention_mask": ids, "entity_pos": {Shape: []int64{1}, Data: []int64{0}}, "subj_pos": ids}, "unknown: [subj_pos]"},
		{"dtype", map[string]Tensor{"input_ids": {Shape: []int64{1, 2}, Data: []float32{1, 2}}, "attention_mask": ids, "entity_pos": {Shape: []int64{1}, Data: []int64{0}}}, "input_ids is float32, the graph wants int64"},
		{"rank", map[string]Tensor{"input_ids": ids, "attention_mask": ids, "entity_pos": ids}, "wants rank 1"},
		{"size", map[string]Tensor{"input_ids": {Shape: []int64{1, 3}, Data: []int64{1, 2}}, "attention_mask": ids, "entity_pos": {Shape: []int64{1}, Data: []int64{0}}}, "needs 3 elements, has 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), c.inputs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := Open(path, Options{Outputs: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no output "nope"`) {
		t.Fatalf("unknown output: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "absent.onnx"), Options{}); err == nil || !strings.Contains(err.Error(), "absent.onnx") {
		t.Fatalf("absent model: %v", err)
	}
	bad := writeModel(t, "bad.onnx", []byte("not a model"))
	if _, err := Open(bad, Options{}); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Fatalf("corrupt model: %v", err)
	}
}

func TestCUDAUnavailable(t *testing.T) {
	requireORT(t)
	if os.Getenv("KADAPTER_TEST_CUDA") != "" {
		t.Skip("KADAPTER_TEST_CUDA is set: this machine is expected to have CUDA")
	}
	path := writeModel(t, "cls.onnx", onnxtest.Classifier())
	_, err := Open(path, Options{Device: Device{CUDA: true, ID: 0}})
	if err == nil {
		t.Skip("the CUDA execution provider is available here; the error path cannot be tested")
	}
	var de *DeviceError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a DeviceError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"cuda:0", "CUDA execution provider", "--device cpu"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	t.Logf("CUDA error: %v", err)
}

func TestCancelledRun(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "cls.onnx", onnxtest.Classifier())
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ids := Tensor{Shape: []int64{1, 2}, Data: []int64{1, 2}}
	if _, err := s.Run(ctx, map[string]Tensor{"input_ids": ids, "attention_mask": ids}); !errors.Is(err, context.Canceled) {
		t.Fatalf("run on a cancelled context: %v", err)
	}
}

func TestParseDevice(t *testing.T) {
	cases := []struct {
		in   string
		want Device
		bad  bool
	}{
		{"", CPU, false}, {"cpu", CPU, false}, {"CPU", CPU, false},
		{"cuda", Device{CUDA: true}, false}, {"cuda:3", Device{CUDA: true, ID: 3}, false},
		{"cuda:-1", Device{}, true}, {"cuda:x", Device{}, true}, {"tpu", Device{}, true},
	}
	for _, c := range cases {
		got, err := ParseDevice(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("ParseDevice(%q) = %v, %v", c.in, got, err)
		}
		if !c.bad {
			if back, _ := ParseDevice(got.String()); back != got {
				t.Errorf("round trip of %v gave %v", got, back)
			}
		}
	}
}

func TestParseOptLevel(t *testing.T) {
	for in, want := range map[string]OptLevel{"": OptAll, "all": OptAll, "Basic": OptBasic, "disable": OptDisable, "extended": OptExtended} {
		if got, err := ParseOptLevel(in); err != nil || got != want {
			t.Errorf("ParseOptLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseOptLevel("max"); err == nil {
		t.Error("ParseOptLevel(max) accepted")
	}
}

func FuzzParseDevice(f *testing.F) {
	for _, s := range []string{"cpu", "cuda", "cuda:0", "cuda:12", "CUDA:1", "gpu", "cuda:", "cuda:-3", " cpu "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDevice(s)
		if err != nil {
			return
		}
		back, err := ParseDevice(d.String())
		if err != nil || back != d {
			t.Fatalf("%q parsed to %v, which round-trips to %v, %v", s, d, back, err)
		}
		if d.ID < 0 {
			t.Fatalf("%q gave a negative device id", s)
		}
	})
}

// checkInterface checks that the header reader (ReadInterface) and ONNX
// Runtime report the same inputs and outputs for the model at path; what
// names it in failures.
func checkInterface(t *testing.T, path, what string) {
	t.Helper()
	in, out, err := ReadInterface(path)
	if err != nil {
		t.Fatal(err)
	}
	oin, oout, err := ortInterface(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, oin) || !reflect.DeepEqual(out, oout) {
		t.Errorf("%s:\nheader %+v -> %+v\nORT    %+v -> %+v", what, in, out, oin, oout)
	}
}

// TestReadInterfaceMatchesORT checks the header reader against ONNX
// Runtime's own view of each test graph.
func TestReadInterfaceMatchesORT(t *testing.T) {
	requireORT(t)
	for name, model := range map[string][]byte{
		"classifier":       onnxtest.Classifier("subj_pos", "obj_pos"),
		"scorer":           onnxtest.Scorer(9, "entity_pos"),
		"multiple_choice":  onnxtest.MultipleChoice(),
		"token_classifier": onnxtest.TokenClassifier(24),
	} {
		t.Run(name, func(t *testing.T) {
			checkInterface(t, writeModel(t, name+".onnx", model), name)
		})
	}
	bad := writeModel(t, "bad.onnx", []byte{0x3a, 0xff, 0xff, 0xff, 0x0f, 1, 2})
	if _, _, err := ReadInterface(bad); err == nil {
		t.Fatal("truncated model accepted")
	}
}

func FuzzReadInterface(f *testing.F) {
	f.Add(onnxtest.Classifier("entity_pos"))
	f.Add(onnxtest.MultipleChoice())
	f.Add([]byte{0x3a, 0x02, 0x5a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "m.onnx")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadInterface(p) // must not panic or hang
	})
}

func TestConfigEntries(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		env  string
		want map[string]string
		bad  bool
	}{
		{name: "none", want: map[string]string{}},
		{name: "options", opts: Options{Config: map[string]string{"session.intra_op.allow_spinning": "0"}},
			want: map[string]string{"session.intra_op.allow_spinning": "0"}},
		{name: "environment adds and overrides", opts: Options{Config: map[string]string{"a": "1"}}, env: "a=2, b=3",
			want: map[string]string{"a": "2", "b": "3"}},
		{name: "value may hold =", env: "k=x=y", want: map[string]string{"k": "x=y"}},
		{name: "not key=value", env: "novalue", bad: true},
		{name: "empty key", env: "=1", bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KADAPTER_ORT_CONFIG", c.env)
			got, err := configEntries(c.opts)
			if c.bad {
				if err == nil || !strings.Contains(err.Error(), "KADAPTER_ORT_CONFIG") {
					t.Fatalf("want an error naming KADAPTER_ORT_CONFIG, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}
