package evaluate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/pipeline"
)

// Data is a data set read for a task.
type Data struct {
	// Examples are the converted examples, in record order.
	Examples []features.Example
	// Records is the number of records read.
	Records int
	// Summary counts what the converter dropped, by reason (raw records).
	Summary features.Summary
}

// NoExamples returns krun eval's error for a data set read from path that
// gave no example, or nil when it has examples.
func (d *Data) NoExamples(path string) error {
	if len(d.Examples) > 0 {
		return nil
	}
	return fmt.Errorf("%s: no example to evaluate (%d records, dropped: %s)", path, d.Records, d.Summary.Dropped)
}

// IsArrow reports whether path names Arrow features (kprep features --out
// X.arrow, possibly sharded) rather than an original data file.
func IsArrow(path string) bool { return strings.EqualFold(filepath.Ext(path), ".arrow") }

// Load reads the data at path: Arrow features (IsArrow; then the padded
// length, when not set, and the pad id are read off the stored rows) or
// the task's original data file, converted record by record (the task must
// have been set up with its converter).
func (t *Task) Load(path string) (*Data, error) {
	if IsArrow(path) {
		// Features kprep features wrote: already converted and padded.
		ex, err := ReadArrow(path, t.Name)
		if err != nil {
			return nil, err
		}
		t.UseFeatures(ex)
		return &Data{Examples: ex, Records: len(ex)}, nil
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return t.ReadRecords(in, path)
}

// UseFeatures sets the padding from examples that are already padded
// features: the padded length (unless set) is the longest row's, the pad
// id the id at a masked position (unchanged when no row is padded).
func (t *Task) UseFeatures(ex []features.Example) {
	maxLen, padID := featurePadding(ex, t.PadID)
	if t.MaxLen == 0 {
		t.MaxLen = maxLen
	}
	t.PadID = padID
}

// ReadRecords converts every record of a task's original data (named name
// in errors), counting the records the converter drops; with
// Options.Strict a rejected record is an error.
func (t *Task) ReadRecords(r io.Reader, name string) (*Data, error) {
	if t.conv == nil {
		return nil, fmt.Errorf("task %s was set up without its feature converter: it reads features, not records", t.Name)
	}
	d := &Data{}
	rr, err := features.NewRecordReader(r, name)
	if err != nil {
		return nil, err
	}
	for {
		raw, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", name, rr.Index(), err)
		}
		res := t.conv.Convert(d.Records, raw)
		t.conv.Sequence(&res)
		d.Summary.Add(&res)
		if res.Err != nil && t.opts.Strict && features.IsRejection(features.DropReason(res.Err)) {
			return nil, fmt.Errorf("%s: record %d: %v (--strict)", name, d.Records, res.Err)
		}
		if res.Err == nil {
			d.Examples = append(d.Examples, res.Example)
		}
		d.Records++
	}
	return d, nil
}

// featurePadding infers max_seq_length and the pad id from stored features
// (padded by kprep features): the longest row, and the id at a masked
// position (def when no row is padded).
func featurePadding(ex []features.Example, def int64) (maxLen int, padID int64) {
	padID = def
	found := false
	visit := func(ids, mask []int64) {
		maxLen = max(maxLen, len(ids))
		for j, m := range mask {
			if m == 0 && j < len(ids) && !found {
				padID, found = ids[j], true
			}
		}
	}
	for i := range ex {
		if ex[i].Choices != nil {
			for _, c := range ex[i].Choices {
				visit(c.InputIDs, c.AttentionMask)
			}
			continue
		}
		visit(ex[i].InputIDs, ex[i].AttentionMask)
	}
	return maxLen, padID
}

