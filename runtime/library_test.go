package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelperInitProcess is not a test: TestLibraryErrors runs the test
// binary with it to call Init in a fresh process (the ONNX Runtime
// environment is process-wide, so a failed load cannot be tried after a
// successful one).
func TestHelperInitProcess(t *testing.T) {
	if os.Getenv("KADAPTER_RUNTIME_HELPER") != "1" {
		t.Skip("helper process only")
	}
	if err := Init(); err != nil {
		os.Stderr.WriteString("INIT-ERROR: " + err.Error() + "\n")
		os.Exit(3)
	}
	os.Stderr.WriteString("INIT-OK " + Version() + "\n")
	os.Exit(0)
}

func runInitProcess(t *testing.T, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperInitProcess$")
	cmd.Env = append(os.Environ(), append([]string{"KADAPTER_RUNTIME_HELPER=1"}, env...)...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestLibraryErrors(t *testing.T) {
	dir := t.TempDir()
	notLib := filepath.Join(dir, "libonnxruntime.so")
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  string
		want []string
	}{
		{"missing file", LibraryEnv + "=" + filepath.Join(dir, "nope.so"), []string{"nope.so ($ONNXRUNTIME_LIB): not found", FetchScript}},
		{"not a library", LibraryEnv + "=" + notLib, []string{notLib + " ($ONNXRUNTIME_LIB)", "export ONNXRUNTIME_LIB"}},
		{"folder without library", LibraryEnv + "=" + t.TempDir(), []string{"libonnxruntime.so.1 ($ONNXRUNTIME_LIB): not found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runInitProcess(t, c.env)
			if code != 3 {
				t.Fatalf("exit %d, want 3 (Init error):\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("message lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// Without ONNXRUNTIME_LIB, the cache of scripts/fetch-onnxruntime.sh is
	// searched: point it at a folder holding the real library.
	lib := os.Getenv(LibraryEnv)
	if lib == "" {
		// The library the runtime itself finds (the real cache, the system).
		requireORT(t)
		if lib = LibraryPath(); !strings.ContainsRune(lib, filepath.Separator) {
			t.Skipf("ONNX Runtime was loaded by the dynamic loader as %s: no file to put in a test cache", lib)
		}
	}
	cache := t.TempDir()
	vdir := filepath.Join(cache, "onnxruntime", "1.30.0")
	os.MkdirAll(vdir, 0o755)
	abs, _ := filepath.Abs(lib)
	if err := os.Symlink(abs, filepath.Join(vdir, "libonnxruntime.so")); err != nil {
		t.Fatal(err)
	}
	code, out := runInitProcess(t, LibraryEnv+"=", "KADAPTER_CACHE="+cache)
	if code != 0 || !strings.Contains(out, "INIT-OK 1.") {
		t.Fatalf("cache lookup: exit %d:\n%s", code, out)
	}
}

func TestCandidatesOrder(t *testing.T) {
	cache := t.TempDir()
	for _, v := range []string{"1.9.0", "1.30.0", "1.24.1"} {
		d := filepath.Join(cache, "onnxruntime", v)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "libonnxruntime.so"), nil, 0o644)
	}
	t.Setenv(LibraryEnv, "")
	t.Setenv("KADAPTER_CACHE", cache)
	c := Candidates()
	var got []string
	for _, x := range c[:3] {
		got = append(got, filepath.Base(filepath.Dir(x.Path)))
	}
	if strings.Join(got, " ") != "1.30.0 1.24.1 1.9.0" {
		t.Fatalf("cache candidates in order %v, want newest first", got)
	}
	if last := c[len(c)-1]; last.Path != "libonnxruntime.so" {
		t.Fatalf("last candidate %+v, want the dynamic loader search", last)
	}
	t.Setenv(LibraryEnv, "/x/lib.so")
	if c := Candidates(); len(c) != 1 || c[0].Path != "/x/lib.so" {
		t.Fatalf("explicit %s gave %+v", LibraryEnv, c)
	}
}
