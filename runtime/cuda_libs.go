package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// CUDALibsEnv names extra folders (colon-separated) searched first for the
// CUDA and cuDNN libraries; krun's --cuda-libs sets it.
const CUDALibsEnv = "KADAPTER_CUDA_LIBS"

// CUDALib is one library the CUDA execution provider needs.
type CUDALib struct {
	// Name is the soname, e.g. "libcublasLt.so.13".
	Name string `json:"name"`
	// Required is true for libraries the provider links against (it does
	// not load without them); the others are opened when first needed.
	Required bool `json:"required"`
	// Path is where it was found ("" when missing; "(loader)" when only the
	// dynamic loader can find it, e.g. the driver's libcuda.so.1).
	Path string `json:"path,omitempty"`
	// Loaded is set by PreloadCUDALibraries; LoadError says why not.
	Loaded    bool   `json:"loaded,omitempty"`
	LoadError string `json:"load_error,omitempty"`
}

// cudaLibs lists, in load order, what the ONNX Runtime 1.29 CUDA 13
// provider links (cudart, cublasLt, cublas, curand, the driver's libcuda)
// and opens on use (cuDNN 9, cuFFT, NVRTC).
var cudaLibs = []CUDALib{
	{Name: "libcudart.so.13", Required: true},
	{Name: "libcublasLt.so.13", Required: true},
	{Name: "libcublas.so.13", Required: true},
	{Name: "libcurand.so.10", Required: true},
	{Name: "libcuda.so.1", Required: true},
	{Name: "libcudnn.so.9"},
	{Name: "libcufft.so.12"},
	{Name: "libnvrtc.so.13"},
}

// cudnnParts are cuDNN 9's sub-libraries, which libcudnn.so.9 opens by
// name; they are preloaded from libcudnn's folder so that folder need not
// be on the loader path.
var cudnnParts = []string{
	"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
	"libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9",
}

var (
	pythonSiteOnce sync.Once
	pythonSite     []string
)

// pythonSitePackages asks python3 (if present, 5 s at most) for its
// site-packages folders.
func pythonSitePackages() []string {
	pythonSiteOnce.Do(func() {
		py, err := exec.LookPath("python3")
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, "-c",
			"import site,sys\nfor p in site.getsitepackages()+[site.getusersitepackages()]: print(p)").Output()
		if err != nil {
			return
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				pythonSite = append(pythonSite, l)
			}
		}
	})
	return pythonSite
}

// CUDALibDirs lists, in order, the folders searched for the CUDA
// libraries: $KADAPTER_CUDA_LIBS, $LD_LIBRARY_PATH, NVIDIA's pip wheels
// (site-packages/nvidia/*/lib of python3 and of the usual Python prefixes,
// $VIRTUAL_ENV and $CONDA_PREFIX), a CUDA toolkit (/usr/local/cuda*), and
// the system library folders. Only existing folders are returned.
func CUDALibDirs() []string {
	var dirs []string
	add := func(ds ...string) {
		for _, d := range ds {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	add(strings.Split(os.Getenv(CUDALibsEnv), ":")...)
	add(strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":")...)
	var sites []string
	sites = append(sites, pythonSitePackages()...)
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if p := os.Getenv(env); p != "" {
			g, _ := filepath.Glob(filepath.Join(p, "lib", "python3*", "site-packages"))
			sites = append(sites, g...)
		}
	}
	home, _ := os.UserHomeDir()
	for _, pat := range []string{"/usr/local/lib/python3*/*-packages", "/usr/lib/python3*/*-packages", "/opt/conda/lib/python3*/site-packages",
		filepath.Join(home, ".local/lib/python3*/site-packages")} {
		g, _ := filepath.Glob(pat)
		sites = append(sites, g...)
	}
	for _, s := range sites {
		g, _ := filepath.Glob(filepath.Join(s, "nvidia", "*", "lib"))
		sort.Strings(g)
		add(g...)
	}
	cudaDirs, _ := filepath.Glob("/usr/local/cuda-*/lib64")
	sort.Sort(sort.Reverse(sort.StringSlice(cudaDirs)))
	add("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib")
	add(cudaDirs...)
	add("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/wsl/lib")
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		d = filepath.Clean(d)
		if seen[d] {
			continue
		}
		seen[d] = true
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// FindCUDALibraries looks for each library the CUDA provider needs in
// dirs (CUDALibDirs when nil) and returns them, found or not.
func FindCUDALibraries(dirs []string) []CUDALib {
	if dirs == nil {
		dirs = CUDALibDirs()
	}
	out := make([]CUDALib, len(cudaLibs))
	copy(out, cudaLibs)
	for i := range out {
		for _, d := range dirs {
			p := filepath.Join(d, out[i].Name)
			if _, err := os.Stat(p); err == nil {
				out[i].Path = p
				break
			}
		}
	}
	return out
}

var (
	preloadOnce sync.Once
	preloaded   []CUDALib
)

// PreloadCUDALibraries loads every CUDA library FindCUDALibraries finds,
// by full path with RTLD_GLOBAL, before the CUDA provider is loaded: the
// provider's dependencies then resolve to them by soname, so libraries in
// pip wheels or a toolkit work without LD_LIBRARY_PATH. It runs once per
// process and returns what it did; missing libraries are left to the
// dynamic loader (and reported by krun doctor).
func PreloadCUDALibraries() []CUDALib {
	preloadOnce.Do(func() {
		libs := FindCUDALibraries(nil)
		for i := range libs {
			if libs[i].Path == "" {
				continue
			}
			if libs[i].Name == "libcudnn.so.9" {
				dir := filepath.Dir(libs[i].Path)
				// Sub-libraries depend on each other: retry until no progress.
				pending := append([]string(nil), cudnnParts...)
				for len(pending) > 0 {
					var next []string
					for _, p := range pending {
						full := filepath.Join(dir, p)
						if _, err := os.Stat(full); err != nil {
							continue
						}
						if dlopenGlobal(full) != nil {
							next = append(next, p)
						}
					}
					if len(next) == len(pending) {
						break
					}
					pending = next
				}
			}
			if err := dlopenGlobal(libs[i].Path); err != nil {
				libs[i].LoadError = err.Error()
			} else {
				libs[i].Loaded = true
			}
		}
		preloaded = libs
	})
	return preloaded
}
