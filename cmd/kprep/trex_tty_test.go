//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal of cols columns.
func openPTY(t *testing.T, cols int) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals here:", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: 30}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

var pctRe = regexp.MustCompile(`^kprep trex(: building the split)? +(\d+)%`)

// TestTrexProgressTerminal runs kprep trex with stderr on a pseudo-terminal
// of 80 and 200 columns, and on a pipe: on the terminal the bar is one
// line per phase redrawn in place (never wider than the terminal, so it
// never wraps onto new lines), keeps a real bar, its percentage never goes
// back and ends at 100% in both phases (reading, then building the split);
// on a pipe there are only plain log lines.
func TestTrexProgressTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kprep binary")
	}
	bin := filepath.Join(t.TempDir(), "kprep")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// About 40 MB: a document of the testdata repeated with new ids.
	in := t.TempDir()
	doc := `{"docid":"http://x/Q%d","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{"sentence_id":0,"subject":{"uri":"http://x/Q2","boundaries":[0,5]},"object":{"uri":"http://x/Q3","boundaries":[15,21]},"predicate":{"uri":"http://x/P551"}}],"pad":"` + strings.Repeat("abc ", 100) + `"}`
	for f := 0; f < 4; f++ {
		var b bytes.Buffer
		b.WriteString("[")
		for i := 0; i < 12000; i++ {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, doc, f*100000+i)
		}
		b.WriteString("]")
		os.WriteFile(filepath.Join(in, fmt.Sprintf("re-nlg_%d.json", f)), b.Bytes(), 0o644)
	}
	args := func(out string) []string {
		return []string{"trex", "--in", in, "--out", out, "--min-per-relation", "1", "--format", "both"}
	}
	for _, cols := range []int{80, 200} {
		t.Run(fmt.Sprintf("%d columns", cols), func(t *testing.T) {
			master, slave := openPTY(t, cols)
			defer master.Close()
			cmd := exec.Command(bin, args(t.TempDir())...)
			cmd.Stderr = slave
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			var raw bytes.Buffer
			done := make(chan struct{})
			go func() { io.Copy(&raw, master); close(done) }() // ends with EIO when the child exits
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v", err)
			}
			<-done
			// The terminal turns "\n" into "\r\n".
			out := strings.ReplaceAll(raw.String(), "\r\n", "\n")
			i := strings.Index(out, "kprep trex: 4 inputs")
			if i < 0 {
				t.Fatalf("no summary in %q", out)
			}
			bars := strings.Split(strings.TrimSuffix(out[:i], "\n"), "\n")
			if len(bars) != 2 {
				t.Fatalf("%d lines of progress before the summary, want 2 (one per phase):\n%q", len(bars), out[:i])
			}
			for phase, line := range bars {
				last := -1
				frames := strings.Split(line, "\r")
				for _, f := range frames {
					f = strings.TrimSuffix(f, "\x1b[K")
					if f == "" {
						continue
					}
					if len([]rune(f)) > cols-1 {
						t.Errorf("frame of %d columns on a %d-column terminal: %q", len([]rune(f)), cols, f)
					}
					m := pctRe.FindStringSubmatch(f)
					if m == nil || (m[1] != "") != (phase == 1) {
						t.Errorf("phase %d frame %q", phase, f)
						continue
					}
					if !strings.Contains(f, "] ") || strings.Contains(f, "||") {
						t.Errorf("no bar in %q", f)
					}
					pct, _ := strconv.Atoi(m[2])
					if pct < last {
						t.Errorf("percentage went back from %d to %d", last, pct)
					}
					last = pct
				}
				if last != 100 {
					t.Errorf("phase %d ends at %d%%: %q", phase, last, line)
				}
			}
			t.Logf("%d columns, last frames:\n%s\n%s", cols, lastFrame(bars[0]), lastFrame(bars[1]))
		})
	}
	t.Run("pipe", func(t *testing.T) {
		cmd := exec.Command(bin, args(t.TempDir())...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		out := stderr.String()
		if strings.ContainsAny(out, "\r\x1b") || !strings.Contains(out, "kprep trex: building the split: 48000 of 48000 examples (100.0%)") ||
			!strings.Contains(out, "100.0% of") {
			t.Fatalf("stderr on a pipe: %q", out)
		}
	})
}

func lastFrame(line string) string {
	f := line[strings.LastIndexByte(line, '\r')+1:]
	return strings.TrimSuffix(f, "\x1b[K")
}
