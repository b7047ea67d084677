package pipeline

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// ProgressMode selects how progress is shown.
type ProgressMode int

const (
	// ProgressAuto draws a bar when the writer is a terminal and logs
	// periodic lines otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a one-line bar, redrawn in place.
	ProgressBar
	// ProgressLog always writes periodic log lines.
	ProgressLog
	// ProgressOff shows nothing (the counters still work).
	ProgressOff
)

// ProgressOptions configures a Progress.
type ProgressOptions struct {
	Label      string        // prefix of every line, e.g. "kprep trex"
	TotalBytes int64         // input bytes expected (0 if unknown: no ETA)
	Mode       ProgressMode  // default ProgressAuto
	Interval   time.Duration // log-line period (default 10s; bar refresh is 200ms)
	// Unit names the counted records in messages (default "examples").
	Unit string
	// Width overrides the terminal width of the bar (tests); 0 asks the
	// terminal on every refresh, then $COLUMNS, then 80.
	Width int
}

// Progress counts bytes, documents and output records from any goroutine
// and reports them: bytes against the total, documents, records/s and an
// ETA, as a bar on a terminal or as a log line every Interval otherwise.
// StartPhase switches to a second kind of work counted in items against a
// known total (kprep trex: building the split).
//
// The bar is one line, redrawn in place with a carriage return and
// "erase to end of line", and is cut to the terminal's width minus one
// column (read again at every refresh), fields dropped from the least
// useful, so a narrow terminal never wraps it onto new lines. Every
// figure is read when the line is drawn, so none lags a refresh behind.
type Progress struct {
	opts  ProgressOptions
	w     io.Writer
	bytes atomic.Int64
	docs  atomic.Int64
	recs  atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu         sync.Mutex // serialises drawing and phase changes
	phase      string     // "" during the byte-counted phase
	phaseTotal int64
	phaseUnit  string
	phaseStart time.Time
	phaseDone  atomic.Int64
	drawn      bool // a bar line is on the screen (not yet ended by "\n")
	finished   bool
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// NewProgress starts reporting to w (normally the command's stderr). Call
// Finish when the work is done.
func NewProgress(w io.Writer, opts ProgressOptions) *Progress {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Unit == "" {
		opts.Unit = "examples"
	}
	mode := opts.Mode
	if mode == ProgressAuto {
		if IsTerminal(w) {
			mode = ProgressBar
		} else {
			mode = ProgressLog
		}
	}
	opts.Mode = mode
	p := &Progress{opts: opts, w: w, start: time.Now(), stop: make(chan struct{})}
	period := opts.Interval
	switch mode {
	case ProgressOff:
		return p
	case ProgressBar:
		period = 200 * time.Millisecond
		p.report()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.report()
			}
		}
	}()
	return p
}

// Bytes returns the byte counter; pass it to Source.Open so that bytes
// read from disk are counted as they are read.
func (p *Progress) Bytes() *atomic.Int64 { return &p.bytes }

// AddDocs adds n to the documents (input records) read.
func (p *Progress) AddDocs(n int64) { p.docs.Add(n) }

// AddRecords adds n to the output records (examples) produced.
func (p *Progress) AddRecords(n int64) { p.recs.Add(n) }

// AddBytes adds n input bytes (when not counted through Bytes()).
func (p *Progress) AddBytes(n int64) { p.bytes.Add(n) }

// Counts returns the bytes, documents and records counted so far.
func (p *Progress) Counts() (bytes, docs, records int64) {
	return p.bytes.Load(), p.docs.Load(), p.recs.Load()
}

// StartPhase ends the display of the current phase (its last state stays
// on screen, or is logged) and reports a new one: name (e.g. "building
// the split") with total items of unit to do, counted by AddPhase.
func (p *Progress) StartPhase(name string, total int64, unit string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.opts.Mode == ProgressBar || p.opts.Mode == ProgressLog {
		p.drawLocked(true)
	}
	p.phase, p.phaseTotal, p.phaseUnit, p.phaseStart = name, total, unit, time.Now()
	p.phaseDone.Store(0)
	if p.opts.Mode == ProgressLog {
		fmt.Fprintf(p.w, "%s: %s: %d %s\n", p.opts.Label, name, total, unit)
	}
	p.mu.Unlock()
}

// AddPhase adds n to the items done in the current phase.
func (p *Progress) AddPhase(n int64) {
	if p != nil {
		p.phaseDone.Add(n)
	}
}

// Writer returns a writer for messages (warnings) printed while the
// progress is shown: on a terminal it erases the bar line first and draws
// the bar again after each complete line, so messages never end up glued
// to the bar. Elsewhere it writes to w as is.
func (p *Progress) Writer(w io.Writer) io.Writer {
	if p == nil || p.opts.Mode != ProgressBar {
		return w
	}
	return &progressWriter{p: p, w: w}
}

type progressWriter struct {
	p *Progress
	w io.Writer
}

// Write erases the bar, writes b and redraws the bar after a full line.
func (pw *progressWriter) Write(b []byte) (int, error) {
	p := pw.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	n, err := pw.w.Write(b)
	if len(b) > 0 && b[len(b)-1] == '\n' && !p.finished {
		p.drawLocked(false)
	}
	return n, err
}

func (p *Progress) line() string {
	el := time.Since(p.start).Seconds()
	b, d, r := p.Counts()
	rate := 0.0
	if el > 0 {
		rate = float64(r) / el
	}
	return fmt.Sprintf("%d docs, %d %s, %.0f %s/s, %.1f MB/s", d, r, p.opts.Unit, rate, p.opts.Unit, float64(b)/1e6/max(el, 1e-9))
}

func (p *Progress) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked(false)
}

