package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// copyTrexTestdata copies testdata/trex into a new folder.
func copyTrexTestdata(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testshared.RepoRoot(), "testdata", "trex")
	dir := t.TempDir()
	for _, n := range []string{"re-nlg_0-3.json", "re-nlg_3-5.json.gz"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The same file given twice (a folder and a file in it, two spellings) is
// read once, with a warning; --resume with another spelling of the same
// inputs resumes them all and writes the same manifest.
func TestTrexSameFileTwice(t *testing.T) {
	dir := copyTrexTestdata(t)
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--in", dir, "--in", filepath.Join(rel, "re-nlg_0-3.json")},
		{"--in", rel, "--in", filepath.Join(dir, ".", "re-nlg_0-3.json")},
	} {
		out := t.TempDir()
		code, _, errs := trexCmd(t, append(args, "--out", out, "--quiet", "--min-per-relation", "1")...)
		if code != 0 || !strings.Contains(errs, "examples 12") || !strings.Contains(errs, "2 inputs") ||
			!strings.Contains(errs, "re-nlg_0-3.json is given more than once") || !strings.Contains(errs, "1 given twice and read once") {
			t.Fatalf("%v: exit %d\n%s", args, code, errs)
		}
	}

	out := t.TempDir()
	if code, _, errs := trexCmd(t, "--in", rel, "--out", out, "--quiet"); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	m1, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	code, _, errs := trexCmd(t, "--in", filepath.Join(dir, "..", filepath.Base(dir)), "--out", out, "--quiet", "--resume")
	if code != 0 || !strings.Contains(errs, "(2 resumed") {
		t.Fatalf("resume with another spelling: exit %d\n%s", code, errs)
	}
	m2, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if !bytes.Equal(m1, m2) || !bytes.Contains(m1, []byte(`"name": "`+filepath.Join(resolved(t, dir), "re-nlg_0-3.json")+`"`)) {
		t.Fatalf("manifest changed with the spelling, or does not name the resolved path:\n%s\n%s", m1, m2)
	}
}

func resolved(t *testing.T, p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
