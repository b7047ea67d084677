package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kadapter/kadapter/runtime/onnxtest"
)

// Report is what `krun doctor` prints: the ONNX Runtime library, the
// providers beside it, the CUDA libraries, the GPUs and a smoke test per
// device.
type Report struct {
	Library   LibraryReport  `json:"library"`
	Providers []ProviderFile `json:"providers"`
	// CUDALibDirs are the folders searched for the CUDA libraries, in order.
	CUDALibDirs []string    `json:"cuda_lib_dirs"`
	CUDALibs    []CUDALib   `json:"cuda_libs"`
	GPU         GPUReport   `json:"gpu"`
	Smoke       []SmokeTest `json:"smoke"`
	// CUDAAvailable is true when the CUDA smoke test passed; CUDAReason
	// says why not.
	CUDAAvailable bool   `json:"cuda_available"`
	CUDAReason    string `json:"cuda_reason,omitempty"`
}

// LibraryReport is the loaded ONNX Runtime core.
type LibraryReport struct {
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	// APIVersion is the C API version asked for.
	APIVersion int    `json:"api_version"`
	Error      string `json:"error,omitempty"`
	// PairError is set when a CUDA provider beside it was refused.
	PairError string `json:"pair_error,omitempty"`
	// Installed lists the libraries in the kadapter cache.
	Installed []string `json:"installed,omitempty"`
}

// ProviderFile is one provider library looked for beside the core.
type ProviderFile struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Found bool   `json:"found"`
	Bytes int64  `json:"bytes,omitempty"`
}

// GPU is one NVIDIA GPU.
type GPU struct {
	Index  string `json:"index"`
	Name   string `json:"name"`
	Memory string `json:"memory,omitempty"`
}

// GPUReport lists the GPUs and the driver.
type GPUReport struct {
	Driver string `json:"driver,omitempty"`
	GPUs   []GPU  `json:"gpus"`
	// Source is where the information came from (nvidia-smi or
	// /proc/driver/nvidia); Error says why there is none.
	Source string `json:"source,omitempty"`
	Error  string `json:"error,omitempty"`
}

// SmokeTest is one small graph run on one device through the device path.
type SmokeTest struct {
	Device    string  `json:"device"`
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	Seconds   float64 `json:"seconds"`
	Placement string  `json:"placement,omitempty"`
	// MaxAbsDiff is the largest difference from the expected values.
	MaxAbsDiff float64 `json:"max_abs_diff"`
}

// Diagnose inspects this machine's ONNX Runtime and CUDA setup and runs the
// smoke test on the CPU and on each CUDA device in cuda (none when empty).
// It never fails: every problem is reported in the Report.
func Diagnose(ctx context.Context, cuda []Device) Report {
	var r Report
	r.Library.APIVersion = MinAPIVersion
	wantCUDA := len(cuda) > 0
	dev := CPU
	if wantCUDA {
		dev = cuda[0]
	}
	if c := cacheDir(); c != "" {
		g, _ := filepath.Glob(filepath.Join(c, "onnxruntime", "*", "libonnxruntime.so"))
		r.Library.Installed = g
	}
	// Pair refusals are reported even if another library then loads.
	for _, c := range CandidatesFor(dev) {
		if _, err := os.Stat(c.Path); err == nil && hasCUDAProvider(c.Path) {
			if _, err := CheckPair(c.Path); err != nil {
				r.Library.PairError = err.Error()
			}
			break
		}
	}
	if err := InitFor(dev); err != nil {
		r.Library.Error = err.Error()
	} else {
		r.Library.Path, r.Library.Version = LibraryPath(), Version()
	}
	if r.Library.Path != "" {
		dir := filepath.Dir(r.Library.Path)
		for _, n := range []string{SharedProviderFile, CUDAProviderFile, "libonnxruntime_providers_tensorrt.so"} {
			p := ProviderFile{Name: n, Path: filepath.Join(dir, n)}
			if st, err := os.Stat(p.Path); err == nil {
				p.Found, p.Bytes = true, st.Size()
			}
			r.Providers = append(r.Providers, p)
		}
	}
	r.CUDALibDirs = CUDALibDirs()
	if wantCUDA {
		r.CUDALibs = PreloadCUDALibraries()
	} else {
		r.CUDALibs = FindCUDALibraries(r.CUDALibDirs)
	}
	r.GPU = gpus(ctx)
	if r.Library.Path == "" {
		r.CUDAReason = "no ONNX Runtime library loaded"
		return r
	}
	devs := append([]Device{CPU}, cuda...)
	for _, d := range devs {
		r.Smoke = append(r.Smoke, smoke(ctx, d))
	}
	if !wantCUDA {
		r.CUDAReason = "not checked"
		return r
	}
	r.CUDAAvailable = true
	for _, s := range r.Smoke[1:] {
		if !s.OK {
			r.CUDAAvailable = false
		}
	}
	if !r.CUDAAvailable {
		r.CUDAReason = cudaReason(r)
	}
	return r
}