// drawLocked draws the bar, or writes a log line. final ends the bar's
// line with a newline.
func (p *Progress) drawLocked(final bool) {
	switch p.opts.Mode {
	case ProgressBar:
		fmt.Fprint(p.w, "\r"+p.barLine(p.width())+"\x1b[K")
		p.drawn = true
		if final {
			fmt.Fprint(p.w, "\n")
			p.drawn = false
		}
	case ProgressLog:
		p.logLine()
	}
}

func (p *Progress) logLine() {
	if p.phase != "" {
		done, total := p.phaseDone.Load(), p.phaseTotal
		el := time.Since(p.phaseStart)
		pct, eta := "", ""
		if total > 0 {
			pct = fmt.Sprintf(" (%.1f%%)", 100*float64(done)/float64(total))
			if done > 0 {
				eta = fmt.Sprintf(", ETA %s", time.Duration(float64(el)*float64(total-done)/float64(done)).Round(time.Second))
			}
		}
		fmt.Fprintf(p.w, "%s: %s: %d of %d %s%s%s; elapsed %s\n", p.opts.Label, p.phase, done, total, p.phaseUnit, pct, eta, el.Round(time.Second))
		return
	}
	b := p.bytes.Load()
	el := time.Since(p.start)
	eta := ""
	if t := p.opts.TotalBytes; t > 0 && b > 0 {
		left := time.Duration(float64(el) * float64(t-b) / float64(b)).Round(time.Second)
		eta = fmt.Sprintf(", %.1f%% of %s, ETA %s", 100*float64(b)/float64(t), humanBytes(t), left)
	}
	fmt.Fprintf(p.w, "%s: %s read%s; %s; elapsed %s\n", p.opts.Label, humanBytes(b), eta, p.line(), el.Round(time.Second))
}

// width is the number of columns of the bar's terminal.
func (p *Progress) width() int {
	if p.opts.Width > 0 {
		return p.opts.Width
	}
	if f, ok := p.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	return 80
}

// barLine is the bar's text for a terminal of the given width: at most
// width-1 columns (writing the last column makes some terminals wrap).
// The label and the percentage always show; the bar, the amounts, the
// ETA and the rates are added while they fit, in that order of use.
func (p *Progress) barLine(width int) string {
	var done, total int64
	var amount, head string
	var extras []string // shown after the amount, most useful first
	var el time.Duration
	if p.phase != "" {
		done, total, el = p.phaseDone.Load(), p.phaseTotal, time.Since(p.phaseStart)
		head = p.opts.Label + ": " + p.phase
		amount = fmt.Sprintf("%d/%d %s", done, total, p.phaseUnit)
		if s := el.Seconds(); s > 0 {
			extras = []string{"", fmt.Sprintf("%.0f %s/s", float64(done)/s, p.phaseUnit)}
		}
	} else {
		b, d, r := p.Counts()
		done, total, el = b, p.opts.TotalBytes, time.Since(p.start)
		head = p.opts.Label
		amount = humanBytes(b)
		if total > 0 {
			amount += "/" + humanBytes(total)
		}
		s := max(el.Seconds(), 1e-9)
		extras = []string{"", fmt.Sprintf("%d docs", d), fmt.Sprintf("%d %s", r, p.opts.Unit),
			fmt.Sprintf("%.0f %s/s", float64(r)/s, p.opts.Unit), fmt.Sprintf("%.1f MB/s", float64(b)/1e6/s)}
	}
	frac := -1.0
	if total > 0 {
		frac = min(max(float64(done)/float64(total), 0), 1)
	}
	eta := "ETA -"
	switch {
	case frac >= 1:
		eta = "done in " + el.Round(time.Second).String()
	case frac > 0:
		eta = "ETA " + time.Duration(float64(el)*(1-frac)/frac).Round(time.Second).String()
	case total <= 0:
		eta = el.Round(time.Second).String()
	}
	if len(extras) > 0 {
		extras[0] = eta
	} else {
		extras = []string{eta}
	}
	pct := ""
	if frac >= 0 {
		pct = fmt.Sprintf("%3.0f%%", 100*frac)
	}
	limit := width - 1
	cut := func(s string) string {
		if len(s) > limit {
			return s[:max(limit, 0)]
		}
		return s
	}
	// Mandatory part: the label (cut if need be) and the percentage.
	if pct != "" && len(head)+1+len(pct) > limit {
		head = head[:max(limit-1-len(pct), 0)]
	}
	line := head
	if pct != "" {
		line += " " + pct
	}
	if len(line) >= limit {
		return cut(line)
	}
	const minBar, maxBar = 10, 40
	barCols := 0
	rest := []string{amount}
	rest = append(rest, extras...)
	used := len(line)
	if frac >= 0 && used+1+minBar+2 <= limit {
		barCols = minBar
		used += 1 + minBar + 2
	}
	var shown []string
	for _, f := range rest {
		if used+2+len(f) > limit {
			break
		}
		shown = append(shown, f)
		used += 2 + len(f)
	}
	if barCols > 0 {
		barCols = min(maxBar, barCols+limit-used)
		fill := int(frac * float64(barCols))
		bar := strings.Repeat("=", fill)
		if fill < barCols {
			bar += ">" + strings.Repeat(" ", barCols-fill-1)
		}
		line += " [" + bar + "]"
	}
	for _, f := range shown {
		line += "  " + f
	}
	return cut(line)
}

// Finish stops the reporting and prints a last line (or completes the
// bar and ends its line). It is safe to call more than once.
func (p *Progress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.finished = true
		switch p.opts.Mode {
		case ProgressBar:
			p.drawLocked(true)
		case ProgressLog:
			p.logLine()
		}
	})
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
