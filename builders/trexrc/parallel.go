package trexrc

import (
	"context"
	"errors"
	"io"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// Within-input parallelism: when there are fewer inputs than workers, the
// documents of one input are cleaned in batches on several goroutines and
// written in input order (pipeline.Ordered), so the shard is the same as
// with one worker.

const (
	batchDocs  = 128
	batchBytes = 1 << 20
)

type docItem struct {
	lo, hi   int   // the document's bytes in the batch arena
	index    int   // 0-based document index in the input
	offset   int64 // byte offset of the document
	tooLarge error // set for a document skipped by the splitter
}

type docBatch struct {
	arena   []byte
	docs    []docItem
	fileErr error // a splitter error after the documents (ends the input)
	errAt   int   // documents read before fileErr
}

type docOutcome struct {
	err      error              // *trex.DocumentError for a rejected document
	bad      trex.TripleProblem // the first unreadable triple (Reason "" if none)
	lo, hi   int                // the document's examples in batchResult.examples
	tooLarge error
	index    int
	offset   int64
}

type batchResult struct {
	outcomes []docOutcome
	examples []trex.Example
	counts   trex.Counts
	fileErr  error
	errAt    int
}

// readDocsParallel is readDocs on `workers` goroutines. It returns the
// input's counts.
func readDocsParallel(ctx context.Context, r io.Reader, src pipeline.Source, workers int, emit func(*trex.Example) error, opts *Options, prog *pipeline.Progress, res *InputResult) (trex.Counts, error) {
	a := pipeline.NewArrayReader(r, src.Name, pipeline.ArrayOptions{MaxElement: opts.MaxDocumentBytes})
	done := false
	next := func() (*docBatch, bool, error) {
		if done {
			return nil, false, nil
		}
		b := &docBatch{}
		for len(b.docs) < batchDocs && len(b.arena) < batchBytes {
			raw, err := a.Next()
			if err == io.EOF {
				done = true
				break
			}
			var tl *pipeline.ElementTooLargeError
			if errors.As(err, &tl) {
				b.docs = append(b.docs, docItem{index: tl.Index, offset: tl.Offset, tooLarge: err})
				continue
			}
			if err != nil {
				b.fileErr, b.errAt = err, a.Count()
				done = true
				break
			}
			lo := len(b.arena)
			b.arena = append(b.arena, raw...)
			b.docs = append(b.docs, docItem{lo: lo, hi: len(b.arena), index: a.Index(), offset: a.Offset()})
		}
		if len(b.docs) == 0 && b.fileErr == nil {
			return nil, false, nil
		}
		return b, true, nil
	}
	cleaners := make(chan *trex.Cleaner, workers)
	for i := 0; i < workers; i++ {
		cleaners <- trex.NewCleaner()
	}
	work := func(ctx context.Context, b *docBatch) (*batchResult, error) {
		c := <-cleaners
		defer func() { cleaners <- c }()
		c.ResetCounts()
		out := &batchResult{fileErr: b.fileErr, errAt: b.errAt}
		for _, d := range b.docs {
			o := docOutcome{index: d.index, offset: d.offset, tooLarge: d.tooLarge, lo: len(out.examples)}
			if d.tooLarge == nil {
				o.err = c.Clean(b.arena[d.lo:d.hi], func(ex *trex.Example) error {
					cp := *ex
					cp.Tokens = append([]string(nil), ex.Tokens...)
					out.examples = append(out.examples, cp)
					return nil
				})
				o.bad, _ = c.BadTriple()
			}
			o.hi = len(out.examples)
			out.outcomes = append(out.outcomes, o)
		}
		out.counts = c.Counts()
		return out, nil
	}
	var total trex.Counts
	emitBatch := func(br *batchResult) error {
		for _, o := range br.outcomes {
			if o.tooLarge != nil {
				bad := tooLargeRecord(src.Name, o.tooLarge.(*pipeline.ElementTooLargeError))
				if opts.Strict {
					return bad
				}
				total.TooLargeDocuments++
				opts.warnf("%v (skipped)", bad)
				continue
			}
			var de *trex.DocumentError
			if errors.As(o.err, &de) {
				bad := documentRecord(src.Name, o.index, o.offset, de)
				if opts.Strict {
					return bad
				}
				opts.warnf("%v (skipped)", bad)
			} else if o.err != nil {
				return o.err
			}
			if opts.Strict && o.bad.Reason != "" {
				return tripleRecord(src.Name, o.index, o.offset, o.bad)
			}
			for i := o.lo; i < o.hi; i++ {
				if err := emit(&br.examples[i]); err != nil {
					return err
				}
			}
			if prog != nil {
				prog.AddDocs(1)
				prog.AddRecords(int64(o.hi - o.lo))
			}
		}
		total.Add(br.counts)
		if br.fileErr != nil {
			err := br.fileErr
			if fatal := arrayError(src.Name, opts.Strict, err); fatal != nil {
				return fatal
			}
			res.Error = err.Error()
			opts.warnf("%v (%s)", err, keptDocs(br.errAt))
		}
		return nil
	}
	err := pipeline.Ordered(ctx, workers, next, work, emitBatch)
	return total, err
}
