package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/kadapter/kadapter/export/onnxpb"
	"github.com/kadapter/kadapter/internal/npy"
	krt "github.com/kadapter/kadapter/runtime"
)

// profileORT runs the first batch of DIR/inputs through MODEL twice with
// ONNX Runtime's profiler on (all graph optimizations, BENCH_THREADS
// intra-op threads), writes the optimized graph to OUT.optimized.onnx and
// the profile to OUT_<date>.json, and prints the ops of the optimized
// graph by type.
func profileORT(model, dir, out string) error {
	if err := krt.Init(); err != nil {
		return err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(env("BENCH_THREADS", 1)); err != nil {
		return err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return err
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return err
	}
	if err := so.SetOptimizedModelFilePath(out + ".optimized.onnx"); err != nil {
		return err
	}
	if err := so.EnableProfiling(out); err != nil {
		return err
	}
	ins, outs, err := krt.ReadInterface(model)
	if err != nil {
		return err
	}
	var inNames, outNames []string
	for _, i := range ins {
		inNames = append(inNames, i.Name)
	}
	for _, o := range outs {
		outNames = append(outNames, o.Name)
	}
	sess, err := ort.NewDynamicAdvancedSession(model, inNames, outNames, so)
	if err != nil {
		return err
	}
	defer sess.Destroy()
	read := func(name string) (*npy.Array, error) { return npy.ReadFile(filepath.Join(dir, "inputs", name+".npy")) }
	var vals []ort.Value
	for _, name := range inNames {
		a, err := read(name)
		if err != nil {
			return err
		}
		shape := a.Shape[1:]
		n := 1
		for _, d := range shape {
			n *= d
		}
		dims := make(ort.Shape, len(shape))
		for i, d := range shape {
			dims[i] = int64(d)
		}
		t, err := ort.NewTensor(dims, a.Int64[:n])
		if err != nil {
			return err
		}
		defer t.Destroy()
		vals = append(vals, t)
	}
	for r := 0; r < 2; r++ {
		res := make([]ort.Value, len(outNames))
		if err := sess.Run(vals, res); err != nil {
			return err
		}
		for _, v := range res {
			v.Destroy()
		}
	}
	counts := map[string]int{}
	if err := countOps(out+".optimized.onnx", counts); err != nil {
		return err
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%6d %s\n", counts[k], k)
	}
	return nil
}

// countOps counts the nodes of the ONNX graph at path by domain:op_type.
func countOps(path string, counts map[string]int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, n := range m.GetGraph().GetNode() {
		k := n.GetOpType()
		if d := n.GetDomain(); d != "" {
			k = d + ":" + k
		}
		counts[k]++
	}
	return nil
}
