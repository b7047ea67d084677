package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"unsafe"

	"github.com/kadapter/kadapter/internal/atomicfile"
)

// maxSafetensorsHeader is the header size limit of the reference
// implementation (100 MB).
const maxSafetensorsHeader = 100 << 20

var safetensorsDTypes = map[string]DType{
	"F32": Float32, "F16": Float16, "BF16": BFloat16, "F64": Float64,
	"I64": Int64, "I32": Int32, "I16": Int16, "I8": Int8, "U8": Uint8, "BOOL": Bool,
}

type stEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// readSafetensors reads a safetensors file.
func readSafetensors(file string, r io.ReaderAt, size int64) (*Checkpoint, error) {
	var hl [8]byte
	if _, err := r.ReadAt(hl[:], 0); err != nil {
		return nil, newErr(file, "", ErrTruncated, "safetensors header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(hl[:])
	if n > maxSafetensorsHeader || n > uint64(size-8) {
		return nil, newErr(file, "", ErrTruncated, "safetensors header of %d bytes does not fit in the %d-byte file", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, newErr(file, "", ErrTruncated, "safetensors header: %v", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, newErr(file, "", ErrCorrupt, "safetensors header is not a JSON object: %v", err)
	}
	dataStart := int64(8 + n)
	dataLen := size - dataStart
	type item struct {
		key string
		e   stEntry
		dt  DType
	}
	items := make([]item, 0, len(raw))
	c := &Checkpoint{Tensors: make(map[string]*Tensor, len(raw))}
	for k, v := range raw {
		if k == "__metadata__" {
			md := map[string]string{}
			if err := json.Unmarshal(v, &md); err != nil {
				return nil, newErr(file, "", ErrCorrupt, "safetensors __metadata__ is not a map of strings: %v", err)
			}
			c.Metadata = md
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, newErr(file, k, ErrCorrupt, "safetensors entry: %v", err)
		}
		dt, ok := safetensorsDTypes[e.DType]
		if !ok {
			return nil, newErr(file, k, ErrDType, "safetensors dtype %q", e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, newErr(file, k, ErrCorrupt, "data_offsets %v, want [begin, end]", e.DataOffsets)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt64/int64(d)/8) {
				return nil, newErr(file, k, ErrCorrupt, "shape %v is invalid", e.Shape)
			}
			numel *= int64(d)
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > dataLen {
			return nil, newErr(file, k, ErrTruncated, "data_offsets [%d, %d] lie outside the %d data bytes", b, en, dataLen)
		}
		if en-b != numel*int64(dt.size()) {
			return nil, newErr(file, k, ErrCorrupt, "data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", b, en, en-b, e.Shape, e.DType, numel*int64(dt.size()))
		}
		items = append(items, item{k, e, dt})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].e.DataOffsets[0] != items[j].e.DataOffsets[0] {
			return items[i].e.DataOffsets[0] < items[j].e.DataOffsets[0]
		}
		return items[i].key < items[j].key
	})
	var prevEnd int64
	for _, it := range items {
		b, en := it.e.DataOffsets[0], it.e.DataOffsets[1]
		if b < prevEnd {
			return nil, newErr(file, it.key, ErrCorrupt, "data_offsets [%d, %d] overlap the previous tensor", b, en)
		}
		prevEnd = en
		root := &rootStorage{key: it.key, dtype: it.dt, numel: int(en-b) / it.dt.size()}
		off := dataStart + b
		err := loadStorage(root, int64(root.numel), en-b, func(p []byte) error {
			m, err := r.ReadAt(p, off)
			if m < len(p) {
				return fmt.Errorf("%v: %w", err, io.ErrUnexpectedEOF)
			}
			return nil
		})
		if err != nil {
			return nil, newErr(file, it.key, errKind(err), "%v", err)
		}
		t := &Tensor{Name: it.key, Shape: append([]int{}, it.e.Shape...), DType: it.dt, Data: root.f32, Int64: root.i64}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		if it.dt.IsFloat() && t.Data == nil {
			t.Data = []float32{}
		}
		if !it.dt.IsFloat() && t.Int64 == nil {
			t.Int64 = []int64{}
		}
		c.Keys = append(c.Keys, it.key)
		c.Tensors[it.key] = t
	}
	return c, nil
}

// WriteSafetensors writes tensors to path in safetensors format (keys
// sorted, float tensors as F32, integer tensors as I64), atomically (a
// temporary file renamed into place). metadata may be nil.
func WriteSafetensors(path string, tensors []*Tensor, metadata map[string]string) error {
	sorted := append([]*Tensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i, t := range sorted {
		if i > 0 && sorted[i-1].Name == t.Name {
			return newErr(path, t.Name, ErrCorrupt, "duplicate tensor name")
		}
		if err := checkTensor(path, t); err != nil {
			return err
		}
		dt, nb := "F32", int64(4*len(t.Data))
		if !t.DType.IsFloat() && t.DType != "" {
			dt, nb = "I64", int64(8*len(t.Int64))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = stEntry{DType: dt, Shape: shape, DataOffsets: []int64{off, off + nb}}
		off += nb
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return newErr(path, "", ErrCorrupt, "encoding header: %v", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	return writeAtomic(path, func(w *bufio.Writer) error {
		var hl [8]byte
		binary.LittleEndian.PutUint64(hl[:], uint64(len(hj)))
		w.Write(hl[:])
		w.Write(hj)
		for _, t := range sorted {
			if !t.DType.IsFloat() && t.DType != "" {
				writeInt64s(w, t.Int64)
			} else {
				writeFloat32s(w, t.Data)
			}
		}
		return nil
	})
}

// checkTensor validates that a tensor's data matches its shape.
func checkTensor(file string, t *Tensor) error {
	for _, d := range t.Shape {
		if d < 0 {
			return newErr(file, t.Name, ErrShape, "negative dimension in %v", t.Shape)
		}
	}
	n := t.NumElements()
	if !t.DType.IsFloat() && t.DType != "" {
		if len(t.Int64) != n {
			return newErr(file, t.Name, ErrShape, "%d int64 values for shape %v", len(t.Int64), t.Shape)
		}
		return nil
	}
	if len(t.Data) != n {
		return newErr(file, t.Name, ErrShape, "%d values for shape %v", len(t.Data), t.Shape)
	}
	return nil
}

func writeFloat32s(w io.Writer, f []float32) {
	if len(f) == 0 {
		return
	}
	if littleEndianHost {
		w.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4))
		return
	}
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	w.Write(b)
}

func writeInt64s(w io.Writer, v []int64) {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	w.Write(b)
}

// writeAtomic writes path through a temporary file in the same folder that
// is renamed into place once fully written.
func writeAtomic(path string, fill func(w *bufio.Writer) error) error {
	var fillErr error
	err := atomicfile.Write(path, func(w *bufio.Writer) error {
		fillErr = fill(w)
		return fillErr
	})
	if err != nil && fillErr == nil {
		return newErr(path, "", ErrIO, "writing: %v", err)
	}
	return err
}
