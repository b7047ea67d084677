// Package runtime runs exported kadapter graphs on ONNX Runtime: it finds
// and loads libonnxruntime.so, opens sessions on the CPU or a CUDA device
// with thread and graph-optimization settings, and runs rows of token ids in
// batches (fixed padding to max_seq_length by default, for parity with the
// original; length-sorted dynamic padding on request), returning results in
// the rows' original order.
//
// The ONNX Runtime environment is process-wide: Init loads the library once
// and every Session shares it.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that names libonnxruntime.so (a
// file, or a folder holding it).
const LibraryEnv = "ONNXRUNTIME_LIB"

// FetchScript is the repository script that installs the library into the
// cache folder Candidates looks at.
const FetchScript = "scripts/fetch-onnxruntime.sh"

// MinAPIVersion is the ONNX Runtime C API version onnxruntime_go v1.27
// asks for (ORT_API_VERSION in its bundled header). Any ONNX Runtime
// release >= 1.24 provides it; newer libraries keep serving older API
// versions, so 1.30 works.
const MinAPIVersion = 24

var (
	initMu      sync.Mutex
	initPath    string
	initVersion string
)

// Candidate is one place Init looks for the library.
type Candidate struct {
	// Path is a file path, or a bare file name resolved by the dynamic
	// loader (LD_LIBRARY_PATH, ld.so.cache).
	Path string
	// Source says where the candidate comes from ("$ONNXRUNTIME_LIB",
	// "kadapter cache", "system", "dynamic loader search").
	Source string
}

// cacheDir mirrors scripts/fetch-onnxruntime.sh: $KADAPTER_CACHE, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/kadapter.
func cacheDir() string {
	if d := os.Getenv("KADAPTER_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kadapter")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "kadapter")
	}
	return ""
}

// Candidates lists, in order, where Init looks for libonnxruntime.so:
// $ONNXRUNTIME_LIB (a file, or a folder holding libonnxruntime.so*), the
// cache that scripts/fetch-onnxruntime.sh fills (newest version first),
// the usual system folders, and finally the bare name for the dynamic
// loader. When $ONNXRUNTIME_LIB is set it is the only candidate: a wrong
// explicit setting must not silently fall back to another library.
func Candidates() []Candidate { return candidates(false) }

// CandidatesFor is Candidates for a device: for CUDA, cached libraries
// with a CUDA provider beside them (scripts/fetch-onnxruntime.sh --cuda)
// come first, so --device cuda finds the pair without any variable.
func CandidatesFor(d Device) []Candidate { return candidates(d.CUDA) }

func candidates(cuda bool) []Candidate {
	if v := os.Getenv(LibraryEnv); v != "" {
		if st, err := os.Stat(v); err == nil && st.IsDir() {
			var out []Candidate
			for _, name := range []string{"libonnxruntime.so", "libonnxruntime.so.1", "libonnxruntime.dylib"} {
				out = append(out, Candidate{filepath.Join(v, name), "$" + LibraryEnv})
			}
			return out
		}
		return []Candidate{{v, "$" + LibraryEnv}}
	}
	var out []Candidate
	if c := cacheDir(); c != "" {
		vers, _ := filepath.Glob(filepath.Join(c, "onnxruntime", "*", "libonnxruntime.so"))
		sort.Slice(vers, func(i, j int) bool { return versionLess(vers[j], vers[i]) })
		if cuda {
			sort.SliceStable(vers, func(i, j int) bool { return hasCUDAProvider(vers[i]) && !hasCUDAProvider(vers[j]) })
		}
		if len(vers) == 0 {
			vers = []string{filepath.Join(c, "onnxruntime", "<version>", "libonnxruntime.so")}
		}
		for _, p := range vers {
			out = append(out, Candidate{p, "kadapter cache"})
		}
	}
	for _, d := range []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/opt/onnxruntime/lib"} {
		out = append(out, Candidate{filepath.Join(d, "libonnxruntime.so"), "system"})
	}
	out = append(out, Candidate{"libonnxruntime.so", "dynamic loader search"})
	return out
}

// versionLess orders cache paths .../onnxruntime/<version>/libonnxruntime.so
// by their numeric version components.
func versionLess(a, b string) bool {
	va := strings.Split(filepath.Base(filepath.Dir(a)), ".")
	vb := strings.Split(filepath.Base(filepath.Dir(b)), ".")
	for i := 0; i < len(va) && i < len(vb); i++ {
		var x, y int
		fmt.Sscan(va[i], &x)
		fmt.Sscan(vb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(va) < len(vb)
}

// LibraryError is returned by Init when no candidate could be loaded. Its
// message lists every place looked at and how to install the library.
type LibraryError struct {
	// Tried holds each candidate and why it failed.
	Tried []string
}

// Error lists every place that was tried and how to install the library.
func (e *LibraryError) Error() string {
	var b strings.Builder
	b.WriteString("cannot load the ONNX Runtime library (libonnxruntime.so); looked at:\n")
	for _, t := range e.Tried {
		b.WriteString("  - " + t + "\n")
	}
	b.WriteString("Install it with\n  export " + LibraryEnv + "=$(" + FetchScript + ")\n" +
		"(run from the kadapter repository: it extracts the library from the npm package onnxruntime-node into a cache)\n" +
		"or set " + LibraryEnv + " to an existing libonnxruntime.so (ONNX Runtime >= 1.24).")
	return b.String()
}

// Init loads the ONNX Runtime library and creates the process-wide
// environment. It is safe to call many times and from several goroutines;
// after the first success it does nothing. On failure it returns a
// *LibraryError listing every place it looked.
func Init() error { return InitFor(CPU) }

// InitFor is Init choosing the library for device d (see CandidatesFor).
// Once a library is loaded it stays for the process, whatever d is. A core
// whose CUDA provider comes from another ONNX Runtime release is refused
// (CheckPair) and never loaded.
func InitFor(d Device) error {
	initMu.Lock()
	defer initMu.Unlock()
	if initPath != "" {
		return nil
	}
	var tried []string
	for _, c := range candidates(d.CUDA) {
		if strings.ContainsRune(c.Path, filepath.Separator) {
			if _, err := os.Stat(c.Path); err != nil {
				reason := "not found"
				if !errors.Is(err, os.ErrNotExist) {
					reason = err.Error()
				}
				tried = append(tried, fmt.Sprintf("%s (%s): %s", c.Path, c.Source, reason))
				continue
			}
		}
		if strings.ContainsRune(c.Path, filepath.Separator) {
			if _, err := CheckPair(c.Path); err != nil {
				tried = append(tried, fmt.Sprintf("%s (%s): %v", c.Path, c.Source, err))
				continue
			}
		}
		ort.SetSharedLibraryPath(c.Path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			msg := err.Error()
			if strings.Contains(msg, "Error setting ORT API base: 2") {
				msg = fmt.Sprintf("the library does not provide ONNX Runtime C API version %d (ONNX Runtime older than 1.%d?)", MinAPIVersion, MinAPIVersion)
			}
			tried = append(tried, fmt.Sprintf("%s (%s): %s", c.Path, c.Source, msg))
			continue
		}
		initPath = c.Path
		initVersion = ort.GetVersion()
		return nil
	}
	return &LibraryError{Tried: tried}
}

// LibraryPath returns the path of the loaded library ("" before Init).
func LibraryPath() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath
}

// Version returns the loaded ONNX Runtime's version string, e.g. "1.30.0"
// ("" before Init).
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initVersion
}
