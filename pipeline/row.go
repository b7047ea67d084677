package pipeline

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// AppendRow appends one value per column to b, in column order. Supported
// Go values: string, []byte, bool, int, int32, int64, float32, float64,
// and []string, []int32, []int64, []float32, []float64 for list columns
// (nil appends a null). On error the row may be partly appended: abort the
// sink. It is a convenience for small outputs; hot paths should use the
// typed builders directly.
func AppendRow(b *array.RecordBuilder, vals ...any) error {
	if len(vals) != len(b.Fields()) {
		return fmt.Errorf("AppendRow: %d values for %d columns", len(vals), len(b.Fields()))
	}
	for i, v := range vals {
		if err := appendValue(b.Field(i), v); err != nil {
			return fmt.Errorf("column %s: %w", b.Schema().Field(i).Name, err)
		}
	}
	return nil
}

func appendValue(fb array.Builder, v any) error {
	if v == nil {
		fb.AppendNull()
		return nil
	}
	switch bb := fb.(type) {
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			bb.Append(x)
			return nil
		case []byte:
			bb.BinaryBuilder.Append(x)
			return nil
		}
	case *array.BinaryBuilder:
		if x, ok := v.([]byte); ok {
			bb.Append(x)
			return nil
		}
	case *array.BooleanBuilder:
		if x, ok := v.(bool); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int64Builder:
		switch x := v.(type) {
		case int64:
			bb.Append(x)
			return nil
		case int:
			bb.Append(int64(x))
			return nil
		case int32:
			bb.Append(int64(x))
			return nil
		}
	case *array.Int32Builder:
		switch x := v.(type) {
		case int32:
			bb.Append(x)
			return nil
		case int:
			bb.Append(int32(x))
			return nil
		}
	case *array.Float32Builder:
		if x, ok := v.(float32); ok {
			bb.Append(x)
			return nil
		}
	case *array.Float64Builder:
		if x, ok := v.(float64); ok {
			bb.Append(x)
			return nil
		}
	case *array.ListBuilder:
		vb := bb.ValueBuilder()
		switch x := v.(type) {
		case []string:
			if sb, ok := vb.(*array.StringBuilder); ok {
				bb.Append(true)
				for _, s := range x {
					sb.Append(s)
				}
				return nil
			}
		case []int64:
			if ib, ok := vb.(*array.Int64Builder); ok {
				bb.Append(true)
				ib.AppendValues(x, nil)
				return nil
			}
		case []int32:
			if ib, ok := vb.(*array.Int32Builder); ok {
				bb.Append(true)
				ib.AppendValues(x, nil)
				return nil
			}
		case []float32:
			if fb2, ok := vb.(*array.Float32Builder); ok {
				bb.Append(true)
				fb2.AppendValues(x, nil)
				return nil
			}
		case []float64:
			if fb2, ok := vb.(*array.Float64Builder); ok {
				bb.Append(true)
				fb2.AppendValues(x, nil)
				return nil
			}
		}
	}
	return fmt.Errorf("cannot append %T to %T", v, fb)
}
