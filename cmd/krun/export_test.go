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

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
)

func exRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

func exTiny(t *testing.T) string {
	t.Helper()
	return testshared.Path(t, "fixtures", "kadapter-tiny")
}

func TestExportUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.onnx")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "required"},
		{"bad task", []string{"--roberta", "x", "--task", "squad", "--out", out}, "unknown task"},
		{"skip 1", []string{"--roberta", "x", "--task", "tacred", "--task-model", "t", "--adapter-skip-layers", "1", "--out", out}, "IndexError"},
		{"bad fusion", []string{"--roberta", "x", "--task", "tacred", "--task-model", "t", "--fusion", "mul", "--out", out}, "concat or add"},
		{"cosmosqa rates", []string{"--roberta", "x", "--task", "cosmosqa", "--task-model", "t", "--out", out}, "--a-rate"},
		{"bad rate", []string{"--roberta", "x", "--task", "cosmosqa", "--task-model", "t", "--a-rate", "x", "--b-rate", "1", "--out", out}, "not a number"},
		{"features concat from adapter files", []string{"--roberta", "x", "--task", "features", "--fac", "f", "--out", out}, "--fusion add"},
		{"rates elsewhere", []string{"--roberta", "x", "--task", "tacred", "--task-model", "t", "--a-rate", "1", "--out", out}, "cosmosqa only"},
		{"tacred without task model", []string{"--roberta", "x", "--task", "tacred", "--out", out}, "--task-model"},
		{"pretrain with task model", []string{"--roberta", "x", "--task", "trex-rc", "--task-model", "t", "--out", out}, "--fac/--lin"},
		{"bad list", []string{"--roberta", "x", "--task", "tacred", "--task-model", "t", "--adapter-list", "0,a", "--out", out}, "bad integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := exRun(t, append([]string{"export"}, c.args...)...)
			if code != cli.ExitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr, c.want)
			}
		})
	}
	if code, _, _ := exRun(t, "export", "--help"); code != cli.ExitOK {
		t.Fatalf("--help exit %d", code)
	}
}

