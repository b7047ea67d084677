package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	krt "github.com/kadapter/kadapter/runtime"
)

type doctorCase struct {
	name     string
	args     []string
	code     int
	stdout   []string // substrings of stdout
	stderr   []string
	checkRep func(t *testing.T, r krt.Report)
}

func TestDoctor(t *testing.T) {
	rtRequireORT(t)
	noGPU := os.Getenv("KADAPTER_TEST_CUDA") == ""
	fake := t.TempDir()
	os.WriteFile(filepath.Join(fake, "libcurand.so.10"), []byte("not a library"), 0o644)
	cases := []doctorCase{
		{name: "text", args: []string{"doctor"}, code: 0,
			stdout: []string{"ONNX Runtime", "library   ", "CUDA libraries", "libcublasLt.so.13", "searched:", "GPUs", "Smoke test", "cpu     ok", "CUDA: "}},
		{name: "cpu only", args: []string{"doctor", "--device", "cpu"}, code: 0, stdout: []string{"CUDA: not checked"}},
		{name: "json", args: []string{"doctor", "--json"}, code: 0, checkRep: func(t *testing.T, r krt.Report) {
			if r.Library.Path == "" || !strings.HasPrefix(r.Library.Version, "1.") || r.Library.APIVersion != krt.MinAPIVersion {
				t.Errorf("library %+v", r.Library)
			}
			if len(r.Smoke) != 2 || !r.Smoke[0].OK || r.Smoke[0].Device != "cpu" || !strings.Contains(r.Smoke[0].Placement, "CPUExecutionProvider") {
				t.Errorf("smoke %+v", r.Smoke)
			}
			if len(r.CUDALibs) == 0 || len(r.Providers) == 0 {
				t.Errorf("no CUDA libraries or providers listed: %+v", r)
			}
			if noGPU && (r.CUDAAvailable || r.CUDAReason == "" || r.Smoke[1].OK || r.Smoke[1].Error == "") {
				t.Errorf("CUDA reported available on a machine without a GPU: %+v", r)
			}
		}},
		{name: "cuda-libs folder searched first", args: []string{"doctor", "--device", "cpu", "--json", "--cuda-libs", fake}, code: 0,
			checkRep: func(t *testing.T, r krt.Report) {
				if len(r.CUDALibDirs) == 0 || r.CUDALibDirs[0] != fake {
					t.Errorf("search order %v, want %s first", r.CUDALibDirs, fake)
				}
				for _, l := range r.CUDALibs {
					if l.Name == "libcurand.so.10" && l.Path != filepath.Join(fake, "libcurand.so.10") {
						t.Errorf("libcurand found at %q", l.Path)
					}
				}
			}},
		{name: "bad device", args: []string{"doctor", "--device", "tpu"}, code: 2, stderr: []string{"--device"}},
		{name: "extra argument", args: []string{"doctor", "x"}, code: 2, stderr: []string{"unexpected arguments"}},
	}
	if noGPU {
		cases = append(cases, doctorCase{name: "require cuda without a GPU", args: []string{"doctor", "--require-cuda"}, code: 1,
			stdout: []string{"CUDA: unavailable: "}, stderr: []string{"CUDA is unavailable: "}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.Contains(c.name, "cuda-libs") {
				t.Setenv(krt.CUDALibsEnv, "")
			}
			code, stdout, stderr := rtRun(t, context.Background(), "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			for _, w := range c.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if c.checkRep != nil {
				var r krt.Report
				if err := json.Unmarshal([]byte(stdout), &r); err != nil {
					t.Fatalf("--json output: %v\n%s", err, stdout)
				}
				c.checkRep(t, r)
			}
		})
	}
}
