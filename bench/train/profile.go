package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kadapter/kadapter/internal/npy"
	krt "github.com/kadapter/kadapter/runtime"
)

// profile runs GRAPH (a step.onnx or adamw.onnx that `krun train
// --save-graphs` wrote) RUNS times (BENCH_PROFILE_RUNS, default 2: the
// first is the warm-up) with ONNX Runtime's profiler on, all graph
// optimizations and BENCH_THREADS intra-op threads, and writes the profile
// to OUT_<date>.json. Inputs: DATA/<name>.npy where it exists (its first
// BENCH_BATCH rows), loss_scale 1, acc_keep 0, step_size 1e-6, lr_decay 0,
// every other (parameter, gradient, moment) input random N(0, 0.02²) with
// its declared shape. Outputs are allocated by ONNX Runtime.
// BENCH_ORT_SPIN=0 turns off the intra-op threads' spinning
// (session.intra_op.allow_spinning), BENCH_PROFILE_OFF=1 the profiler
// (plain timing of the runs).
func profile(graph, data, out string) error {
	threads, runs, batch := envInt("BENCH_THREADS", 1), envInt("BENCH_PROFILE_RUNS", 2), envInt("BENCH_BATCH", 8)
	if err := krt.Init(); err != nil {
		return err
	}
	so, err := krt.SessionOptions(krt.Options{IntraOpThreads: threads})
	if err != nil {
		return err
	}
	defer so.Destroy()
	if os.Getenv("BENCH_ORT_SPIN") == "0" {
		// ONNX Runtime's intra-op workers spin between ops by default.
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return err
		}
	}
	if os.Getenv("BENCH_PROFILE_OFF") != "1" {
		if err := so.EnableProfiling(out); err != nil {
			return err
		}
	}
	ins, outs, err := krt.ReadInterface(graph)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var inNames, outNames []string
	var vals []ort.Value
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	for _, in := range ins {
		inNames = append(inNames, in.Name)
		var v ort.Value
		if a, err := npy.ReadFile(filepath.Join(data, in.Name+".npy")); err == nil {
			per := a.Len() / a.Shape[0]
			dims := ort.NewShape(int64(batch))
			for _, d := range a.Shape[1:] {
				dims = append(dims, int64(d))
			}
			switch a.DType {
			case npy.Int64:
				v, err = ort.NewTensor(dims, a.Int64[:batch*per])
			case npy.Float32:
				v, err = ort.NewTensor(dims, a.Float32[:batch*per])
			default:
				err = fmt.Errorf("%s.npy: dtype %s", in.Name, a.DType)
			}
			if err != nil {
				return err
			}
		} else {
			n := 1
			shape := append([]int64(nil), in.Shape...)
			for i, d := range shape {
				if d < 0 {
					if len(shape) != 1 {
						return fmt.Errorf("input %s has a dynamic shape %v and no %s.npy in %s", in.Name, in.Shape, in.Name, data)
					}
					shape[i] = 1 << 20 // an AdamW chunk (train.chunkElems)
				}
				n *= int(shape[i])
			}
			x := make([]float32, n)
			switch in.Name {
			case "loss_scale", "clip":
				x[0] = 1
			case "acc_keep", "lr_decay":
			case "step_size":
				x[0] = 1e-6
			default:
				for i := range x {
					x[i] = float32(rng.NormFloat64()) * 0.02
				}
			}
			if v, err = ort.NewTensor(ort.NewShape(shape...), x); err != nil {
				return err
			}
		}
		vals = append(vals, v)
	}
	for _, o := range outs {
		outNames = append(outNames, o.Name)
	}
	t0 := time.Now()
	sess, err := ort.NewDynamicAdvancedSession(graph, inNames, outNames, so)
	if err != nil {
		return err
	}
	defer sess.Destroy()
	fmt.Printf("%s: %d inputs, %d outputs, session %.1f s\n", graph, len(inNames), len(outNames), time.Since(t0).Seconds())
	for r := 0; r < runs; r++ {
		res := make([]ort.Value, len(outNames))
		t := time.Now()
		if err := sess.Run(vals, res); err != nil {
			return err
		}
		fmt.Printf("run %d: %.3f s\n", r+1, time.Since(t).Seconds())
		for _, v := range res {
			if v != nil {
				v.Destroy()
			}
		}
	}
	return nil
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}
