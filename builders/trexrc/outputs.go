package trexrc

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// splitOut writes one split (train or dev) as Arrow and/or JSON.
type splitOut struct {
	arrow *pipeline.ArrowSink
	jf    *pipeline.AtomicFile
	jw    *bufio.Writer
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
		}
		if opts.Format == "json" || opts.Format == "both" {
			f, err := pipeline.CreateAtomic(filepath.Join(opts.Out, s.name+".json"))
			if err != nil {
				o.abort()
				return nil, err
			}
			s.out.jf = f
			s.out.jw = bufio.NewWriterSize(f, 1<<20)
			s.out.jw.WriteByte('[')
		}
	}
	return o, nil
}

// add copies row `row` of a shard record to the train or dev outputs.
func (o *outputs) add(train bool, rec arrow.RecordBatch, row int, label int64) error {
	s := &o.dev
	if train {
		s = &o.train
	}
	if s.arrow != nil {
		b := s.arrow.Builder()
		for c := 0; c < 9; c++ {
			switch col := rec.Column(c).(type) {
			case *array.String:
				b.Field(c).(*array.StringBuilder).Append(col.Value(row))
			case *array.Int64:
				b.Field(c).(*array.Int64Builder).Append(col.Value(row))
			case *array.List:
				lb := b.Field(c).(*array.ListBuilder)
				vb := lb.ValueBuilder().(*array.StringBuilder)
				vals := col.ListValues().(*array.String)
				st, en := col.ValueOffsets(row)
				lb.Append(true)
				for i := st; i < en; i++ {
					vb.Append(vals.Value(int(i)))
				}
			}
		}
		b.Field(9).(*array.Int64Builder).Append(label)
		if err := s.arrow.RowDone(); err != nil {
			return err
		}
	}
	if s.jw != nil {
		ex := &s.ex
		str := func(c int) string { return rec.Column(c).(*array.String).Value(row) }
		num := func(c int) int64 { return rec.Column(c).(*array.Int64).Value(row) }
		ex.DocID, ex.Relation, ex.SubjLabel, ex.ObjLabel = str(0), str(2), str(7), str(8)
		ex.SubjStart, ex.SubjEnd, ex.ObjStart, ex.ObjEnd = num(3), num(4), num(5), num(6)
		col := rec.Column(1).(*array.List)
		vals := col.ListValues().(*array.String)
		st, en := col.ValueOffsets(row)
		ex.Tokens = ex.Tokens[:0]
		for i := st; i < en; i++ {
			ex.Tokens = append(ex.Tokens, vals.Value(int(i)))
		}
		s.jbuf = s.jbuf[:0]
		if s.n > 0 {
			s.jbuf = append(s.jbuf, ", "...)
		}
		s.jbuf = trex.AppendJSON(s.jbuf, ex)
		if _, err := s.jw.Write(s.jbuf); err != nil {
			return err
		}
	}
	s.n++
	return nil
}

// commit publishes every output; it returns the paths written.
func (o *outputs) commit() ([]string, error) {
	var paths []string
	for _, s := range []*splitOut{&o.train, &o.dev} {
		if s.arrow != nil {
			p, err := s.arrow.Close()
			if err != nil {
				o.abort()
				return nil, err
			}
			removeOtherShards(p)
			paths = append(paths, p...)
		}
		if s.jw != nil {
			s.jw.WriteByte(']')
			if err := s.jw.Flush(); err != nil {
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
