// Package testshared locates the read-only shared material (../shared) for
// tests. Tests call Dir or Path; when the folder is absent they are skipped
// with a message that names the path that was looked for (under CI=true
// they fail instead: CI always has the material).
package testshared

import (
	"os"
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
