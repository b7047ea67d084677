package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
)

// TestTrainKillAndResume kills a real krun train (SIGKILL) after its
// third checkpoint, resumes it, and checks that every file of the final
// checkpoint equals an uninterrupted run's, byte for byte; then the same
// with SIGINT, which must exit 130, save the last update and say that
// --resume continues. Shuffling and dropout are on, so the data order and
// the masks must be restored too.
func TestTrainKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the krun binary")
	}
	bin := filepath.Join(t.TempDir(), "krun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := traintest.FixtureOptions(t, "tacred", "")
	o.Loop = train.LoopStandard
	o.Shuffle, o.Dropout = true, 0.1
	o.Hyper.Epochs = 5
	args := func(out string, extra ...string) []string {
		o.Out = out
		var a []string
		for _, x := range trainArgs(o) {
			if x != "--shuffle=false" && x != "--json" {
				a = append(a, x)
			}
		}
		return append(a, append([]string{"--save-steps", "1", "--save-total-limit", "2"}, extra...)...)
	}
	run := func(a []string) (int, string) {
		cmd := exec.Command(bin, a...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, errb.String()
	}
	ref := t.TempDir()
	if code, stderr := run(args(ref)); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	final := "checkpoint-20"
	want := traintest.CheckpointFiles(t, filepath.Join(ref, final))

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(bin, args(out)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for {
				if _, err := os.Stat(filepath.Join(out, "checkpoint-3", "trainer_state.json")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no checkpoint-3 after 2 minutes")
				}
				time.Sleep(2 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			ee, _ := err.(*exec.ExitError)
			if _, done := os.Stat(filepath.Join(out, final)); done == nil {
				t.Skip("the run finished before the signal arrived")
			}
			if sig == syscall.SIGINT {
				if ee == nil || ee.ExitCode() != 130 {
					t.Fatalf("SIGINT: %v, want exit 130; stderr: %s", err, errb.String())
				}
				if !strings.Contains(errb.String(), "--resume") {
					t.Fatalf("SIGINT: stderr does not say how to continue: %s", errb.String())
				}
			}
			// No half-written checkpoint is visible.
			ents, _ := os.ReadDir(out)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), "checkpoint-") {
					if _, err := os.Stat(filepath.Join(out, e.Name(), "trainer_state.json")); err != nil {
						t.Fatalf("%s is incomplete after %v", e.Name(), sig)
					}
				}
			}
			if code, stderr := run(args(out, "--resume")); code != 0 {
				t.Fatalf("resumed run: exit %d: %s", code, stderr)
			}
			got := traintest.CheckpointFiles(t, filepath.Join(out, final))
			if len(got) != len(want) {
				t.Fatalf("resumed checkpoint has files %v, uninterrupted %v", keysOf(got), keysOf(want))
			}
			for name, b := range want {
				if !bytes.Equal(got[name], b) {
					t.Errorf("%s differs from the uninterrupted run's", name)
				}
			}
		})
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
