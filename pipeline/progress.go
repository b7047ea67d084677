package pipeline

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// ProgressMode selects how progress is shown.
type ProgressMode int

const (
	// ProgressAuto draws a bar when the writer is a terminal and logs
	// periodic lines otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a progressbar/v3 bar.
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
}

// Progress counts bytes, documents and output records from any goroutine
// and reports them: bytes against the total, documents, records/s and an
// ETA, as a bar on a terminal or as a log line every Interval otherwise.
type Progress struct {
	opts  ProgressOptions
	w     io.Writer
	bytes atomic.Int64
	docs  atomic.Int64
	recs  atomic.Int64
	start time.Time
	bar   *progressbar.ProgressBar
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
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
		total := opts.TotalBytes
		if total <= 0 {
			total = -1
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(24),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(150*time.Millisecond),
			progressbar.OptionSetDescription(opts.Label),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
		period = 200 * time.Millisecond
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
	switch p.opts.Mode {
	case ProgressBar:
		p.bar.Describe(p.opts.Label + ": " + p.line())
		_ = p.bar.Set64(p.bytes.Load())
	case ProgressLog:
		b := p.bytes.Load()
		el := time.Since(p.start)
		eta := ""
		if t := p.opts.TotalBytes; t > 0 && b > 0 {
			left := time.Duration(float64(el) * float64(t-b) / float64(b)).Round(time.Second)
			eta = fmt.Sprintf(", %.1f%% of %s, ETA %s", 100*float64(b)/float64(t), humanBytes(t), left)
		}
		fmt.Fprintf(p.w, "%s: %s read%s; %s; elapsed %s\n", p.opts.Label, humanBytes(b), eta, p.line(), el.Round(time.Second))
	}
}

// Finish stops the reporting and prints a last line (or completes the
// bar). It is safe to call more than once.
func (p *Progress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		switch p.opts.Mode {
		case ProgressBar:
			p.bar.Describe(p.opts.Label + ": " + p.line())
			_ = p.bar.Set64(p.bytes.Load())
			_ = p.bar.Finish()
			fmt.Fprintln(p.w)
		case ProgressLog:
			p.report()
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
