package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/runtime/onnxtest"
)

func TestDevbenchFiles(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	code, out, errs := rtRun(t, context.Background(), "", "devbench", "files")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	files := strings.Fields(out)
	if len(files) < 40 {
		t.Fatalf("only %d files listed", len(files))
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil && !strings.HasSuffix(f, "config.json") {
			t.Errorf("listed file %s: %v", f, err)
		}
	}
}

// TestDevbenchParityCPU runs the GPU check's parity mode on the CPU modes
// (the same code path as cuda and cuda-resident, with CPU memory).
func TestDevbenchParityCPU(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	rtRequireORT(t)
	save := t.TempDir()
	code, out, errs := rtRun(t, context.Background(), "", "devbench", "parity", "--fixtures", root, "--modes", "cpu,cpu-resident",
		"--cases", "tacred,pretrain_lin,adapter_skip_layers/skip2", "--save-outputs", save, "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	var rep struct {
		Rows []parityRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 6 {
		t.Fatalf("%d rows, want 3 cases x 2 modes: %+v", len(rep.Rows), rep.Rows)
	}
	for _, r := range rep.Rows {
		if !r.OK || r.MaxAbs > 1e-5 || len(r.PerOutput) == 0 {
			t.Errorf("%s/%s: %+v", r.Case, r.Mode, r)
		}
		if r.Mode == "cpu-resident" && !strings.HasPrefix(r.Placement, "CPUExecutionProvider ") {
			t.Errorf("%s: placement %q", r.Case, r.Placement)
		}
	}
	if _, err := os.Stat(filepath.Join(save, "tacred", "logits.npy")); err != nil {
		t.Errorf("saved outputs: %v", err)
	}
	code, _, errs = rtRun(t, context.Background(), "", "devbench", "parity", "--fixtures", root, "--modes", "tpu")
	if code != 2 || !strings.Contains(errs, "unknown mode") {
		t.Errorf("bad mode: exit %d: %s", code, errs)
	}
}

func TestDevbenchThroughputCPU(t *testing.T) {
	rtRequireORT(t)
	model := rtWriteModel(t, onnxtest.Classifier())
	in := t.TempDir()
	const nb, b, l = 3, 2, 5
	ids := make([]int64, nb*b*l)
	for i := range ids {
		ids[i] = int64(i % 7)
	}
	for _, name := range []string{"input_ids", "attention_mask"} {
		if err := npy.WriteFile(filepath.Join(in, name+".npy"), &npy.Array{DType: npy.Int64, Shape: []int{nb, b, l}, Int64: ids}); err != nil {
			t.Fatal(err)
		}
	}
	prefix := filepath.Join(t.TempDir(), "out_")
	code, out, errs := rtRun(t, context.Background(), "", "devbench", "throughput", "--model", model, "--inputs", in,
		"--modes", "cpu,cpu-resident,cuda-resident", "--repeats", "2", "--logits-prefix", prefix, "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want one line per mode:\n%s", out)
	}
	var logits [][]float32
	for i, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if os.Getenv("KADAPTER_TEST_CUDA") == "" && r["error"] == nil {
				t.Errorf("cuda-resident without a GPU gave no error: %v", r)
			}
			continue
		}
		if r["error"] != nil || r["sequences_per_second"].(float64) <= 0 || r["batches"].(float64) != nb {
			t.Errorf("mode line %v", r)
		}
		a, err := npy.ReadFile(prefix + r["mode"].(string) + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Shape) != 3 || a.Shape[0] != nb || a.Shape[1] != b {
			t.Fatalf("logits shape %v", a.Shape)
		}
		logits = append(logits, a.Float32)
	}
	for i := range logits[0] {
		if logits[0][i] != logits[1][i] {
			t.Fatalf("resident and host paths differ: %v vs %v", logits[0], logits[1])
		}
	}
}
