package trexrc

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// jsonBufSize is the size of the writes of train.json and dev.json.
const jsonBufSize = 1 << 20

// splitOut writes one split (train or dev) as Arrow and/or JSON.
type splitOut struct {
	arrow *pipeline.ArrowSink
	batch *exampleBatch
	jf    *pipeline.AtomicFile
	jw    bool // JSON output on: jbuf collects it, written to jf in 1 MiB pieces
	n     int64
	jbuf  []byte
	ex    trex.Example
}

type outputs struct {
	train, dev splitOut
	opts       *Options
}

func newOutputs(opts *Options) (*outputs, error) {
	o := &outputs{opts: opts}
	for _, s := range []struct {
		name string
		out  *splitOut
	}{{"train", &o.train}, {"dev", &o.dev}} {
		if opts.Format == "arrow" || opts.Format == "both" {
			sink, err := pipeline.NewArrowSink(filepath.Join(opts.Out, s.name+".arrow"), SplitSchema,
				pipeline.ArrowOptions{Zstd: opts.Zstd, MaxFileBytes: opts.MaxFileBytes, BatchRows: opts.batchRows})
			if err != nil {
				o.abort()
				return nil, err
			}
			s.out.arrow = sink
			s.out.batch = newExampleBatch(sink.Schema(), sink.BatchRows())
		}
		if opts.Format == "json" || opts.Format == "both" {
			f, err := pipeline.CreateAtomic(filepath.Join(opts.Out, s.name+".json"))
			if err != nil {
				o.abort()
				return nil, err
			}
			s.out.jf = f
			s.out.jw = true
			s.out.jbuf = append(make([]byte, 0, jsonBufSize+64<<10), '[')
		}
	}
	return o, nil
}

// add writes one shard record (relation rel) to the train or dev outputs.
func (o *outputs) add(train bool, rec *shardRecord, rel string, label int64) error {
	s := &o.dev
	if train {
		s = &o.train
	}
	if s.batch != nil {
		if s.batch.add(rec, rel, label) {
			if err := s.flushBatch(); err != nil {
				return err
			}
		}
	}
	if s.jw {
		// The strings point into the shard reader's buffer: no copies.
		ex := &s.ex
		ex.DocID, ex.Relation = bytesString(rec.docID), rel
		ex.SubjLabel, ex.ObjLabel = bytesString(rec.subjL), bytesString(rec.objL)
		ex.SubjStart, ex.SubjEnd, ex.ObjStart, ex.ObjEnd = rec.ints[0], rec.ints[1], rec.ints[2], rec.ints[3]
		ex.Tokens = ex.Tokens[:0]
		for _, t := range rec.tokens {
			ex.Tokens = append(ex.Tokens, bytesString(t))
		}
		if s.n > 0 {
			s.jbuf = append(s.jbuf, ", "...)
		}
		s.jbuf = trex.AppendJSON(s.jbuf, ex)
		if len(s.jbuf) >= jsonBufSize {
			if _, err := s.jf.Write(s.jbuf); err != nil {
				return err
			}
			s.jbuf = s.jbuf[:0]
		}
	}
	s.n++
	return nil
}

// flushBatch writes the pending Arrow rows as one record batch.
func (s *splitOut) flushBatch() error {
	if s.batch == nil || s.batch.n == 0 {
		return nil
	}
	rec := s.batch.record()
	err := s.arrow.WriteRecordBatch(rec)
	rec.Release()
	s.batch.reset()
	return err
}

// commit publishes every output; it returns the paths written.
func (o *outputs) commit() ([]string, error) {
	var paths []string
	for _, s := range []*splitOut{&o.train, &o.dev} {
		if s.arrow != nil {
			if err := s.flushBatch(); err != nil {
				o.abort()
				return nil, err
			}
			p, err := s.arrow.Close()
			if err != nil {
				o.abort()
				return nil, err
			}
			removeOtherShards(p)
			paths = append(paths, p...)
		}
		if s.jw {
			s.jbuf = append(s.jbuf, ']')
			if _, err := s.jf.Write(s.jbuf); err != nil {
				o.abort()
				return nil, err
			}
			if err := s.jf.Commit(); err != nil {
				o.abort()
				return nil, err
			}
			paths = append(paths, s.jf.Path())
		}
	}
	return paths, nil
}

func (o *outputs) abort() {
	for _, s := range []*splitOut{&o.train, &o.dev} {
		if s.arrow != nil {
			s.arrow.Abort()
		}
		if s.jf != nil {
			s.jf.Abort()
		}
	}
}

// removeOtherShards deletes the files of an earlier run of the same split
// written with another rotation ("train.arrow" vs "train-0000K-of-0000N.arrow"),
// so that ArrowFiles never mixes two runs.
func removeOtherShards(written []string) {
	if len(written) == 0 {
		return
	}
	keep := map[string]bool{}
	for _, p := range written {
		keep[p] = true
	}
	first := written[0]
	stem := strings.TrimSuffix(first, ".arrow")
	if len(written) > 1 {
		stem = stem[:strings.LastIndex(stem, "-00000-of-")]
	}
	cands, _ := filepath.Glob(stem + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].arrow")
	cands = append(cands, stem+".arrow")
	for _, c := range cands {
		if !keep[c] {
			os.Remove(c)
		}
	}
}
