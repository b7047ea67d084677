package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
)

// TestTrexKillAndResume kills a real kprep process (SIGKILL, so nothing is
// cleaned up) while it is cleaning, resumes it, and checks that the files
// equal those of an uninterrupted run; it also checks that SIGINT exits
// 130 without publishing outputs.
func TestTrexKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kprep binary")
	}
	bin := filepath.Join(t.TempDir(), "kprep")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// 12 inputs of about 4 MB: the fixture's documents, repeated with new ids.
	raw, err := os.ReadFile(testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture", "re-nlg_fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for f := 0; f < 12; f++ {
		var all []map[string]any
		for r := 0; r < 20; r++ {
			for i, d := range docs {
				c := map[string]any{}
				for k, v := range d {
					c[k] = v
				}
				c["docid"] = fmt.Sprintf("http://www.wikidata.org/entity/Q%d", (f*20+r)*1000+i)
				all = append(all, c)
			}
		}
		b, _ := json.Marshal(all)
		os.WriteFile(filepath.Join(in, fmt.Sprintf("re-nlg_%02d.json", f)), b, 0o644)
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"trex", "--in", in, "--out", out, "--format", "both", "--quiet", "--seed", "5"}, extra...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if out, err := exec.Command(bin, args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}

	var lastStderr string
	startAndStop := func(out string, sig syscall.Signal) (int, int) {
		cmd := exec.Command(bin, args(out)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			done, _ := filepath.Glob(filepath.Join(out, "shards", "*.done.json"))
			if len(done) >= 1 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		cmd.Wait()
		lastStderr = stderr.String()
		done, _ := filepath.Glob(filepath.Join(out, "shards", "*.done.json"))
		return cmd.ProcessState.ExitCode(), len(done)
	}

	// SIGKILL midway, then --resume.
	out := filepath.Join(t.TempDir(), "out")
	_, done := startAndStop(out, syscall.SIGKILL)
	if done == 0 || done == 12 {
		t.Fatalf("%d of 12 inputs were finished when the process was killed; want a run killed midway", done)
	}
	if _, err := os.Stat(filepath.Join(out, "train.arrow")); err == nil {
		t.Fatal("a killed first run published train.arrow")
	}
	cmd := exec.Command(bin, append(args(out), "--resume", "--json")...)
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	var sum struct {
		Resumed int `json:"inputs_resumed"`
	}
	json.Unmarshal(stdout, &sum)
	if sum.Resumed < done {
		t.Fatalf("resumed %d inputs, %d were finished", sum.Resumed, done)
	}
	for _, name := range []string{"train.arrow", "dev.arrow", "train.json", "dev.json", "relations.json", "manifest.json"} {
		a, _ := os.ReadFile(filepath.Join(ref, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s after kill + resume differs from the uninterrupted run", name)
		}
	}
	checkNoTemps(t, out, "after resume")

	// SIGINT: exit 130, no temp files, no outputs.
	out2 := filepath.Join(t.TempDir(), "out2")
	code, done2 := startAndStop(out2, syscall.SIGINT)
	if done2 == 12 {
		t.Fatal("the run finished before SIGINT arrived")
	}
	if code != 130 {
		t.Fatalf("SIGINT: exit %d, want 130", code)
	}
	// It says how to continue.
	if want := "kept in " + filepath.Join(out2, "shards") + "; run the same command with --resume to continue"; !strings.Contains(lastStderr, want) {
		t.Fatalf("SIGINT: stderr %q, want it to say %q", lastStderr, want)
	}
	if _, err := os.Stat(filepath.Join(out2, "train.arrow")); err == nil {
		t.Fatal("an interrupted run published train.arrow")
	}
	checkNoTemps(t, out2, "after SIGINT")
}

// checkNoTemps fails t for every temporary file of an atomic output left
// under dir.
func checkNoTemps(t *testing.T, dir, when string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(info.Name(), pipeline.TempMarker) {
			t.Errorf("temp file left %s: %s", when, p)
		}
		return nil
	})
}
