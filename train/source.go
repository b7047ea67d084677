package train

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/pipeline"
	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

// Data is a training or dev set: Len examples, gathered into micro-batches
// by Batch.
type Data interface {
	// Len is the number of examples.
	Len() int
	// Batch gathers the examples idx (their positions, 0..Len-1).
	Batch(idx []int) (Batch, error)
	// Name says where the examples came from (for errors).
	Name() string
}

// Name implements Data.
func (d *Dataset) Name() string { return d.Dir }

// Len implements Data.
func (d *Dataset) Len() int { return d.N }

// SourceOptions say how to read a data path that is not a folder of
// arrays.
type SourceOptions struct {
	// Task is the task (its converter and inputs).
	Task models.Task
	// Vocab is the tokenizer folder (vocab.json + merges.txt, or
	// tokenizer.json) for original data files.
	Vocab string
	// Features configures the converter (max_seq_length, labels, ...).
	Features features.Config
	// CacheDir receives the converted examples (one fixed-size row each),
	// reused when the input is unchanged.
	CacheDir string
	// Strict stops at the first rejected record instead of counting it.
	Strict bool
	// VocabSize and Classes bound the ids and the labels (0: unchecked).
	VocabSize, Classes int
}

// SourceReport counts what reading a source did.
type SourceReport struct {
	// Path is the input; Cache the row file used.
	Path  string `json:"path"`
	Cache string `json:"cache,omitempty"`
	// Records read, Examples kept, Dropped by reason.
	Records  int            `json:"records"`
	Examples int            `json:"examples"`
	Dropped  map[string]int `json:"dropped,omitempty"`
	// Reused is set when the cache was already there.
	Reused bool `json:"reused,omitempty"`
}

// OpenData opens path as training data for o.Task: a folder of .npy arrays
// (LoadNPY), the Arrow features kprep features writes, kprep trex's
// train/dev Arrow files, or the task's original data file (JSON array or
// JSON lines: TACRED/T-REx/OpenEntity/FIGER/find_head/CosmosQA records),
// which go through the task's feature builder with drops counted by
// reason. Everything but .npy folders is converted once into a row file in
// o.CacheDir and read from there example by example, so memory does not
// grow with the data set.
func OpenData(path string, inputs []string, labelFloat bool, o SourceOptions) (Data, SourceReport, error) {
	rep := SourceReport{Path: path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		d, err := LoadNPY(path, inputs, labelFloat)
		if err != nil {
			return nil, rep, err
		}
		rep.Examples, rep.Records = d.N, d.N
		return d, rep, d.check(o)
	} else if err != nil {
		if _, err2 := pipeline.ArrowFiles(path); err2 != nil {
			return nil, rep, fmt.Errorf("data %s: %w", path, err)
		}
	}
	key, err := cacheKey(path, o)
	if err != nil {
		return nil, rep, err
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, rep, err
	}
	base := filepath.Join(o.CacheDir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+"."+key[:16])
	rep.Cache = base + ".rows"
	if r, err := openRows(base); err == nil {
		rep.Reused = true
		rep.Records, rep.Examples, rep.Dropped = r.meta.Records, r.meta.N, r.meta.Dropped
		return r, rep, nil
	}
	if err := buildRows(path, base, o, &rep); err != nil {
		return nil, rep, err
	}
	r, err := openRows(base)
	if err != nil {
		return nil, rep, err
	}
	return r, rep, nil
}

// check bounds the ids and labels of an in-memory dataset.
func (d *Dataset) check(o SourceOptions) error {
	if a := d.arrays["input_ids"]; a != nil && o.VocabSize > 0 {
		row := a.Len() / max(d.N, 1)
		for i, id := range a.Int64 {
			if id < 0 || id >= int64(o.VocabSize) {
				return fmt.Errorf("%s: input_ids.npy example %d position %d: token id %d is outside the embedding (%d rows)", d.Dir, i/row, i%row, id, o.VocabSize)
			}
		}
	}
	if a := d.arrays["labels"]; a != nil && a.Int64 != nil && o.Classes > 0 {
		row := a.Len() / max(d.N, 1)
		for i, l := range a.Int64 {
			if l < 0 || l >= int64(o.Classes) {
				return fmt.Errorf("%s: labels.npy example %d: label %d is outside the head's %d classes", d.Dir, i/row, l, o.Classes)
			}
		}
	}
	return nil
}

