package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kadapter/kadapter/internal/cli"
	krt "github.com/kadapter/kadapter/runtime"
)

func init() {
	program.Register(&cli.Command{
		Name:    "doctor",
		Summary: "check the ONNX Runtime and CUDA setup: library, providers, CUDA libraries, GPUs, a smoke test per device",
		Run:     runDoctor,
	})
}

func runDoctor(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "doctor", "[--device cpu|cuda|cuda:N] [--cuda-libs DIRS] [--require-cuda] [--json]", `
What to run when --device cuda fails. Prints the ONNX Runtime library that
loads (and its version), the provider libraries beside it, each CUDA library
the CUDA provider needs (found where, or missing, with the folders searched),
the GPUs and driver (nvidia-smi, else /proc/driver/nvidia), and runs a small
graph on each device through the device-resident path (CPU fallback
disabled). CUDA is checked unless --device cpu; when it is unavailable the
reason is given. Exits 0 when the CPU smoke test passes (1 otherwise, or
with --require-cuda when CUDA is unavailable).`, env.Stderr)
	device := fs.String("device", "cuda", "CUDA device to check (cuda, cuda:N), or cpu to check the CPU only")
	cudaLibs := fs.String("cuda-libs", "", "colon-separated folders searched first for the CUDA libraries (sets "+krt.CUDALibsEnv+")")
	require := fs.Bool("require-cuda", false, "exit 1 when CUDA is unavailable")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	dev, err := krt.ParseDevice(*device)
	if err != nil {
		return cli.Usagef("--device: %v", err)
	}
	if *cudaLibs != "" {
		v := *cudaLibs
		if old := os.Getenv(krt.CUDALibsEnv); old != "" {
			v += ":" + old
		}
		os.Setenv(krt.CUDALibsEnv, v)
	}
	var cuda []krt.Device
	if dev.CUDA {
		cuda = []krt.Device{dev}
	}
	r := krt.Diagnose(ctx, cuda)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printDoctor(env.Stdout, r, dev.CUDA)
	}
	if len(r.Smoke) == 0 || !r.Smoke[0].OK {
		msg := r.Library.Error
		if len(r.Smoke) > 0 {
			msg = r.Smoke[0].Error
		}
		return fmt.Errorf("the CPU smoke test failed: %s", msg)
	}
	if *require && !r.CUDAAvailable {
		return fmt.Errorf("CUDA is unavailable: %s", r.CUDAReason)
	}
	return nil
}

func printDoctor(w io.Writer, r krt.Report, cuda bool) {
	mark := func(ok bool) string {
		if ok {
			return "ok     "
		}
		return "MISSING"
	}
	fmt.Fprintln(w, "ONNX Runtime")
	if r.Library.Path != "" {
		fmt.Fprintf(w, "  library   %s\n  version   %s (C API %d)\n", r.Library.Path, r.Library.Version, r.Library.APIVersion)
	} else {
		fmt.Fprintf(w, "  library   not loaded:\n    %s\n", strings.ReplaceAll(r.Library.Error, "\n", "\n    "))
	}
	if r.Library.PairError != "" {
		fmt.Fprintf(w, "  REFUSED   %s\n", r.Library.PairError)
	}
	for _, p := range r.Library.Installed {
		fmt.Fprintf(w, "  installed %s\n", p)
	}
	if len(r.Providers) > 0 {
		fmt.Fprintln(w, "Providers beside the library")
		for _, p := range r.Providers {
			size := ""
			if p.Found {
				size = fmt.Sprintf(" (%.1f MB)", float64(p.Bytes)/1e6)
			}
			fmt.Fprintf(w, "  %s %s%s\n", map[bool]string{true: "ok     ", false: "absent "}[p.Found], p.Path, size)
		}
	}
	fmt.Fprintln(w, "CUDA libraries (for the CUDA 13 provider)")
	for _, l := range r.CUDALibs {
		kind := "on use  "
		if l.Required {
			kind = "required"
		}
		where := l.Path
		if where == "" {
			where = "not found in the folders below"
			if l.Name == "libcuda.so.1" {
				where = "not found in the folders below (the driver's library; the dynamic loader may still find it)"
			}
		}
		extra := ""
		if l.LoadError != "" {
			extra = "  load error: " + l.LoadError
		} else if l.Loaded {
			extra = "  (preloaded)"
		}
		fmt.Fprintf(w, "  %s %-20s %s %s%s\n", mark(l.Path != ""), l.Name, kind, where, extra)
	}
	fmt.Fprintf(w, "  searched: %s\n", strings.Join(r.CUDALibDirs, ":"))
	fmt.Fprintln(w, "GPUs")
	if len(r.GPU.GPUs) == 0 {
		fmt.Fprintf(w, "  none: %s\n", r.GPU.Error)
	}
	for _, g := range r.GPU.GPUs {
		fmt.Fprintf(w, "  %s: %s %s\n", g.Index, g.Name, g.Memory)
	}
	if r.GPU.Driver != "" {
		fmt.Fprintf(w, "  driver %s (from %s)\n", r.GPU.Driver, r.GPU.Source)
	}
	fmt.Fprintln(w, "Smoke test (param - lr*grad and sum(grad^2) on 1024 floats, device-resident, CPU fallback disabled)")
	for _, s := range r.Smoke {
		if s.OK {
			fmt.Fprintf(w, "  %-7s ok      %.3f s, max abs diff %.1e, placement %s\n", s.Device, s.Seconds, s.MaxAbsDiff, s.Placement)
		} else {
			fmt.Fprintf(w, "  %-7s FAILED  %s\n", s.Device, strings.ReplaceAll(s.Error, "\n", "\n          "))
		}
	}
	switch {
	case !cuda:
		fmt.Fprintln(w, "CUDA: not checked (--device cpu)")
	case r.CUDAAvailable:
		fmt.Fprintln(w, "CUDA: available")
	default:
		fmt.Fprintf(w, "CUDA: unavailable: %s\n", r.CUDAReason)
	}
}
