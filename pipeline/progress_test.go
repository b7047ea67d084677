package pipeline

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

var barRe = regexp.MustCompile(`\[([=> ]*)\]`)

// The bar line fits the terminal (width-1 columns, so it never wraps onto
// a new line), keeps a real bar at 80 columns, and shows the counts as
// they are when it is drawn (no lag), in both phases.
func TestProgressBarLine(t *testing.T) {
	for _, width := range []int{20, 40, 60, 80, 120, 200} {
		var buf bytes.Buffer
		p := NewProgress(&buf, ProgressOptions{Label: "kprep trex", TotalBytes: 32_100_000_000, Mode: ProgressBar, Width: width})
		p.AddBytes(16_050_000_000)
		p.AddDocs(1_500_000)
		p.AddRecords(5_512_345)
		check := func(what, line, pct string) {
			t.Helper()
			if len(line) > width-1 {
				t.Errorf("width %d, %s: %d columns: %q", width, what, len(line), line)
			}
			if !strings.Contains(line, pct) {
				t.Errorf("width %d, %s: %q lacks %q", width, what, line, pct)
			}
			if m := barRe.FindStringSubmatch(line); width >= 80 && (m == nil || len(m[1]) < 10) {
				t.Errorf("width %d, %s: no bar of 10 columns or more: %q", width, what, line)
			}
		}
		check("phase 1", p.barLine(width), " 50%")
		p.AddBytes(16_050_000_000) // read at once: the next line says so
		check("phase 1 done", p.barLine(width), "100%")
		p.StartPhase("building the split", 4_000_000, "examples")
		p.AddPhase(1_000_000)
		check("phase 2", p.barLine(width), " 25%")
		if width >= 80 && !strings.Contains(p.barLine(width), "building the split") {
			t.Errorf("width %d: phase 2 not named: %q", width, p.barLine(width))
		}
		p.AddPhase(3_000_000)
		p.Finish()
		// The output: lines redrawn in place; one newline per phase.
		out := buf.String()
		if n := strings.Count(out, "\n"); n != 2 {
			t.Errorf("width %d: %d newlines in %q, want 2 (one per phase)", width, n, out)
		}
		for _, frame := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
			frame = strings.TrimSuffix(frame, "\x1b[K")
			if len(frame) > width-1 {
				t.Errorf("width %d: frame of %d columns: %q", width, len(frame), frame)
			}
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		last := lines[len(lines)-1]
		if i := strings.LastIndexByte(last, '\r'); i >= 0 {
			last = last[i+1:]
		}
		if !strings.Contains(last, "100%") {
			t.Errorf("width %d: final line %q", width, last)
		}
	}
}

// Log mode (a pipe): one line per interval and at the end of each phase,
// the second phase with its own counts.
func TestProgressLogPhases(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{Label: "kprep trex", TotalBytes: 1000, Mode: ProgressLog, Interval: time.Hour})
	p.AddBytes(1000)
	p.StartPhase("building the split", 40, "examples")
	p.AddPhase(40)
	p.Finish()
	out := buf.String()
	for _, want := range []string{"kprep trex: 1.0 kB read, 100.0% of 1.0 kB", "kprep trex: building the split: 40 examples\n",
		"kprep trex: building the split: 40 of 40 examples (100.0%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("control characters in log output %q", out)
	}
}

// Messages written through Writer erase the bar first and redraw it.
func TestProgressWriter(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{Label: "x", TotalBytes: 10, Mode: ProgressBar, Width: 80})
	w := p.Writer(&buf)
	buf.Reset()
	p.report()
	w.Write([]byte("warning: bad\n"))
	p.Finish()
	if out := buf.String(); !strings.Contains(out, "\r\x1b[Kwarning: bad\n\rx") {
		t.Errorf("output %q", out)
	}
	var plain bytes.Buffer
	if q := NewProgress(&plain, ProgressOptions{Mode: ProgressLog, Interval: time.Hour}); q.Writer(&plain) != &plain {
		t.Error("Writer wraps a log-mode writer")
	}
}