// rowMeta describes a row file.
type rowMeta struct {
	Task    string         `json:"task"`
	N       int            `json:"examples"`
	Records int            `json:"records"`
	Dropped map[string]int `json:"dropped,omitempty"`
	// Seq is the sequence length, Choices 4 for CosmosQA else 1.
	Seq, Choices int
	// Positions per example (the task's Eval.Positions).
	Positions int
	// LabelInts per example: 1 (class) or Seq (find-head); LabelBytes:
	// multi-hot width (openentity/figer).
	LabelInts, LabelBytes int
	Source                string `json:"source"`
}

func (m *rowMeta) rowBytes() int {
	l := m.Seq * m.Choices
	return 4*l + l + 4*m.Positions + 4*m.LabelInts + m.LabelBytes
}

// rows is a row file opened for random access.
type rows struct {
	f    *os.File
	meta rowMeta
	name string
	// positions names the position inputs (the task's, in order).
	positions []string
}

func openRows(base string) (*rows, error) {
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, err
	}
	var m rowMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	def, err := tasks.Get(m.Task)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range def.Eval.Positions {
		names = append(names, p.Input)
	}
	if len(names) != m.Positions {
		return nil, fmt.Errorf("%s.json: %d positions, task %s has %d", base, m.Positions, m.Task, len(names))
	}
	f, err := os.Open(base + ".rows")
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.Size() != int64(m.N)*int64(m.rowBytes()) {
		f.Close()
		return nil, fmt.Errorf("%s.rows: size does not match its metadata", base)
	}
	return &rows{f: f, meta: m, name: m.Source, positions: names}, nil
}

// Len implements Data.
func (r *rows) Len() int { return r.meta.N }

// Name implements Data.
func (r *rows) Name() string { return r.name }

// Batch implements Data: it reads the examples' rows from the file.
func (r *rows) Batch(idx []int) (Batch, error) {
	m := r.meta
	n, l := len(idx), m.Seq*m.Choices
	ids := make([]int64, 0, n*l)
	mask := make([]int64, 0, n*l)
	pos := make([][]int64, m.Positions)
	var cls []int64
	var hot []float32
	buf := make([]byte, m.rowBytes())
	for _, i := range idx {
		if _, err := r.f.ReadAt(buf, int64(i)*int64(len(buf))); err != nil {
			return nil, fmt.Errorf("%s: example %d: %w", r.name, i, err)
		}
		o := 0
		for j := 0; j < l; j++ {
			ids = append(ids, int64(int32(binary.LittleEndian.Uint32(buf[o:]))))
			o += 4
		}
		for j := 0; j < l; j++ {
			mask = append(mask, int64(buf[o]))
			o++
		}
		for p := 0; p < m.Positions; p++ {
			pos[p] = append(pos[p], int64(int32(binary.LittleEndian.Uint32(buf[o:]))))
			o += 4
		}
		for j := 0; j < m.LabelInts; j++ {
			cls = append(cls, int64(int32(binary.LittleEndian.Uint32(buf[o:]))))
			o += 4
		}
		for j := 0; j < m.LabelBytes; j++ {
			hot = append(hot, float32(buf[o]))
			o++
		}
	}
	shape := []int64{int64(n), int64(m.Seq)}
	if m.Choices > 1 {
		shape = []int64{int64(n), int64(m.Choices), int64(m.Seq)}
	}
	b := Batch{"input_ids": {Shape: shape, Data: ids}, "attention_mask": {Shape: shape, Data: mask}}
	for p, name := range r.positions {
		b[name] = runtime.Tensor{Shape: []int64{int64(n)}, Data: pos[p]}
	}
	switch {
	case m.LabelBytes > 0:
		b["labels"] = runtime.Tensor{Shape: []int64{int64(n), int64(m.LabelBytes)}, Data: hot}
	case m.LabelInts > 1:
		b["labels"] = runtime.Tensor{Shape: []int64{int64(n), int64(m.LabelInts)}, Data: cls}
	default:
		b["labels"] = runtime.Tensor{Shape: []int64{int64(n)}, Data: cls}
	}
	return b, nil
}

