package pipeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// HFMetadataKey is the schema metadata key under which Hugging Face
// `datasets` stores its features ({"info": {"features": {...}}}).
const HFMetadataKey = "huggingface"

// HFFeatures derives the Hugging Face `datasets` features of an Arrow
// schema: strings and numbers become {"dtype": ..., "_type": "Value"},
// lists become {"feature": ..., "_type": "Sequence"} (with "length" for
// fixed-size lists), structs become nested dicts and lists of structs
// become [{...}] (datasets' list form; Sequence of a dict would mean a
// struct of lists). These forms are read by every datasets version from
// 2.x to 4.x.
func HFFeatures(schema *arrow.Schema) (json.RawMessage, error) {
	feats := orderedObject{}
	for _, f := range schema.Fields() {
		v, err := hfFeature(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		feats = append(feats, kv{f.Name, v})
	}
	return json.Marshal(feats)
}

type kv struct {
	k string
	v any
}

// orderedObject marshals as a JSON object keeping the key order.
type orderedObject []kv

// MarshalJSON writes the object with its keys in insertion order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func hfFeature(t arrow.DataType) (any, error) {
	value := func(d string) any { return orderedObject{{"dtype", d}, {"_type", "Value"}} }
	switch t.ID() {
	case arrow.STRING:
		return value("string"), nil
	case arrow.LARGE_STRING:
		return value("large_string"), nil
	case arrow.BINARY:
		return value("binary"), nil
	case arrow.LARGE_BINARY:
		return value("large_binary"), nil
	case arrow.BOOL:
		return value("bool"), nil
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return value(t.Name()), nil
	case arrow.LIST, arrow.LARGE_LIST:
		inner, err := hfFeature(t.(arrow.ListLikeType).Elem())
		if err != nil {
			return nil, err
		}
		if t.ID() == arrow.LIST && t.(arrow.ListLikeType).Elem().ID() == arrow.STRUCT {
			// datasets reads Sequence({...}) as a struct of lists; a list
			// of structs is the one-element list [{...}].
			return []any{inner}, nil
		}
		return orderedObject{{"feature", inner}, {"_type", "Sequence"}}, nil
	case arrow.FIXED_SIZE_LIST:
		fl := t.(*arrow.FixedSizeListType)
		inner, err := hfFeature(fl.Elem())
		if err != nil {
			return nil, err
		}
		return orderedObject{{"feature", inner}, {"length", fl.Len()}, {"_type", "Sequence"}}, nil
	case arrow.STRUCT:
		st := t.(*arrow.StructType)
		o := orderedObject{}
		for _, f := range st.Fields() {
			v, err := hfFeature(f.Type)
			if err != nil {
				return nil, err
			}
			o = append(o, kv{f.Name, v})
		}
		return o, nil
	}
	return nil, fmt.Errorf("no Hugging Face feature for Arrow type %s", t)
}

// WithHFMetadata returns schema with the "huggingface" metadata set to
// {"info": {"features": features}}; nil features are derived with
// HFFeatures. Other metadata keys are kept.
func WithHFMetadata(schema *arrow.Schema, features json.RawMessage) (*arrow.Schema, error) {
	if features == nil {
		var err error
		if features, err = HFFeatures(schema); err != nil {
			return nil, err
		}
	}
	info, err := json.Marshal(map[string]any{"info": map[string]any{"features": features}})
	if err != nil {
		return nil, err
	}
	md := schema.Metadata()
	keys, vals := []string{}, []string{}
	for i, k := range md.Keys() {
		if k != HFMetadataKey {
			keys = append(keys, k)
			vals = append(vals, md.Values()[i])
		}
	}
	keys = append(keys, HFMetadataKey)
	vals = append(vals, string(info))
	m := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(schema.Fields(), &m), nil
}