// ReadArrow reads the features kprep features wrote for task
// (features.Schema; path may be sharded) back into Examples. Columns are
// looked up by name.
func ReadArrow(path, task string) ([]features.Example, error) {
	def, err := lookup(task)
	if err != nil {
		return nil, err
	}
	files, err := pipeline.ArrowFiles(path)
	if err != nil {
		return nil, err
	}
	multiChoice := def.Eval.MultiChoice
	var out []features.Example
	_, err = pipeline.ReadArrow(files, func(rec arrow.RecordBatch) error {
		sc := rec.Schema()
		col := func(name string) (arrow.Array, error) {
			idx := sc.FieldIndices(name)
			if len(idx) != 1 {
				return nil, fmt.Errorf("%s: no %q column: not %s features (kprep features --task %s)", path, name, task, task)
			}
			return rec.Column(idx[0]), nil
		}
		need := append([]string{features.ColID, features.ColRecord, features.ColInputIDs, features.ColAttentionMask}, def.Eval.Columns...)
		cols := map[string]arrow.Array{}
		for _, n := range need {
			c, err := col(n)
			if err != nil {
				return err
			}
			cols[n] = c
		}
		ints := func(name string, i int) (int64, bool, error) {
			a, ok := cols[name].(*array.Int64)
			if !ok {
				return 0, false, fmt.Errorf("%s: column %q is %s, want int64", path, name, cols[name].DataType())
			}
			if a.IsNull(i) {
				return 0, false, nil
			}
			return a.Value(i), true, nil
		}
		list := func(a arrow.Array, i int) ([]int64, error) {
			l, ok := a.(*array.List)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<int64>", path, a.DataType())
			}
			v, ok := l.ListValues().(*array.Int64)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<int64>", path, a.DataType())
			}
			from, to := l.ValueOffsets(i)
			return append([]int64(nil), v.Int64Values()[from:to]...), nil
		}
		nested := func(a arrow.Array, i int) ([][]int64, error) {
			l, ok := a.(*array.List)
			if !ok {
				return nil, fmt.Errorf("%s: column is %s, want list<list<int64>>", path, a.DataType())
			}
			from, to := l.ValueOffsets(i)
			var out [][]int64
			for j := from; j < to; j++ {
				s, err := list(l.ListValues(), int(j))
				if err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			return out, nil
		}
		ids, ok := cols[features.ColID].(*array.String)
		if !ok {
			return fmt.Errorf("%s: column id is %s, want string", path, cols[features.ColID].DataType())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			ex := features.Example{ID: ids.Value(i), SubjPos: -1, ObjPos: -1, EntityPos: -1, Label: -1}
			r, _, err := ints(features.ColRecord, i)
			if err != nil {
				return err
			}
			ex.Record = int(r)
			if multiChoice {
				in, err := nested(cols[features.ColInputIDs], i)
				if err != nil {
					return err
				}
				mask, err := nested(cols[features.ColAttentionMask], i)
				if err != nil {
					return err
				}
				if len(in) != len(mask) {
					return fmt.Errorf("%s: row %d: %d choices of ids, %d of masks", path, i, len(in), len(mask))
				}
				for k := range in {
					ex.Choices = append(ex.Choices, features.Choice{InputIDs: in[k], AttentionMask: mask[k]})
				}
			} else {
				if ex.InputIDs, err = list(cols[features.ColInputIDs], i); err != nil {
					return err
				}
				if ex.AttentionMask, err = list(cols[features.ColAttentionMask], i); err != nil {
					return err
				}
			}
			for _, p := range []struct {
				col string
				dst *int
			}{{features.ColSubjPos, &ex.SubjPos}, {features.ColObjPos, &ex.ObjPos}, {features.ColEntityPos, &ex.EntityPos}, {features.ColLabel, &ex.Label}} {
				if _, ok := cols[p.col]; !ok {
					continue
				}
				v, valid, err := ints(p.col, i)
				if err != nil {
					return err
				}
				if valid {
					*p.dst = int(v)
				}
			}
			if _, ok := cols[features.ColLabels]; ok {
				if ex.Labels, err = list(cols[features.ColLabels], i); err != nil {
					return err
				}
			}
			out = append(out, ex)
		}
		return nil
	})
	return out, err
}
