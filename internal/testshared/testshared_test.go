package testshared

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelperMissing is not a test: TestMissing runs the test binary with it
// to see what Missing and Python do in a fresh process.
func TestHelperMissing(t *testing.T) {
	switch os.Getenv("KADAPTER_TESTSHARED_HELPER") {
	case "missing":
		Missing(t, "widget not installed (scripts/install-widget.sh)")
		t.Log("AFTER-MISSING")
	case "python":
		p := Python(t, "json")
		t.Log("PYTHON " + p)
	default:
		t.Skip("helper process only")
	}
}

// TestMissing: a missing dependency skips the test, or fails it under
// CI=true; Python honours $KADAPTER_PYTHON and applies the same rule.
func TestMissing(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'ModuleNotFoundError: no json here' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		env      []string
		fail     bool
		want     []string
		unwanted string
	}{
		{"missing, local", []string{"KADAPTER_TESTSHARED_HELPER=missing"}, false, []string{"--- SKIP", "scripts/install-widget.sh"}, "AFTER-MISSING"},
		{"missing, CI", []string{"KADAPTER_TESTSHARED_HELPER=missing", "CI=true"}, true, []string{"--- FAIL", "CI must run every test", "scripts/install-widget.sh"}, "AFTER-MISSING"},
		{"python without the module, local", []string{"KADAPTER_TESTSHARED_HELPER=python", PythonEnv + "=" + fake}, false, []string{"--- SKIP", "no json here", "install-python-regex.sh"}, "PYTHON "},
		{"python without the module, CI", []string{"KADAPTER_TESTSHARED_HELPER=python", PythonEnv + "=" + fake, "CI=true"}, true, []string{"--- FAIL", "CI must run every test"}, "PYTHON "},
		{"python found", []string{"KADAPTER_TESTSHARED_HELPER=python"}, false, []string{"--- PASS", "PYTHON /"}, "SKIP"},
		{"python absent, CI", []string{"KADAPTER_TESTSHARED_HELPER=python", PythonEnv + "=/nonexistent/python3", "CI=true"}, true, []string{"--- FAIL", "/nonexistent/python3"}, "PYTHON "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMissing$", "-test.v")
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, PythonEnv+"=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.fail {
				t.Errorf("exit error %v, want failure %v", err, tc.fail)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), tc.unwanted) {
				t.Errorf("output holds %q (the test went on):\n%s", tc.unwanted, out)
			}
		})
	}
}
