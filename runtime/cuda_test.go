package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/runtime/onnxtest"
)

// The device layer on the CPU device runs exactly the code a CUDA session
// runs (C API session, allocator, buffers, IoBinding, placement), with CPU
// memory; only the copies differ (memcpy instead of cudaMemcpy).

func TestDeviceSessionRunMatchesSession(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "cls.onnx", onnxtest.Classifier("subj_pos", "obj_pos"))
	in := map[string]Tensor{
		"input_ids":      {Shape: []int64{2, 3}, Data: []int64{5, 6, 1, 7, 1, 1}},
		"attention_mask": {Shape: []int64{2, 3}, Data: []int64{1, 1, 0, 1, 0, 0}},
		"subj_pos":       {Shape: []int64{2}, Data: []int64{1, 0}},
		"obj_pos":        {Shape: []int64{2}, Data: []int64{2, 2}},
	}
	for _, lvl := range []OptLevel{OptDisable, OptAll} {
		t.Run(string(lvl), func(t *testing.T) {
			ref, err := Open(path, Options{IntraOpThreads: 1, Optimization: lvl})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			want, err := ref.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := OpenDevice(path, Options{IntraOpThreads: 1, Optimization: lvl, DisableCPUFallback: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			got, err := ds.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"logits", "seq_len"} {
				if !reflect.DeepEqual(got[name], want[name]) {
					t.Errorf("%s: device path %+v, onnxruntime_go path %+v", name, got[name], want[name])
				}
			}
			only, err := ds.Run(context.Background(), in, "seq_len")
			if err != nil || len(only) != 1 || only["seq_len"].Data == nil {
				t.Fatalf("fetching one output: %v %v", only, err)
			}
		})
	}
}

