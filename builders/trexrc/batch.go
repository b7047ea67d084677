package trexrc

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// exampleBatch accumulates rows of SplitSchema as flat Arrow buffers
// (offsets and bytes), filled straight from shard records, and turns them
// into a record batch without array builders. The IPC bytes are those the
// builders would give: no validity bitmaps (no nulls), buffers of exactly
// the used length.
type exampleBatch struct {
	schema                      *arrow.Schema
	rows                        int // rows per batch
	n                           int
	docid, rel, subjL, objL, tk strColumn
	tokOffs                     []int32 // list offsets into tk
	ints                        [5][]int64
}

type strColumn struct {
	offs []int32
	data []byte
}

func (c *strColumn) reset() {
	c.offs = append(c.offs[:0], 0)
	c.data = c.data[:0]
}

func (c *strColumn) add(b []byte) {
	c.data = append(c.data, b...)
	c.offs = append(c.offs, int32(len(c.data)))
}

func newExampleBatch(schema *arrow.Schema, rows int) *exampleBatch {
	b := &exampleBatch{schema: schema, rows: rows}
	b.reset()
	return b
}

func (b *exampleBatch) reset() {
	b.n = 0
	for _, c := range []*strColumn{&b.docid, &b.rel, &b.subjL, &b.objL, &b.tk} {
		c.reset()
	}
	b.tokOffs = append(b.tokOffs[:0], 0)
	for i := range b.ints {
		b.ints[i] = b.ints[i][:0]
	}
}

// maxBatchBytes bounds a string column of one batch well under the int32
// offsets limit.
const maxBatchBytes = math.MaxInt32 / 2

// add appends one row; it reports whether the batch is full.
func (b *exampleBatch) add(rec *shardRecord, rel string, label int64) bool {
	b.docid.add(rec.docID)
	for _, t := range rec.tokens {
		b.tk.add(t)
	}
	b.tokOffs = append(b.tokOffs, int32(len(b.tk.offs)-1))
	b.rel.data = append(b.rel.data, rel...)
	b.rel.offs = append(b.rel.offs, int32(len(b.rel.data)))
	for i, v := range rec.ints {
		b.ints[i] = append(b.ints[i], v)
	}
	b.ints[4] = append(b.ints[4], label)
	b.subjL.add(rec.subjL)
	b.objL.add(rec.objL)
	b.n++
	return b.n >= b.rows || len(b.tk.data) > maxBatchBytes || len(b.docid.data)+len(b.subjL.data)+len(b.objL.data) > maxBatchBytes
}

func bytesOf[T int32 | int64](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

func stringData(c *strColumn, n int) arrow.ArrayData {
	return array.NewData(arrow.BinaryTypes.String, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(bytesOf(c.offs)), memory.NewBufferBytes(c.data)}, nil, 0, 0)
}

// record returns the pending rows as a record batch. Its buffers alias the
// batch's: write it before the next add or reset.
func (b *exampleBatch) record() arrow.RecordBatch {
	cols := make([]arrow.Array, 10)
	str := func(c *strColumn) arrow.Array {
		d := stringData(c, b.n)
		defer d.Release()
		return array.MakeFromData(d)
	}
	i64 := func(v []int64) arrow.Array {
		d := array.NewData(arrow.PrimitiveTypes.Int64, b.n, []*memory.Buffer{nil, memory.NewBufferBytes(bytesOf(v))}, nil, 0, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	cols[0] = str(&b.docid)
	child := stringData(&b.tk, len(b.tk.offs)-1)
	ld := array.NewData(b.schema.Field(1).Type, b.n, []*memory.Buffer{nil, memory.NewBufferBytes(bytesOf(b.tokOffs))}, []arrow.ArrayData{child}, 0, 0)
	child.Release()
	cols[1] = array.MakeFromData(ld)
	ld.Release()
	cols[2] = str(&b.rel)
	for i := 0; i < 4; i++ {
		cols[3+i] = i64(b.ints[i])
	}
	cols[7] = str(&b.subjL)
	cols[8] = str(&b.objL)
	cols[9] = i64(b.ints[4])
	rec := array.NewRecordBatch(b.schema, cols, int64(b.n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// bytesString views b as a string without copying; b must not change
// while the string is used.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
