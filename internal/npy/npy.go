// Package npy reads and writes NumPy .npy arrays (format versions 1.0-3.0,
// little-endian, C order) of the dtypes K-Adapter's fixtures and krun use:
// float32, float64, int64, int32, bool. It is the exchange format of
// `krun infer` and of the reference fixtures.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/kadapter/kadapter/internal/atomicfile"
)

// DType names an element type by its NumPy descriptor without byte order
// ("f4", "f8", "i8", "i4", "b1").
type DType string

// The supported element types.
const (
	Float32 DType = "f4"
	Float64 DType = "f8"
	Int64   DType = "i8"
	Int32   DType = "i4"
	Bool    DType = "b1"
)

// Size returns the element size in bytes.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Bool:
		return 1
	}
	return 0
}

// Array is a decoded array. Exactly one of the data slices is set,
// matching DType (Bool arrays use Bools).
type Array struct {
	DType   DType
	Shape   []int
	Float32 []float32
	Float64 []float64
	Int64   []int64
	Int32   []int32
	Bools   []bool
}

// Len returns the number of elements the shape describes.
func (a *Array) Len() int { return numel(a.Shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// AsFloat64 returns the elements converted to float64 (any dtype).
func (a *Array) AsFloat64() []float64 {
	out := make([]float64, a.Len())
	switch a.DType {
	case Float32:
		for i, v := range a.Float32 {
			out[i] = float64(v)
		}
	case Float64:
		copy(out, a.Float64)
	case Int64:
		for i, v := range a.Int64 {
			out[i] = float64(v)
		}
	case Int32:
		for i, v := range a.Int32 {
			out[i] = float64(v)
		}
	case Bool:
		for i, v := range a.Bools {
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

// AsInt64 returns the elements converted to int64 (floats truncated).
func (a *Array) AsInt64() []int64 {
	out := make([]int64, a.Len())
	switch a.DType {
	case Int64:
		copy(out, a.Int64)
	default:
		for i, v := range a.AsFloat64() {
			out[i] = int64(v)
		}
	}
	return out
}

// AsFloat32 returns the elements converted to float32.
func (a *Array) AsFloat32() []float32 {
	if a.DType == Float32 {
		return append([]float32(nil), a.Float32...)
	}
	f := a.AsFloat64()
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out
}

var magic = []byte("\x93NUMPY")

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// maxElements bounds what a header may claim before any data is read.
const maxElements = 1 << 34

// Read decodes one .npy array from r.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	head := make([]byte, 8)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w", err)
	}
	if !bytes.Equal(head[:6], magic) {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	var hlen int
	switch head[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, fmt.Errorf("npy: header length %d too large", hlen)
		}
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", head[6], head[7])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, fmt.Errorf("npy: reading header: %w", err)
	}
	h := string(header)
	m := descrRe.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("npy: header has no descr: %q", h)
	}
	descr := m[1]
	if fm := fortranRe.FindStringSubmatch(h); fm != nil && fm[1] == "True" {
		return nil, errors.New("npy: fortran-order arrays are not supported")
	}
	sm := shapeRe.FindStringSubmatch(h)
	if sm == nil {
		return nil, fmt.Errorf("npy: header has no shape: %q", h)
	}
	shape := []int{}
	for _, f := range strings.Split(sm[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("npy: bad shape entry %q", f)
		}
		shape = append(shape, n)
	}
	n := 1
	for _, d := range shape {
		if d != 0 && n > maxElements/d {
			return nil, fmt.Errorf("npy: shape %v too large", shape)
		}
		n *= d
	}
	order := binary.ByteOrder(binary.LittleEndian)
	switch {
	case strings.HasPrefix(descr, "<"), strings.HasPrefix(descr, "|"), strings.HasPrefix(descr, "="):
	case strings.HasPrefix(descr, ">"):
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("npy: unsupported descr %q", descr)
	}
	dt := DType(descr[1:])
	if dt == "u1" || dt == "?" {
		dt = Bool
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	raw := make([]byte, 0, min(n*dt.Size(), 1<<26))
	buf := bytes.NewBuffer(raw)
	if _, err := io.CopyN(buf, br, int64(n*dt.Size())); err != nil {
		return nil, fmt.Errorf("npy: data truncated (want %d elements of %s): %w", n, dt, err)
	}
	data := buf.Bytes()
	a := &Array{DType: dt, Shape: shape}
	switch dt {
	case Float32:
		a.Float32 = make([]float32, n)
		for i := range a.Float32 {
			a.Float32[i] = math.Float32frombits(order.Uint32(data[4*i:]))
		}
	case Float64:
		a.Float64 = make([]float64, n)
		for i := range a.Float64 {
			a.Float64[i] = math.Float64frombits(order.Uint64(data[8*i:]))
		}
	case Int64:
		a.Int64 = make([]int64, n)
		for i := range a.Int64 {
			a.Int64[i] = int64(order.Uint64(data[8*i:]))
		}
	case Int32:
		a.Int32 = make([]int32, n)
		for i := range a.Int32 {
			a.Int32[i] = int32(order.Uint32(data[4*i:]))
		}
	case Bool:
		a.Bools = make([]bool, n)
		for i := range a.Bools {
			a.Bools[i] = data[i] != 0
		}
	}
	return a, nil
}

// ReadFile decodes the .npy file at path; errors name the file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Write encodes a as a version 1.0 .npy (little-endian, C order).
func Write(w io.Writer, a *Array) error {
	if a.DType.Size() == 0 {
		return fmt.Errorf("npy: unsupported dtype %q", a.DType)
	}
	n := numel(a.Shape)
	var got int
	switch a.DType {
	case Float32:
		got = len(a.Float32)
	case Float64:
		got = len(a.Float64)
	case Int64:
		got = len(a.Int64)
	case Int32:
		got = len(a.Int32)
	case Bool:
		got = len(a.Bools)
	}
	if got != n {
		return fmt.Errorf("npy: shape %v needs %d elements, have %d", a.Shape, n, got)
	}
	dims := make([]string, len(a.Shape))
	for i, d := range a.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(a.Shape) == 1 {
		shape += ","
	}
	descr := "<" + string(a.DType)
	if a.DType == Bool {
		descr = "|b1"
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	// Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'.
	total := 10 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.Write(magic)
	bw.Write([]byte{1, 0})
	var lb [2]byte
	binary.LittleEndian.PutUint16(lb[:], uint16(len(h)))
	bw.Write(lb[:])
	bw.WriteString(h)
	var b [8]byte
	switch a.DType {
	case Float32:
		for _, v := range a.Float32 {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case Float64:
		for _, v := range a.Float64 {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:])
		}
	case Int64:
		for _, v := range a.Int64 {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			bw.Write(b[:])
		}
	case Int32:
		for _, v := range a.Int32 {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			bw.Write(b[:4])
		}
	case Bool:
		for _, v := range a.Bools {
			if v {
				bw.WriteByte(1)
			} else {
				bw.WriteByte(0)
			}
		}
	}
	return bw.Flush()
}

// WriteFile writes a to path atomically (temporary file, then rename).
func WriteFile(path string, a *Array) error {
	err := atomicfile.Write(path, func(w *bufio.Writer) error { return Write(w, a) })
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// OneHotToIndex turns one-hot rows [N,L] (the original K-Adapter's marker
// vectors, e.g. subj_special_start_id) into int64 indices [N]. A row must
// hold a single 1 and zeros elsewhere.
func OneHotToIndex(a *Array) (*Array, error) {
	if len(a.Shape) != 2 {
		return nil, fmt.Errorf("one-hot marker vectors must be [N,L], got %v", a.Shape)
	}
	v := a.AsFloat64()
	n, l := a.Shape[0], a.Shape[1]
	out := &Array{DType: Int64, Shape: []int{n}, Int64: make([]int64, n)}
	for b := 0; b < n; b++ {
		at := -1
		for j := 0; j < l; j++ {
			switch x := v[b*l+j]; {
			case x == 1 && at < 0:
				at = j
			case x != 0:
				return nil, fmt.Errorf("row %d is not one-hot (value %v at %d)", b, x, j)
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("row %d has no 1", b)
		}
		out.Int64[b] = int64(at)
	}
	return out, nil
}