func TestDeviceSessionErrors(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "cls.onnx", onnxtest.Classifier())
	ds, err := OpenDevice(path, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ok := Tensor{Shape: []int64{1, 2}, Data: []int64{1, 2}}
	cases := []struct {
		name string
		in   map[string]Tensor
		want string
	}{
		{"missing input", map[string]Tensor{"input_ids": ok}, "missing input attention_mask"},
		{"wrong dtype", map[string]Tensor{"input_ids": ok, "attention_mask": {Shape: []int64{1, 2}, Data: []float32{1, 1}}}, "is float32, the graph wants int64"},
		{"unknown input", map[string]Tensor{"input_ids": ok, "attention_mask": ok, "x": ok}, "3 inputs given"},
		{"bad tensor", map[string]Tensor{"input_ids": {Shape: []int64{3}, Data: []int64{1}}, "attention_mask": ok}, "needs 3 elements"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ds.Run(context.Background(), c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	b, _ := ds.NewBinding()
	defer b.Close()
	buf, err := ds.NewBuffer("int64", []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	if err := b.BindInput("nope", buf); err == nil || !strings.Contains(err.Error(), `no input "nope"`) {
		t.Fatalf("binding an unknown input: %v", err)
	}
	if err := b.BindOutputToDevice("nope"); err == nil || !strings.Contains(err.Error(), `no output "nope"`) {
		t.Fatalf("binding an unknown output: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ds.RunBinding(ctx, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if _, err := OpenDevice(filepath.Join(t.TempDir(), "none.onnx"), Options{}); err == nil {
		t.Fatal("opening a missing model succeeded")
	}
}

func TestDeviceBuffers(t *testing.T) {
	requireORT(t)
	ds, err := OpenDevice(writeModel(t, "step.onnx", onnxtest.SGDStep()), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	cases := []Tensor{
		{Shape: []int64{2, 2}, Data: []float32{1, -2, 3.5, 4}},
		{Shape: []int64{3}, Data: []float64{1e-300, 2, math.Pi}},
		{Shape: []int64{2}, Data: []int64{-1, 1 << 40}},
		{Shape: []int64{2}, Data: []int32{7, -7}},
		{Shape: []int64{4}, Data: []uint8{0, 1, 254, 255}},
		{Shape: []int64{2}, Data: []bool{true, false}},
		{Shape: []int64{}, Data: []float32{0.5}},
		{Shape: []int64{0, 3}, Data: []float32{}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s%v", c.DType(), c.Shape), func(t *testing.T) {
			b, err := ds.Upload(c)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Device() != CPU || b.Location() != "Cpu:0" || b.DType() != c.DType() || !reflect.DeepEqual(b.Shape(), c.Shape) {
				t.Fatalf("buffer %s %s %v on %s", b.Location(), b.DType(), b.Shape(), b.Device())
			}
			back, err := b.Tensor()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c) && c.NumElements() > 0 {
				t.Fatalf("round trip %+v, want %+v", back, c)
			}
			cp, err := ds.NewBuffer(c.DType(), c.Shape)
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			if err := cp.CopyFromBuffer(b); err != nil {
				t.Fatal(err)
			}
			if back2, _ := cp.Tensor(); !reflect.DeepEqual(back2, back) {
				t.Fatalf("buffer copy %+v, want %+v", back2, back)
			}
		})
	}
	f, _ := ds.NewBuffer("float32", []int64{2})
	defer f.Close()
	bad := []struct {
		name string
		err  error
		want string
	}{
		{"dtype", f.CopyFrom(Tensor{Shape: []int64{2}, Data: []int64{1, 2}}), "cannot copy int64"},
		{"size", f.CopyFrom(Tensor{Shape: []int64{3}, Data: []float32{1, 2, 3}}), "cannot copy float32 [3]"},
		{"buffer size", f.CopyFromBuffer(mustBuffer(t, ds, "float32", 3)), "cannot copy a float32 [3]"},
		{"element type", errOf(ds.NewBuffer("complex64", []int64{1})), "unsupported element type"},
		{"negative shape", errOf(ds.NewBuffer("float32", []int64{-1})), "negative dimension"},
	}
	for _, c := range bad {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, c.err, c.want)
		}
	}
	h, _ := ds.NewBuffer("float16", []int64{2})
	defer h.Close()
	if _, err := h.Tensor(); err == nil || !strings.Contains(err.Error(), "cannot be read into a Go tensor") {
		t.Errorf("float16 read-back: %v", err)
	}
	f.Close()
	if _, err := f.Tensor(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed buffer: %v", err)
	}
}

func mustBuffer(t *testing.T, ds *DeviceSession, dtype string, n int64) *DeviceBuffer {
	b, err := ds.NewBuffer(dtype, []int64{n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func errOf(_ *DeviceBuffer, err error) error { return err }

// TestResidentTrainingState is the pattern a training step uses: the
// parameter lives in device buffers across steps (ping-pong between two
// buffers, and in place), only the gradient batch and the scalar lr are
// copied in each step, and nothing is read back until the end.
func TestResidentTrainingState(t *testing.T) {
	requireORT(t)
	for _, lvl := range []OptLevel{OptDisable, OptAll} {
		for _, mode := range []string{"ping-pong", "in-place"} {
			t.Run(string(lvl)+"/"+mode, func(t *testing.T) {
				ds, err := OpenDevice(writeModel(t, "step.onnx", onnxtest.SGDStep()), Options{IntraOpThreads: 1, Optimization: lvl})
				if err != nil {
					t.Fatal(err)
				}
				defer ds.Close()
				p0 := []float32{1, 2, 3, 4}
				pa, err := ds.Upload(Tensor{Shape: []int64{4}, Data: p0})
				if err != nil {
					t.Fatal(err)
				}
				defer pa.Close()
				pb := pa
				if mode == "ping-pong" {
					pb = mustBuffer(t, ds, "float32", 4)
				}
				grad := mustBuffer(t, ds, "float32", 4)
				lr, _ := ds.NewBuffer("float32", nil)
				defer lr.Close()
				gsq, _ := ds.NewBuffer("float32", nil)
				defer gsq.Close()
				b, err := ds.NewBinding()
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				for _, x := range []struct {
					in   bool
					name string
					buf  *DeviceBuffer
				}{{true, "grad", grad}, {true, "lr", lr}, {false, "grad_sq", gsq}} {
					if x.in {
						err = b.BindInput(x.name, x.buf)
					} else {
						err = b.BindOutput(x.name, x.buf)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				want := append([]float32(nil), p0...)
				cur, next := pa, pb
				var wantSq float32
				for step := 0; step < 3; step++ {
					g := []float32{0.5, -1, float32(step), 2}
					rate := float32(0.1) * float32(step+1)
					if err := grad.CopyFrom(Tensor{Shape: []int64{4}, Data: g}); err != nil {
						t.Fatal(err)
					}
					if err := lr.CopyFrom(Tensor{Shape: nil, Data: []float32{rate}}); err != nil {
						t.Fatal(err)
					}
					if err := b.BindInput("param", cur); err != nil {
						t.Fatal(err)
					}
					if err := b.BindOutput("param_out", next); err != nil {
						t.Fatal(err)
					}
					if err := ds.RunBinding(context.Background(), b); err != nil {
						t.Fatal(err)
					}
					wantSq = 0
					for i := range want {
						want[i] -= rate * g[i]
						wantSq += g[i] * g[i]
					}
					cur, next = next, cur
				}
				got, err := cur.Tensor()
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got.Data.([]float32) {
					if math.Abs(float64(v-want[i])) > 1e-6 {
						t.Fatalf("param after 3 steps %v, want %v", got.Data, want)
					}
				}
				sq, _ := gsq.Tensor()
				if sq.Data.([]float32)[0] != wantSq {
					t.Fatalf("grad_sq %v, want %v", sq.Data, wantSq)
				}
				outs, err := b.Outputs()
				if err != nil {
					t.Fatal(err)
				}
				if len(outs) != 2 || outs["param_out"] == nil || outs["grad_sq"] == nil {
					t.Fatalf("bound outputs %v", outs)
				}
				for _, o := range outs {
					o.Close()
				}
			})
		}
	}
}

func TestPlacementCPU(t *testing.T) {
	requireORT(t)
	ds, err := OpenDevice(writeModel(t, "cls.onnx", onnxtest.Classifier("subj_pos")), Options{IntraOpThreads: 1, Optimization: OptDisable})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	p, err := ds.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if p.Total == 0 || p.Nodes["CPUExecutionProvider"] != p.Total || len(p.On("CUDAExecutionProvider")) != 0 {
		t.Fatalf("placement %v (%+v)", p, p.Assignments)
	}
	ops := map[string]bool{}
	for _, a := range p.Assignments {
		ops[a.Op] = true
	}
	if !ops["ReduceSum"] || !ops["Concat"] {
		t.Fatalf("placement lacks the graph's ops: %+v", p.Assignments)
	}
	if !strings.HasPrefix(p.String(), "CPUExecutionProvider ") {
		t.Fatalf("summary %q", p.String())
	}
}

// TestDeviceSessionCUDAUnavailable: on a machine without a GPU (or without
// the CUDA provider) the device path gives the same clear error as Open.
func TestDeviceSessionCUDAUnavailable(t *testing.T) {
	requireORT(t)
	if os.Getenv("KADAPTER_TEST_CUDA") != "" {
		t.Skip("KADAPTER_TEST_CUDA is set: this machine is expected to have CUDA")
	}
	path := writeModel(t, "cls.onnx", onnxtest.Classifier())
	for _, opts := range []Options{
		{Device: Device{CUDA: true}},
		{Device: Device{CUDA: true, ID: 1}, DisableCPUFallback: true, CUDA: map[string]string{"use_tf32": "0"}},
	} {
		_, err := OpenDevice(path, opts)
		if err == nil {
			t.Skip("the CUDA execution provider works here; the error path cannot be tested")
		}
		var de *DeviceError
		if !errors.As(err, &de) {
			t.Fatalf("error %T %v, want a *DeviceError", err, err)
		}
		for _, want := range []string{opts.Device.String(), "CUDA execution provider", "--device cpu", "krun doctor", "fetch-onnxruntime.sh --cuda"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
	}
}

func TestCUDAProviderOptions(t *testing.T) {
	got := CUDAProviderOptions(Device{CUDA: true, ID: 2}, map[string]string{"use_tf32": "0", "device_id": "7"})
	if !reflect.DeepEqual(got, map[string]string{"use_tf32": "0", "device_id": "2"}) {
		t.Fatalf("options %v", got)
	}
}

// TestBufferSharedAcrossSessions: a buffer allocated through one session
// feeds another session on the same device (a training engine's step and
// optimizer graphs share the parameter buffers).
func TestBufferSharedAcrossSessions(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "step.onnx", onnxtest.SGDStep())
	a, err := OpenDevice(path, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenDevice(path, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, _ := a.Upload(Tensor{Shape: []int64{2}, Data: []float32{1, 2}})
	g, _ := a.Upload(Tensor{Shape: []int64{2}, Data: []float32{1, 1}})
	lr, _ := a.Upload(Tensor{Shape: []int64{}, Data: []float32{0.5}})
	out, _ := a.NewBuffer("float32", []int64{2})
	for _, x := range []*DeviceBuffer{p, g, lr, out} {
		defer x.Close()
	}
	bd, err := b.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	for name, buf := range map[string]*DeviceBuffer{"param": p, "grad": g, "lr": lr} {
		if err := bd.BindInput(name, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := bd.BindOutput("param_out", out); err != nil {
		t.Fatal(err)
	}
	if err := bd.BindOutputToDevice("grad_sq"); err != nil {
		t.Fatal(err)
	}
	if err := b.RunBinding(context.Background(), bd); err != nil {
		t.Fatal(err)
	}
	got, _ := out.Tensor()
	if !reflect.DeepEqual(got.Data, []float32{0.5, 1.5}) {
		t.Fatalf("param_out %v", got.Data)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// On the CPU the buffers outlive the session that allocated them.
	if again, err := p.Tensor(); err != nil || !reflect.DeepEqual(again.Data, []float32{1, 2}) {
		t.Fatalf("after closing the allocating session: %v %v", again, err)
	}
}