// cacheKey fingerprints the input (path, size, time) and the conversion.
func cacheKey(path string, o SourceOptions) (string, error) {
	files, err := pipeline.ArrowFiles(path)
	if err != nil {
		files = []string{path}
	}
	h := sha256.New()
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		st, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("data %s: %w", f, err)
		}
		fmt.Fprintf(h, "%s|%d|%d\n", abs, st.Size(), st.ModTime().UnixNano())
	}
	c, _ := json.Marshal(o.Features)
	fmt.Fprintf(h, "%s|%s|%s|%d|%d", o.Task, c, o.Vocab, o.VocabSize, o.Classes)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildRows converts path into base.rows + base.json (atomically).
func buildRows(path, base string, o SourceOptions, rep *SourceReport) error {
	def, err := tasks.Get(string(o.Task))
	if err != nil {
		return err
	}
	ls, err := models.Labels(o.Task)
	if err != nil {
		return err
	}
	m := rowMeta{Task: string(o.Task), Source: path, Choices: 1, Dropped: map[string]int{}}
	rf, err := atomicfile.Create(base + ".rows")
	if err != nil {
		return err
	}
	defer rf.Abort()
	w := bufio.NewWriterSize(rf, 1<<20)
	var buf []byte
	put := func(ex *features.Example) error {
		var ids, mask []int64
		switch {
		case ex.Choices != nil:
			m.Choices = len(ex.Choices)
			for _, c := range ex.Choices {
				ids = append(ids, c.InputIDs...)
				mask = append(mask, c.AttentionMask...)
			}
			if m.Seq == 0 {
				m.Seq = len(ex.Choices[0].InputIDs)
			}
		default:
			ids, mask = ex.InputIDs, ex.AttentionMask
			if m.Seq == 0 {
				m.Seq = len(ids)
			}
		}
		if len(ids) != m.Seq*m.Choices {
			return fmt.Errorf("%s: record %d has %d ids, earlier records %d", path, ex.Record, len(ids), m.Seq*m.Choices)
		}
		pos := make([]int, len(def.Eval.Positions))
		for i, p := range def.Eval.Positions {
			pos[i] = p.Of(ex)
		}
		m.Positions = len(pos)
		switch {
		case ls.DType == graph.Float32:
			m.LabelBytes = len(ex.Labels)
		case ls.Rank == 2:
			m.LabelInts = len(ex.Labels)
		default:
			m.LabelInts = 1
		}
		buf = buf[:0]
		for j, id := range ids {
			if id < 0 || (o.VocabSize > 0 && id >= int64(o.VocabSize)) {
				return fmt.Errorf("%s: record %d position %d: token id %d is outside the embedding (%d rows)", path, ex.Record, j, id, o.VocabSize)
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(id)))
		}
		for _, v := range mask {
			buf = append(buf, byte(v))
		}
		for _, p := range pos {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(p)))
		}
		switch {
		case m.LabelBytes > 0:
			for _, v := range ex.Labels {
				buf = append(buf, byte(v))
			}
		case m.LabelInts > 1:
			for _, v := range ex.Labels {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(v)))
			}
		default:
			if ex.Label < 0 {
				return fmt.Errorf("%s: record %d has no label", path, ex.Record)
			}
			if o.Classes > 0 && ex.Label >= o.Classes {
				return fmt.Errorf("%s: record %d: label %d is outside the head's %d classes", path, ex.Record, ex.Label, o.Classes)
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(ex.Label)))
		}
		m.N++
		_, err := w.Write(buf)
		return err
	}
	if err := convertExamples(path, o, &m, put); err != nil {
		return err
	}
	if m.N == 0 {
		return fmt.Errorf("data %s: no examples (%d records, dropped %v)", path, m.Records, m.Dropped)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := rf.Commit(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(base+".json", mb); err != nil {
		return err
	}
	rep.Records, rep.Examples, rep.Dropped = m.Records, m.N, m.Dropped
	return nil
}

// convertExamples streams path's examples into put: Arrow features rows
// as they are, kprep trex's Arrow records and original JSON records
// through the task's converter.
func convertExamples(path string, o SourceOptions, m *rowMeta, put func(*features.Example) error) error {
	if files, err := pipeline.ArrowFiles(path); err == nil && strings.HasSuffix(path, ".arrow") {
		var conv *features.Converter
		_, err := pipeline.ReadArrow(files, func(rec arrow.RecordBatch) error {
			sc := rec.Schema()
			if len(sc.FieldIndices("input_ids")) > 0 {
				return featureRows(rec, o.Task, m, put)
			}
			if conv == nil {
				var err error
				if conv, err = newConverter(o); err != nil {
					return err
				}
			}
			recs, err := features.RelationRecordsFromArrow(rec)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for i := range recs {
				r := conv.ConvertRelation(m.Records, &recs[i])
				m.Records++
				if err := keep(path, o, m, conv, &r, put); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	}
	conv, err := newConverter(o)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data %s: %w", path, err)
	}
	defer f.Close()
	rr, err := features.NewRecordReader(f, path)
	if err != nil {
		return err
	}
	for {
		raw, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if o.Strict {
				return err
			}
			m.Dropped["invalid_input"]++ // the good prefix is kept, as kprep does
			return nil
		}
		r := conv.Convert(m.Records, raw)
		m.Records++
		if err := keep(path, o, m, conv, &r, put); err != nil {
			return err
		}
	}
}

func keep(path string, o SourceOptions, m *rowMeta, conv *features.Converter, r *features.Result, put func(*features.Example) error) error {
	conv.Sequence(r)
	if r.Err != nil {
		reason := features.DropReason(r.Err)
		if o.Strict && features.IsRejection(reason) {
			return fmt.Errorf("%s: record %d: %w", path, m.Records-1, r.Err)
		}
		m.Dropped[reason]++
		return nil
	}
	return put(&r.Example)
}

func newConverter(o SourceOptions) (*features.Converter, error) {
	if o.Vocab == "" {
		return nil, fmt.Errorf("original data files need --vocab (a folder with vocab.json and merges.txt)")
	}
	tok, err := features.LoadTokenizer(o.Vocab)
	if err != nil {
		return nil, err
	}
	cfg := o.Features
	cfg.Task = string(o.Task)
	return features.NewConverter(tok, cfg)
}

// featureRows reads the rows of a kprep features batch.
func featureRows(rec arrow.RecordBatch, task models.Task, m *rowMeta, put func(*features.Example) error) error {
	tg, err := models.Lookup(task)
	if err != nil {
		return err
	}
	multiChoice := tg.Choices > 0
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return nil
		}
		return rec.Column(idx[0])
	}
	ints := func(a arrow.Array, i int) []int64 {
		l, ok := a.(*array.List)
		if !ok {
			return nil
		}
		start, end := l.ValueOffsets(i)
		v, ok := l.ListValues().(*array.Int64)
		if !ok {
			return nil
		}
		return append([]int64(nil), v.Int64Values()[start:end]...)
	}
	scalar := func(name string, i int) int {
		a := col(name)
		if a == nil || a.IsNull(i) {
			return -1
		}
		if v, ok := a.(*array.Int64); ok {
			return int(v.Value(i))
		}
		return -1
	}
	ids, mask := col("input_ids"), col("attention_mask")
	for i := 0; i < int(rec.NumRows()); i++ {
		ex := features.Example{Record: m.Records, SubjPos: scalar("subj_pos", i), ObjPos: scalar("obj_pos", i),
			EntityPos: scalar("entity_pos", i), Label: scalar("label", i)}
		m.Records++
		if multiChoice {
			outer, ok := ids.(*array.List)
			mo, ok2 := mask.(*array.List)
			if !ok || !ok2 {
				return fmt.Errorf("cosmosqa features: input_ids must be list<list<int64>>")
			}
			s, e := outer.ValueOffsets(i)
			for c := s; c < e; c++ {
				ex.Choices = append(ex.Choices, features.Choice{InputIDs: ints(outer.ListValues(), int(c)), AttentionMask: ints(mo.ListValues(), int(c))})
			}
		} else {
			ex.InputIDs, ex.AttentionMask = ints(ids, i), ints(mask, i)
			if l := col("labels"); l != nil {
				ex.Labels = ints(l, i)
			}
		}
		if ex.InputIDs == nil && ex.Choices == nil {
			return fmt.Errorf("features row %d: input_ids is not list<int64>", m.Records-1)
		}
		if err := put(&ex); err != nil {
			return err
		}
	}
	return nil
}