// cudaReason names the first thing missing for CUDA.
func cudaReason(r Report) string {
	if r.Library.PairError != "" {
		return r.Library.PairError
	}
	for _, p := range r.Providers {
		if p.Name == CUDAProviderFile && !p.Found {
			return fmt.Sprintf("the loaded ONNX Runtime (%s) has no CUDA provider beside it; install a matching pair with "+
				"`scripts/fetch-onnxruntime.sh --cuda` (and unset %s, or point it at that pair)", r.Library.Path, LibraryEnv)
		}
	}
	var missing []string
	for _, l := range r.CUDALibs {
		if l.Required && l.Path == "" && l.Name != "libcuda.so.1" {
			missing = append(missing, l.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("CUDA libraries not found: %s (install NVIDIA's CUDA 13 pip wheels, e.g. nvidia-cublas nvidia-cuda-runtime "+
			"nvidia-curand nvidia-cudnn-cu13, or a CUDA 13 toolkit, and point --cuda-libs / %s at them if they are not in a usual place)",
			strings.Join(missing, ", "), CUDALibsEnv)
	}
	if len(r.GPU.GPUs) == 0 {
		return "no NVIDIA GPU or driver: " + r.GPU.Error
	}
	for _, s := range r.Smoke[1:] {
		if !s.OK {
			return s.Device + ": " + s.Error
		}
	}
	return ""
}

// gpus asks nvidia-smi, else /proc/driver/nvidia.
func gpus(ctx context.Context) GPUReport {
	var g GPUReport
	if smi, err := exec.LookPath("nvidia-smi"); err == nil {
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(c, smi, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader").Output()
		if err == nil {
			g.Source = "nvidia-smi"
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, ",")
				if len(f) < 4 {
					continue
				}
				g.GPUs = append(g.GPUs, GPU{Index: strings.TrimSpace(f[0]), Name: strings.TrimSpace(f[1]), Memory: strings.TrimSpace(f[2])})
				g.Driver = strings.TrimSpace(f[3])
			}
			return g
		}
		g.Error = "nvidia-smi failed: " + err.Error() + "; "
	} else {
		g.Error = "nvidia-smi not found; "
	}
	if v, err := os.ReadFile("/proc/driver/nvidia/version"); err == nil {
		g.Source = "/proc/driver/nvidia"
		g.Driver = strings.TrimSpace(strings.SplitN(string(v), "\n", 2)[0])
		infos, _ := filepath.Glob("/proc/driver/nvidia/gpus/*/information")
		for i, p := range infos {
			b, _ := os.ReadFile(p)
			gpu := GPU{Index: fmt.Sprint(i)}
			for _, l := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "Model" {
					gpu.Name = strings.TrimSpace(v)
				}
			}
			g.GPUs = append(g.GPUs, gpu)
		}
		g.Error = ""
		return g
	}
	g.Error += "/proc/driver/nvidia is absent (no NVIDIA kernel driver)"
	return g
}

// smoke runs onnxtest.SGDStep (float Mul/Sub/ReduceSum, all of which every
// provider implements) on d through DeviceSession, with CPU fallback
// disabled, and checks the result.
func smoke(ctx context.Context, d Device) SmokeTest {
	s := SmokeTest{Device: d.String()}
	start := time.Now()
	defer func() { s.Seconds = time.Since(start).Seconds() }()
	dir, err := os.MkdirTemp("", "kadapter-doctor")
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "smoke.onnx")
	if err := onnxtest.Write(path, onnxtest.SGDStep()); err != nil {
		s.Error = err.Error()
		return s
	}
	ds, err := OpenDevice(path, Options{Device: d, IntraOpThreads: 1, DisableCPUFallback: true, CUDA: map[string]string{"use_tf32": "0"}})
	if err != nil {
		// ONNX Runtime's own message: the report says the rest.
		var de *DeviceError
		if errors.As(err, &de) {
			err = de.Err
		}
		s.Error = strings.TrimSpace(err.Error())
		return s
	}
	defer ds.Close()
	const n = 1024
	p, g := make([]float32, n), make([]float32, n)
	for i := range p {
		p[i], g[i] = float32(i)/n, float32(i%7)-3
	}
	out, err := ds.Run(ctx, map[string]Tensor{
		"param": {Shape: []int64{n}, Data: p}, "grad": {Shape: []int64{n}, Data: g}, "lr": {Shape: []int64{}, Data: []float32{0.5}},
	})
	if err != nil {
		s.Error = err.Error()
		return s
	}
	po := out["param_out"].Data.([]float32)
	var sq float64
	for i := range p {
		s.MaxAbsDiff = math.Max(s.MaxAbsDiff, math.Abs(float64(po[i])-float64(p[i]-0.5*g[i])))
		sq += float64(g[i]) * float64(g[i])
	}
	s.MaxAbsDiff = math.Max(s.MaxAbsDiff, math.Abs(float64(out["grad_sq"].Data.([]float32)[0])-sq))
	if pl, err := ds.Placement(); err == nil {
		s.Placement = pl.String()
	}
	s.OK = s.MaxAbsDiff <= 1e-3
	if !s.OK {
		s.Error = fmt.Sprintf("wrong result: max abs difference %g", s.MaxAbsDiff)
	}
	return s
}
