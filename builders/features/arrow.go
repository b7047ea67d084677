package features

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Arrow column names written by kprep features.
const (
	ColID            = "id"
	ColRecord        = "record"
	ColInputIDs      = "input_ids"
	ColAttentionMask = "attention_mask"
	ColSubjPos       = "subj_pos"
	ColObjPos        = "obj_pos"
	ColEntityPos     = "entity_pos"
	ColLabel         = "label"
	ColLabels        = "labels"
)

var (
	int64List     = arrow.ListOf(arrow.PrimitiveTypes.Int64)
	int64ListList = arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int64))
)

// Schema returns the Arrow schema of a task's feature file, by the
// task's Layout:
//
//	all tasks:                     id string, record int64
//	relation (tacred, trex-rc):    input_ids, attention_mask list<int64>; subj_pos, obj_pos, label int64
//	entity (openentity, figer):    input_ids, attention_mask list<int64>; entity_pos int64; labels list<int64> (multi-hot)
//	tokens (find-head):            input_ids, attention_mask, labels list<int64> (per position)
//	choices (cosmosqa):            input_ids, attention_mask list<list<int64>> (4 x L); label int64 (null = none)
func Schema(task string) (*arrow.Schema, error) {
	f := func(name string, t arrow.DataType, nullable bool) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: nullable}
	}
	fields := []arrow.Field{f(ColID, arrow.BinaryTypes.String, false), f(ColRecord, arrow.PrimitiveTypes.Int64, false)}
	i64 := arrow.PrimitiveTypes.Int64
	switch formats[task].Layout {
	case LayoutRelation:
		fields = append(fields, f(ColInputIDs, int64List, false), f(ColAttentionMask, int64List, false),
			f(ColSubjPos, i64, false), f(ColObjPos, i64, false), f(ColLabel, i64, false))
	case LayoutEntity:
		fields = append(fields, f(ColInputIDs, int64List, false), f(ColAttentionMask, int64List, false),
			f(ColEntityPos, i64, false), f(ColLabels, int64List, false))
	case LayoutTokens:
		fields = append(fields, f(ColInputIDs, int64List, false), f(ColAttentionMask, int64List, false),
			f(ColLabels, int64List, false))
	case LayoutChoices:
		fields = append(fields, f(ColInputIDs, int64ListList, false), f(ColAttentionMask, int64ListList, false),
			f(ColLabel, i64, true))
	default:
		return nil, fmt.Errorf("unknown task %q", task)
	}
	return arrow.NewSchema(fields, nil), nil
}

func appendList(b array.Builder, v []int64) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int64Builder).AppendValues(v, nil)
}

func appendChoices(b array.Builder, ch []Choice, mask bool) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	for _, c := range ch {
		if mask {
			appendList(lb.ValueBuilder(), c.AttentionMask)
		} else {
			appendList(lb.ValueBuilder(), c.InputIDs)
		}
	}
}

// AppendRow appends ex as one row to a record builder made from
// Schema(task) (columns looked up by name, so extra metadata is fine).
func AppendRow(task string, rb *array.RecordBuilder, ex *Example) error {
	sc := rb.Schema()
	col := func(name string) (array.Builder, error) {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("schema has no single %q column", name)
		}
		return rb.Field(idx[0]), nil
	}
	var names []string
	layout := formats[task].Layout
	switch layout {
	case LayoutRelation:
		names = []string{ColID, ColRecord, ColInputIDs, ColAttentionMask, ColSubjPos, ColObjPos, ColLabel}
	case LayoutEntity:
		names = []string{ColID, ColRecord, ColInputIDs, ColAttentionMask, ColEntityPos, ColLabels}
	case LayoutTokens:
		names = []string{ColID, ColRecord, ColInputIDs, ColAttentionMask, ColLabels}
	case LayoutChoices:
		names = []string{ColID, ColRecord, ColInputIDs, ColAttentionMask, ColLabel}
	default:
		return fmt.Errorf("unknown task %q", task)
	}
	for _, n := range names {
		b, err := col(n)
		if err != nil {
			return err
		}
		switch n {
		case ColID:
			b.(*array.StringBuilder).Append(ex.ID)
		case ColRecord:
			b.(*array.Int64Builder).Append(int64(ex.Record))
		case ColInputIDs:
			if layout == LayoutChoices {
				appendChoices(b, ex.Choices, false)
			} else {
				appendList(b, ex.InputIDs)
			}
		case ColAttentionMask:
			if layout == LayoutChoices {
				appendChoices(b, ex.Choices, true)
			} else {
				appendList(b, ex.AttentionMask)
			}
		case ColSubjPos:
			b.(*array.Int64Builder).Append(int64(ex.SubjPos))
		case ColObjPos:
			b.(*array.Int64Builder).Append(int64(ex.ObjPos))
		case ColEntityPos:
			b.(*array.Int64Builder).Append(int64(ex.EntityPos))
		case ColLabel:
			if ex.Label < 0 {
				b.AppendNull()
			} else {
				b.(*array.Int64Builder).Append(int64(ex.Label))
			}
		case ColLabels:
			appendList(b, ex.Labels)
		}
	}
	return nil
}