// TestExportTACREDEndToEnd exports the TACRED fixture twice (byte-identical
// files), then, with ONNX Runtime, runs it through `krun infer` and checks
// the logits against ref_float64.
func TestExportTACREDEndToEnd(t *testing.T) {
	root := exTiny(t)
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"export", "--roberta", filepath.Join(root, "roberta"), "--task", "tacred",
			"--task-model", filepath.Join(root, "tacred", "pytorch_model.bin"),
			"--adapter-list", "0,1,3", "--adapter-heads", "4", "--expose", "subj_output,task_features", "--json", "--out", out}
	}
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	code, stdout, stderr := exRun(t, args(a)...)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	var names []string
	for _, o := range sum.Outputs {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "logits,subj_output,task_features" || sum.Outputs[0].Shape != "[batch,42]" {
		t.Fatalf("outputs %+v", sum.Outputs)
	}
	if len(sum.Inputs) != 4 || sum.Inputs[2].Name != "subj_pos" || sum.Inputs[3].Name != "obj_pos" {
		t.Fatalf("inputs %+v", sum.Inputs)
	}
	if code, _, stderr := exRun(t, args(b)...); code != 0 {
		t.Fatalf("second export exit %d: %s", code, stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) || len(ab) == 0 {
		t.Fatalf("two exports differ (%d vs %d bytes)", len(ab), len(bb))
	}

	rtRequireORT(t) // the ONNX Runtime half
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	for _, name := range []string{"input_ids", "attention_mask"} {
		arr, err := npy.ReadFile(filepath.Join(root, "tacred", "inputs", name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(filepath.Join(in, name+".npy"), arr); err != nil {
			t.Fatal(err)
		}
	}
	for pos, file := range map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"} {
		arr, err := npy.ReadFile(filepath.Join(root, "tacred", "inputs", file+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		v, l := arr.AsFloat64(), arr.Shape[1]
		idx := make([]int64, arr.Shape[0])
		for i := range idx {
			for j := 0; j < l; j++ {
				if v[i*l+j] == 1 {
					idx[i] = int64(j)
				}
			}
		}
		if err := npy.WriteFile(filepath.Join(in, pos+".npy"), &npy.Array{DType: npy.Int64, Shape: []int{len(idx)}, Int64: idx}); err != nil {
			t.Fatal(err)
		}
	}
	outDir := filepath.Join(dir, "out")
	if code, _, stderr := exRun(t, "infer", "--model", a, "--inputs", in, "--outputs", outDir); code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	got, err := npy.ReadFile(filepath.Join(outDir, "logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadFile(filepath.Join(root, "tacred", "ref_float64", "logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	g, w := got.AsFloat64(), want.AsFloat64()
	if len(g) != len(w) {
		t.Fatalf("logits have %d values, want %d", len(g), len(w))
	}
	for i := range w {
		if math.Abs(g[i]-w[i]) > 1e-5 {
			t.Fatalf("logit %d: %v, want %v", i, g[i], w[i])
		}
	}
}

// TestExportCheckpointErrors checks that a wrong or damaged checkpoint
// gives an error naming the file and the key.
func TestExportCheckpointErrors(t *testing.T) {
	root := exTiny(t)
	dir := t.TempDir()
	rob := filepath.Join(root, "roberta")
	common := []string{"--roberta", rob, "--adapter-list", "0,1,3", "--adapter-heads", "4", "--out", filepath.Join(dir, "m.onnx")}

	// The lin-adapter file given as --fac: its dense head is [H,H], the
	// fac head needs [H,2H].
	lin := filepath.Join(root, "lin-adapter", "pytorch_model.bin")
	code, _, stderr := exRun(t, append([]string{"export", "--task", "trex-rc", "--fac", lin}, common...)...)
	if code != cli.ExitFailed || !strings.Contains(stderr, lin) || !strings.Contains(stderr, `"dense.weight"`) {
		t.Fatalf("lin file as --fac: exit %d, stderr %q", code, stderr)
	}

	// A task checkpoint missing one adapter key.
	c, err := checkpoint.Open(filepath.Join(root, "tacred", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const dropped = "lin_adapter.adapter.1.encoder.layer.0.output.dense.bias"
	var keep []*checkpoint.Tensor
	for _, tn := range c.Ordered() {
		if tn.Name != dropped {
			keep = append(keep, tn)
		}
	}
	broken := filepath.Join(dir, "broken.safetensors")
	if err := checkpoint.WriteSafetensors(broken, keep, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = exRun(t, append([]string{"export", "--task", "tacred", "--task-model", broken}, common...)...)
	if code != cli.ExitFailed || !strings.Contains(stderr, broken) || !strings.Contains(stderr, dropped) {
		t.Fatalf("missing key: exit %d, stderr %q", code, stderr)
	}

	// A truncated task checkpoint.
	full, err := os.ReadFile(filepath.Join(root, "tacred", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.bin")
	if err := os.WriteFile(cut, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = exRun(t, append([]string{"export", "--task", "tacred", "--task-model", cut}, common...)...)
	if code != cli.ExitFailed || !strings.Contains(stderr, cut) {
		t.Fatalf("truncated file: exit %d, stderr %q", code, stderr)
	}

	// An adapter list that does not match the adapter count.
	bad := []string{"export", "--task", "tacred", "--task-model", filepath.Join(root, "tacred", "pytorch_model.bin"),
		"--roberta", rob, "--adapter-list", "0,1", "--adapter-heads", "4", "--out", filepath.Join(dir, "m.onnx")}
	code, _, stderr = exRun(t, bad...)
	if code != cli.ExitFailed || !strings.Contains(stderr, "3 adapters") {
		t.Fatalf("list mismatch: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.onnx")); !os.IsNotExist(err) {
		t.Fatalf("a failed export left %s behind", filepath.Join(dir, "m.onnx"))
	}
}
