// Package testshared locates the read-only shared material (../shared) for
// tests. Tests call Dir or Path; when the folder is absent they are skipped
// with a message that names the path that was looked for (under CI=true
// they fail instead: CI always has the material). Missing applies the same
// rule to any dependency the project's scripts install.
package testshared

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the shared folder: $KADAPTER_SHARED, or ../shared relative
// to the repository root.
func Root() string {
	if d := os.Getenv("KADAPTER_SHARED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Clean(filepath.Join(repo, "..", "shared"))
}

// Path returns the shared path made of elems, skipping the test when it
// does not exist.
func Path(tb testing.TB, elems ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Root()}, elems...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared material not found at %s, and CI must run every test: %v", p, err)
		}
		tb.Skipf("shared material not found at %s (set KADAPTER_SHARED): %v", p, err)
	}
	return p
}

// RepoRoot returns the repository root (for testdata and scripts).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Missing reports a dependency the test needs and cannot find: it skips
// the test with the message, except under CI=true, where nothing may skip
// for a dependency the project's own scripts install (scripts/test,
// .ci/run), and the test fails instead. The message should say how to
// install the dependency.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (CI=true: CI must run every test)", msg)
	}
	tb.Skip(msg)
}

// PythonEnv names the Python interpreter the differential tests run
// (scripts/test sets it from scripts/install-python-regex.sh).
const PythonEnv = "KADAPTER_PYTHON"

// Python returns a Python 3 interpreter that imports every module in
// modules: $KADAPTER_PYTHON when set (and then only it), else the first of
// python3 on PATH and /usr/bin/python3 (Debian's, where apt installs
// python3-regex) that does. When none does, the test is skipped, or fails
// under CI=true (see Missing).
func Python(tb testing.TB, modules ...string) string {
	tb.Helper()
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv(PythonEnv); p != "" {
		cands = []string{p}
	}
	code := "import sys"
	for _, m := range modules {
		code += "; import " + m
	}
	var tried []string
	for _, c := range cands {
		p, err := exec.LookPath(c)
		if err == nil {
			var out []byte
			if out, err = exec.Command(p, "-c", code).CombinedOutput(); err == nil {
				return p
			}
			err = fmt.Errorf("%v: %s", err, lastLine(out))
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", c, err))
	}
	Missing(tb, "no python3 with %v: tried %v; install it with scripts/install-python-regex.sh (Debian's python3-regex) and export %s=$(scripts/install-python-regex.sh)", modules, tried, PythonEnv)
	return ""
}

// lastLine returns the last non-empty line of b.
func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
