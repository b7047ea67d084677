package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/testshared"
)

func trexCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, append([]string{"trex"}, args...))
	return code, out.String(), errb.String()
}

func TestTrexUsage(t *testing.T) {
	td := filepath.Join(testshared.RepoRoot(), "testdata", "trex")
	for _, args := range [][]string{
		{"--out", t.TempDir()},
		{"--in", td},
		{"--in", td, "--out", t.TempDir(), "--format", "xml"},
		{"--in", td, "--out", t.TempDir(), "--dev-fraction", "1.5"},
		{"--in", td, "--out", t.TempDir(), "--workers", "0"},
		{"--bogus"},
	} {
		if code, _, errs := trexCmd(t, args...); code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	code, help, errs := trexCmd(t, "--help")
	if code != 0 || errs != "" || !strings.Contains(help, "--min-per-relation") || !strings.Contains(help, "manifest.json") {
		t.Fatalf("--help: exit %d\nstdout %s\nstderr %s", code, help, errs)
	}
}

// The README's newcomer command, and the summary/outputs it gives.
func TestTrexTestdata(t *testing.T) {
	td := filepath.Join(testshared.RepoRoot(), "testdata", "trex")
	out := t.TempDir()
	code, _, errs := trexCmd(t, "--in", td, "--out", out, "--quiet")
	if code != 0 || !strings.Contains(errs, "examples 12") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	code, stdout, errs := trexCmd(t, "--in", td, "--out", out, "--min-per-relation", "1", "--format", "both", "--json", "--quiet", "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var s struct {
		trexrc.Summary
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	c := s.Counts
	if c.Inputs != 2 || c.Cleaning.Documents != 5 || c.Cleaning.Examples != 12 || c.DroppedByFlag != 2 ||
		c.Train+c.Dev != 10 || c.Train != 9 || c.Cleaning.NullBoundaries != 1 || c.Cleaning.Unaligned != 3 {
		t.Fatalf("summary %+v", c)
	}
	for _, f := range []string{"train.arrow", "dev.arrow", "train.json", "dev.json", "relations.json", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}

func TestTrexStrictFails(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "re-nlg_bad.json")
	os.WriteFile(bad, []byte(`[{"docid": "x", "text": "a b"}]`), 0o644)
	out := filepath.Join(t.TempDir(), "o")
	code, _, errs := trexCmd(t, "--in", dir, "--out", out, "--strict", "--quiet")
	if code != cli.ExitFailed || !strings.Contains(errs, "re-nlg_bad.json: document 0 at byte offset 1") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, "train.arrow")); err == nil {
		t.Fatal("strict failure left train.arrow")
	}
	code, _, errs = trexCmd(t, "--in", dir, "--out", out, "--quiet")
	if code != 0 || !strings.Contains(errs, "malformed 1") {
		t.Fatalf("default mode: exit %d\n%s", code, errs)
	}
	if code, _, _ := trexCmd(t, "--in", filepath.Join(dir, "nothing*.json"), "--out", out); code != cli.ExitFailed {
		t.Fatalf("empty glob: exit %d", code)
	}
}