// RelationRecordsFromArrow converts one record batch of a relation dataset
// (the train.arrow / dev.arrow that kprep trex writes, or any table with
// the trex-rc JSON fields as columns: token list<string>, subj_start,
// subj_end, obj_start, obj_end integers, relation string, optional id)
// into RelationRecords. Integer columns may be any signed or unsigned
// width.
func RelationRecordsFromArrow(rec arrow.RecordBatch) ([]RelationRecord, error) {
	sc := rec.Schema()
	get := func(name string, required bool) (arrow.Array, error) {
		idx := sc.FieldIndices(name)
		if len(idx) == 0 {
			if required {
				return nil, fmt.Errorf("arrow input has no %q column", name)
			}
			return nil, nil
		}
		return rec.Column(idx[0]), nil
	}
	tokCol, err := get("token", true)
	if err != nil {
		return nil, err
	}
	relCol, err := get("relation", true)
	if err != nil {
		return nil, err
	}
	var ints [4]arrow.Array
	for i, n := range []string{"subj_start", "subj_end", "obj_start", "obj_end"} {
		if ints[i], err = get(n, true); err != nil {
			return nil, err
		}
	}
	idCol, _ := get("id", false)

	tokens, ok := tokCol.(array.ListLike)
	if !ok {
		return nil, fmt.Errorf("arrow column token is %s, want a list of strings", tokCol.DataType())
	}
	words, err := stringValues(tokens.ListValues())
	if err != nil {
		return nil, fmt.Errorf("arrow column token: %w", err)
	}
	rels, err := stringValues(relCol)
	if err != nil {
		return nil, fmt.Errorf("arrow column relation: %w", err)
	}
	var ids []string
	if idCol != nil {
		if ids, err = stringValues(idCol); err != nil {
			return nil, fmt.Errorf("arrow column id: %w", err)
		}
	}
	n := int(rec.NumRows())
	out := make([]RelationRecord, n)
	for i := 0; i < n; i++ {
		r := &out[i]
		if tokens.IsNull(i) || relCol.IsNull(i) {
			return nil, fmt.Errorf("row %d: null token or relation", i)
		}
		start, end := tokens.ValueOffsets(i)
		r.Token = words[start:end]
		r.Relation = rels[i]
		if ids != nil && !idCol.IsNull(i) {
			r.ID = ids[i]
		}
		dst := []*int{&r.SubjStart, &r.SubjEnd, &r.ObjStart, &r.ObjEnd}
		for k, a := range ints {
			v, err := intValue(a, i)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			*dst[k] = v
		}
	}
	return out, nil
}

// stringValues copies the strings out of a (Arrow's Value aliases the
// batch's buffers, which are released after the callback).
func stringValues(a arrow.Array) ([]string, error) {
	out := make([]string, a.Len())
	switch s := a.(type) {
	case *array.String:
		for i := range out {
			out[i] = strings.Clone(s.Value(i))
		}
	case *array.LargeString:
		for i := range out {
			out[i] = strings.Clone(s.Value(i))
		}
	case *array.StringView:
		for i := range out {
			out[i] = strings.Clone(s.Value(i))
		}
	default:
		return nil, fmt.Errorf("type %s, want strings", a.DataType())
	}
	return out, nil
}

func intValue(a arrow.Array, i int) (int, error) {
	if a.IsNull(i) {
		return 0, fmt.Errorf("null %s", a.DataType())
	}
	switch v := a.(type) {
	case *array.Int64:
		return int(v.Value(i)), nil
	case *array.Int32:
		return int(v.Value(i)), nil
	case *array.Int16:
		return int(v.Value(i)), nil
	case *array.Int8:
		return int(v.Value(i)), nil
	case *array.Uint64:
		return int(v.Value(i)), nil
	case *array.Uint32:
		return int(v.Value(i)), nil
	case *array.Uint16:
		return int(v.Value(i)), nil
	case *array.Uint8:
		return int(v.Value(i)), nil
	}
	return 0, fmt.Errorf("type %s, want integers", a.DataType())
}