// ArrowOptions tunes an ArrowSink.
type ArrowOptions struct {
	// Zstd compresses record batch bodies with zstd (readable by pyarrow
	// and datasets; arrow-go reads them too).
	Zstd bool
	// MaxFileBytes starts a new file once the current one has reached this
	// many bytes (checked after each record batch). 0 writes one file.
	MaxFileBytes int64
	// BatchRows is the number of rows per record batch (default 8192).
	BatchRows int
	// Features overrides the Hugging Face features JSON; nil derives it
	// from the schema with HFFeatures.
	Features json.RawMessage
	// Allocator for the builders; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
}

// ArrowSink writes rows to Arrow IPC stream files (the format of
// datasets' cache files, loadable with datasets.Dataset.from_file or
// pyarrow.ipc.open_stream), with the Hugging Face schema metadata.
//
// Usage: append one value to every column builder of Builder() (typed
// builders: b.Field(i).(*array.StringBuilder).Append(...)), then call
// RowDone; finally Close (which publishes the files atomically) or Abort.
// A sink is not safe for concurrent use.
type ArrowSink struct {
	path   string
	schema *arrow.Schema
	opts   ArrowOptions
	b      *array.RecordBuilder

	cur     *AtomicFile
	curBuf  *bufio.Writer
	cnt     *countWriter
	w       *ipc.Writer
	pending int
	rows    int64
	files   []*AtomicFile
	paths   []string
	closed  bool
}

// NewArrowSink returns a sink writing to path (for instance
// "out/train.arrow"). With rotation, the files are named
// "train-00000-of-00003.arrow" and so on, the Hugging Face way; a single
// file keeps the name path. Nothing appears at the final names before
// Close.
func NewArrowSink(path string, schema *arrow.Schema, opts ArrowOptions) (*ArrowSink, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 8192
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	s, err := WithHFMetadata(schema, opts.Features)
	if err != nil {
		return nil, err
	}
	return &ArrowSink{path: path, schema: s, opts: opts, b: array.NewRecordBuilder(opts.Allocator, s)}, nil
}

// Schema returns the schema written, metadata included.
func (s *ArrowSink) Schema() *arrow.Schema { return s.schema }

// Builder returns the record builder whose columns receive the row values.
func (s *ArrowSink) Builder() *array.RecordBuilder { return s.b }

// Rows returns the number of rows completed so far.
func (s *ArrowSink) Rows() int64 { return s.rows }

// BatchRows returns the number of rows per record batch (the option, or
// its default).
func (s *ArrowSink) BatchRows() int { return s.opts.BatchRows }

// WriteRecordBatch writes a record batch built by the caller (schema
// equal to Schema(), metadata included), after any rows pending in the
// Builder; rotation applies as for RowDone. Callers that assemble Arrow
// buffers themselves use it to skip the builders; cutting batches of
// BatchRows rows gives the same file as RowDone.
func (s *ArrowSink) WriteRecordBatch(rec arrow.RecordBatch) error {
	if err := s.flush(); err != nil {
		return err
	}
	if rec.NumRows() == 0 {
		return nil
	}
	if s.w == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if err := s.w.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.rows += rec.NumRows()
	if s.opts.MaxFileBytes > 0 && s.cnt.n >= s.opts.MaxFileBytes {
		return s.closeCurrent()
	}
	return nil
}

