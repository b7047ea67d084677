package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

func f32s(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i)
	}
	return out
}

func u16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func f64Bytes(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// TestViewsAndDTypes: views into shared storages (offsets, transposes,
// strided slices, broadcasts, scalars, empty tensors, legacy view metadata)
// are materialised row-major, and every storage dtype is converted, in both
// torch formats.
func TestViewsAndDTypes(t *testing.T) {
	storages := []torchStorage{
		{key: "s0", dtype: Float32, numel: 12, raw: float32Bytes(f32s(12))},
		// 1, -2, 0.5, 65504, 2^-24 (subnormal), -0, +inf
		{key: "s1", dtype: Float16, numel: 7, raw: u16Bytes(0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x7C00)},
		// bfloat16 1.5, -3
		{key: "s2", dtype: BFloat16, numel: 2, raw: u16Bytes(0x3FC0, 0xC040)},
		{key: "s3", dtype: Float64, numel: 2, raw: f64Bytes(0.1, -1e300)},
		{key: "s4", dtype: Int64, numel: 3, raw: int64Bytes([]int64{1, -5, 1 << 40})},
		{key: "s5", dtype: Bool, numel: 3, raw: []byte{1, 0, 2}},
		{key: "s6", dtype: Int32, numel: 2, raw: []byte{0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0}},
		{key: "s7", dtype: Int8, numel: 2, raw: []byte{0xfe, 3}},
		{key: "s8", dtype: Uint8, numel: 2, raw: []byte{0xfe, 3}},
		{key: "s9", dtype: Int16, numel: 1, raw: []byte{0xfe, 0xff}},
	}
	type want struct {
		name  string
		shape []int
		data  []float32
		ints  []int64
	}
	cases := []struct {
		e torchEntry
		w want
	}{
		{torchEntry{name: "full", storage: 0, size: []int{3, 4}, stride: []int{4, 1}}, want{shape: []int{3, 4}, data: f32s(12)}},
		{torchEntry{name: "transposed", storage: 0, size: []int{4, 3}, stride: []int{1, 4}}, want{shape: []int{4, 3}, data: []float32{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}}},
		{torchEntry{name: "row1", storage: 0, offset: 4, size: []int{4}, stride: []int{1}}, want{shape: []int{4}, data: []float32{4, 5, 6, 7}}},
		{torchEntry{name: "col1", storage: 0, offset: 1, size: []int{3}, stride: []int{4}}, want{shape: []int{3}, data: []float32{1, 5, 9}}},
		{torchEntry{name: "block", storage: 0, offset: 5, size: []int{2, 2}, stride: []int{4, 1}}, want{shape: []int{2, 2}, data: []float32{5, 6, 9, 10}}},
		{torchEntry{name: "scalar", storage: 0, offset: 7, size: []int{}, stride: []int{}}, want{shape: []int{}, data: []float32{7}}},
		{torchEntry{name: "empty", storage: 0, offset: 0, size: []int{0, 4}, stride: []int{4, 1}}, want{shape: []int{0, 4}, data: []float32{}}},
		{torchEntry{name: "broadcast", storage: 0, offset: 0, size: []int{2, 3}, stride: []int{0, 1}}, want{shape: []int{2, 3}, data: []float32{0, 1, 2, 0, 1, 2}}},
		{torchEntry{name: "unit-dims", storage: 0, offset: 8, size: []int{1, 4, 1}, stride: []int{99, 1, 42}}, want{shape: []int{1, 4, 1}, data: []float32{8, 9, 10, 11}}},
		{torchEntry{name: "half", storage: 1, size: []int{7}, stride: []int{1}}, want{shape: []int{7}, data: []float32{1, -2, 0.5, 65504, float32(math.Ldexp(1, -24)), float32(math.Copysign(0, -1)), float32(math.Inf(1))}}},
		{torchEntry{name: "bf16", storage: 2, size: []int{2}, stride: []int{1}}, want{shape: []int{2}, data: []float32{1.5, -3}}},
		{torchEntry{name: "f64", storage: 3, size: []int{2}, stride: []int{1}}, want{shape: []int{2}, data: []float32{0.1, float32(math.Inf(-1))}}},
		{torchEntry{name: "i64", storage: 4, size: []int{3}, stride: []int{1}}, want{shape: []int{3}, ints: []int64{1, -5, 1 << 40}}},
		{torchEntry{name: "i64-rev", storage: 4, offset: 0, size: []int{2}, stride: []int{2}}, want{shape: []int{2}, ints: []int64{1, 1 << 40}}},
		{torchEntry{name: "bool", storage: 5, size: []int{3}, stride: []int{1}}, want{shape: []int{3}, ints: []int64{1, 0, 1}}},
		{torchEntry{name: "i32", storage: 6, size: []int{2}, stride: []int{1}}, want{shape: []int{2}, ints: []int64{-1, 7}}},
		{torchEntry{name: "i8", storage: 7, size: []int{2}, stride: []int{1}}, want{shape: []int{2}, ints: []int64{-2, 3}}},
		{torchEntry{name: "u8", storage: 8, size: []int{2}, stride: []int{1}}, want{shape: []int{2}, ints: []int64{254, 3}}},
		{torchEntry{name: "i16", storage: 9, size: []int{1}, stride: []int{1}}, want{shape: []int{1}, ints: []int64{-2}}},
	}
	legacyOnly := []struct {
		e torchEntry
		w want
	}{
		// legacy view metadata: the storage is elements [2, 8) of s0
		{torchEntry{name: "storage-view", storage: 0, offset: 1, size: []int{2, 2}, stride: []int{3, 1}, view: []int{2, 6}}, want{shape: []int{2, 2}, data: []float32{3, 4, 6, 7}}},
	}
	for _, format := range []Format{FormatTorchLegacy, FormatTorchZip} {
		all := cases
		if format == FormatTorchLegacy {
			all = append(slices.Clone(cases), legacyOnly...)
		}
		var entries []torchEntry
		for _, c := range all {
			entries = append(entries, c.e)
		}
		var buf bytes.Buffer
		if err := writeTorch(&buf, format, "some-prefix", storages, entries); err != nil {
			t.Fatal(err)
		}
		c, err := readBytes("views", buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for i, tc := range all {
			if c.Keys[i] != tc.e.name {
				t.Fatalf("%s: key %d is %q, want %q", format, i, c.Keys[i], tc.e.name)
			}
			got := c.Tensors[tc.e.name]
			if !slices.Equal(got.Shape, tc.w.shape) {
				t.Errorf("%s %s: shape %v, want %v", format, tc.e.name, got.Shape, tc.w.shape)
			}
			if tc.w.ints != nil {
				if got.Data != nil || !slices.Equal(got.Int64, tc.w.ints) {
					t.Errorf("%s %s: ints %v (data %v), want %v", format, tc.e.name, got.Int64, got.Data, tc.w.ints)
				}
				continue
			}
			if !sameBits(got.Data, tc.w.data) {
				t.Errorf("%s %s: %v, want %v", format, tc.e.name, got.Data, tc.w.data)
			}
		}
		// Contiguous views share the storage; strided ones are copies.
		if &c.Tensors["row1"].Data[0] != &c.Tensors["full"].Data[4] {
			t.Errorf("%s: contiguous view was copied", format)
		}
		if cap(c.Tensors["row1"].Data) != 4 {
			t.Errorf("%s: a shared view's capacity reaches past its end", format)
		}
	}
}

// TestSafetensorsDTypes covers the safetensors dtypes and round trip of int
// tensors.
func TestSafetensorsDTypes(t *testing.T) {
	ts := []*Tensor{
		{Name: "f", Shape: []int{2, 2}, DType: Float32, Data: []float32{1, 2, 3, 4}},
		{Name: "ids", Shape: []int{3}, DType: Int64, Int64: []int64{-1, 0, 1 << 50}},
		{Name: "s", Shape: []int{}, DType: Float32, Data: []float32{5}},
		{Name: "z", Shape: []int{0}, DType: Float32, Data: []float32{}},
	}
	p := t.TempDir() + "/m.safetensors"
	if err := WriteSafetensors(p, ts, nil); err != nil {
		t.Fatal(err)
	}
	c, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Keys, []string{"f", "ids", "s", "z"}) {
		t.Fatalf("keys %v", c.Keys)
	}
	for _, want := range ts {
		got := c.Tensors[want.Name]
		if !slices.Equal(got.Shape, want.Shape) || !sameBits(got.Data, want.Data) || !slices.Equal(got.Int64, want.Int64) || got.DType != want.DType {
			t.Errorf("%s: got %+v, want %+v", want.Name, got, want)
		}
	}
	// Half, bfloat16 and double tensors written by another tool.
	header := `{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"d":{"dtype":"F64","shape":[1],"data_offsets":[6,14]},"__metadata__":{"k":"v"}}`
	data := append(u16Bytes(0x3C00, 0xC000, 0x3FC0), f64Bytes(2.5)...)
	raw := append(binary.LittleEndian.AppendUint64(nil, uint64(len(header))), header...)
	raw = append(raw, data...)
	c, err = readBytes("mixed", raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Keys, []string{"h", "b", "d"}) || c.Metadata["k"] != "v" {
		t.Fatalf("keys %v metadata %v", c.Keys, c.Metadata)
	}
	if !sameBits(c.Tensors["h"].Data, []float32{1, -2}) || !sameBits(c.Tensors["b"].Data, []float32{1.5}) || !sameBits(c.Tensors["d"].Data, []float32{2.5}) {
		t.Errorf("conversions: %v %v %v", c.Tensors["h"].Data, c.Tensors["b"].Data, c.Tensors["d"].Data)
	}
}

// TestHalfToFloatAll compares halfToFloat with a direct evaluation of the
// binary16 formula for every finite half value.
func TestHalfToFloatAll(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		exp := (h >> 10) & 0x1f
		frac := float64(h & 0x3ff)
		var v float64
		switch exp {
		case 0:
			v = math.Ldexp(frac, -24)
		case 0x1f:
			continue
		default:
			v = math.Ldexp(1+frac/1024, exp-15)
		}
		if h&0x8000 != 0 {
			v = -v
		}
		if got := halfToFloat(uint16(h)); got != float32(v) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("halfToFloat(%#04x) = %v, want %v", h, got, v)
		}
	}
	if !math.IsNaN(float64(halfToFloat(0x7E00))) {
		t.Error("NaN not preserved")
	}
}

