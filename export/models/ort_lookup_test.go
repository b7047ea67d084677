package models_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	krt "github.com/kadapter/kadapter/runtime"
)

// TestHelperRequireORT is not a test: TestRequireORTFindsCache runs the
// test binary with it to call requireORT in a fresh process.
func TestHelperRequireORT(t *testing.T) {
	if os.Getenv("KADAPTER_MODELS_HELPER") != "1" {
		t.Skip("helper process only")
	}
	requireORT(t)
	t.Log("ORT-LOADED " + krt.LibraryPath())
}

// TestRequireORTFindsCache: with ONNXRUNTIME_LIB unset, the fixture tests'
// requireORT finds the library where the runtime finds it (the cache that
// scripts/fetch-onnxruntime.sh fills) and runs, instead of skipping.
func TestRequireORTFindsCache(t *testing.T) {
	requireORT(t)
	lib := krt.LibraryPath()
	if !strings.ContainsRune(lib, filepath.Separator) {
		t.Skipf("ONNX Runtime was loaded by the dynamic loader as %s: no file to put in a test cache", lib)
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	vdir := filepath.Join(cache, "onnxruntime", "1.30.0")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(vdir, "libonnxruntime.so")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRequireORT$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, krt.LibraryEnv+"=") && !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "KADAPTER_CACHE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "KADAPTER_MODELS_HELPER=1", "KADAPTER_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ORT-LOADED "+filepath.Join(vdir, "libonnxruntime.so")) || strings.Contains(string(out), "SKIP") {
		t.Fatalf("requireORT with %s unset and the library in the cache: %v\n%s", krt.LibraryEnv, err, out)
	}
}