// RowDone marks the end of a row (one value appended to every column) and
// writes a record batch when BatchRows rows are pending.
func (s *ArrowSink) RowDone() error {
	s.pending++
	s.rows++
	if s.pending >= s.opts.BatchRows {
		return s.flush()
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

// Write counts the bytes written through to the underlying writer.
func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *ArrowSink) open() error {
	f, err := CreateAtomic(s.path + fmt.Sprintf(".part%05d", len(s.files)))
	if err != nil {
		return err
	}
	s.cur = f
	s.files = append(s.files, f)
	s.curBuf = bufio.NewWriterSize(f, 1<<20)
	s.cnt = &countWriter{w: s.curBuf}
	opts := []ipc.Option{ipc.WithSchema(s.schema), ipc.WithAllocator(s.opts.Allocator)}
	if s.opts.Zstd {
		opts = append(opts, ipc.WithZstd(), ipc.WithCompressConcurrency(1))
	}
	s.w = ipc.NewWriter(s.cnt, opts...)
	return nil
}

func (s *ArrowSink) closeCurrent() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.w = nil
	if err := s.curBuf.Flush(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

func (s *ArrowSink) flush() error {
	if s.pending == 0 {
		return nil
	}
	if s.w == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	rec := s.b.NewRecordBatch()
	defer rec.Release()
	s.pending = 0
	if err := s.w.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if s.opts.MaxFileBytes > 0 && s.cnt.n >= s.opts.MaxFileBytes {
		return s.closeCurrent()
	}
	return nil
}

// Close writes the pending rows, ends the stream(s) and renames the files
// to their final names. An empty sink still writes one file holding the
// schema and no rows. It returns the paths written, in order.
func (s *ArrowSink) Close() ([]string, error) {
	if s.closed {
		return s.paths, nil
	}
	s.closed = true
	defer s.b.Release()
	if err := s.flush(); err != nil {
		s.abortFiles()
		return nil, err
	}
	if len(s.files) == 0 {
		if err := s.open(); err != nil {
			s.abortFiles()
			return nil, err
		}
	}
	if err := s.closeCurrent(); err != nil {
		s.abortFiles()
		return nil, err
	}
	names := RotatedNames(s.path, len(s.files))
	for i, f := range s.files {
		f.SetPath(names[i])
		if err := f.Commit(); err != nil {
			s.abortFiles()
			return nil, err
		}
	}
	s.paths = names
	return names, nil
}

// Abort discards everything written; no file appears at the final names.
func (s *ArrowSink) Abort() {
	if s.closed {
		return
	}
	s.closed = true
	if s.w != nil {
		s.w.Close()
	}
	s.b.Release()
	s.abortFiles()
}

func (s *ArrowSink) abortFiles() {
	for _, f := range s.files {
		f.Abort()
	}
}

// RotatedNames returns the names of n files written for path: path itself
// when n is 1, else "STEM-00000-of-0000N.EXT", ... as Hugging Face names
// its shards.
func RotatedNames(path string, n int) []string {
	if n == 1 {
		return []string{path}
	}
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d-of-%05d%s", stem, i, n, ext)
	}
	return out
}

// ArrowFiles returns the files of a dataset written by ArrowSink at path:
// path itself if it exists, else its rotated shards in order. It returns
// an error when neither exists.
func ArrowFiles(path string) ([]string, error) {
	if _, err := os.Stat(path); err == nil {
		return []string{path}, nil
	}
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	matches, _ := filepath.Glob(globEscape(stem) + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]" + globEscape(ext))
	if len(matches) == 0 {
		return nil, fmt.Errorf("%s: no such Arrow file or shards", path)
	}
	sort.Strings(matches)
	return matches, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// ReadArrow reads the Arrow IPC stream files in order and calls fn with
// each record batch (released after fn returns: Retain it to keep it).
// The schemas of all files must be equal. It returns the schema of the
// first file.
func ReadArrow(paths []string, fn func(rec arrow.RecordBatch) error) (*arrow.Schema, error) {
	var first *arrow.Schema
	for _, p := range paths {
		err := func() error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			r, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20))
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			defer r.Release()
			if first == nil {
				first = r.Schema()
			} else if !first.Equal(r.Schema()) {
				return fmt.Errorf("%s: schema differs from %s", p, paths[0])
			}
			for r.Next() {
				if err := fn(r.RecordBatch()); err != nil {
					return err
				}
			}
			if err := r.Err(); err != nil && err != io.EOF {
				return fmt.Errorf("%s: %w", p, err)
			}
			return nil
		}()
		if err != nil {
			return first, err
		}
	}
	return first, nil
}