// TestRebuildVariants: tensors pickled through _rebuild_parameter,
// _rebuild_from_type_v2 (newer torch) and the old 4-argument
// _rebuild_tensor load like plain ones; other callables are refused.
func TestRebuildVariants(t *testing.T) {
	// tensorArgs opens the argument tuple and pushes the storage, offset,
	// size and stride.
	tensorArgs := func(p *pickler, n int) {
		p.op('(', '(')
		p.str("storage")
		p.global("torch", "FloatStorage")
		p.str("0")
		p.str("cpu")
		p.int(4)
		p.op('t', 'Q')
		p.int(0)
		p.ints([]int{n})
		p.ints([]int{1})
	}
	build := func(value func(p *pickler)) []byte {
		var p pickler
		p.proto()
		p.op('}')
		p.str("w")
		value(&p)
		p.op('s', '.')
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("m/data.pkl")
		w.Write(p.Bytes())
		w, _ = zw.Create("m/data/0")
		w.Write(float32Bytes(f32s(4)))
		zw.Close()
		return buf.Bytes()
	}
	v2 := func(p *pickler) {
		p.global("torch._utils", "_rebuild_tensor_v2")
		tensorArgs(p, 4)
		p.op(0x89)
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R')
	}
	cases := map[string]func(p *pickler){
		"plain dict": v2,
		"parameter": func(p *pickler) {
			p.global("torch._utils", "_rebuild_parameter")
			p.op('(')
			v2(p)
			p.op(0x88)
			p.global("collections", "OrderedDict")
			p.op(')', 'R', 't', 'R')
		},
		"from type": func(p *pickler) {
			p.global("torch._tensor", "_rebuild_from_type_v2")
			p.op('(')
			p.global("torch._utils", "_rebuild_tensor_v2")
			p.global("torch.nn.parameter", "Parameter")
			tensorArgs(p, 4)
			p.op(0x89, 'N', 't') // requires_grad, hooks; close the inner args tuple
			p.op('}', 't', 'R')
		},
		"old rebuild": func(p *pickler) {
			p.global("torch._utils", "_rebuild_tensor")
			tensorArgs(p, 3)
			p.op('t', 'R')
		},
	}
	for name, value := range cases {
		c, err := readBytes(name, build(value))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := f32s(4)
		if name == "old rebuild" {
			want = want[:3]
		}
		if !sameBits(c.Tensors["w"].Data, want) {
			t.Errorf("%s: %v", name, c.Tensors["w"].Data)
		}
	}
	_, err := readBytes("bad", build(func(p *pickler) {
		p.global("torch.nn.parameter", "Parameter")
		p.op(')', 'R')
	}))
	if err == nil || !strings.Contains(err.Error(), "cannot be instantiated") {
		t.Errorf("calling Parameter: %v", err)
	}
}
