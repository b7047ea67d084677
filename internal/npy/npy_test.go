package npy

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		a    *Array
	}{
		{"float32 2x3", &Array{DType: Float32, Shape: []int{2, 3}, Float32: []float32{1, -2.5, 3, 4, 5e-9, 6}}},
		{"float64 vector", &Array{DType: Float64, Shape: []int{3}, Float64: []float64{1e300, -0.0, 3.25}}},
		{"int64 scalar", &Array{DType: Int64, Shape: []int{}, Int64: []int64{-7}}},
		{"int32 empty", &Array{DType: Int32, Shape: []int{0, 4}, Int32: []int32{}}},
		{"bool", &Array{DType: Bool, Shape: []int{2}, Bools: []bool{true, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, c.a); err != nil {
				t.Fatal(err)
			}
			if (buf.Len()-c.a.Len()*c.a.DType.Size())%64 != 0 {
				t.Errorf("header not 64-byte aligned: total %d", buf.Len())
			}
			got, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, c.a.Shape) || got.DType != c.a.DType {
				t.Fatalf("got %v %v, want %v %v", got.DType, got.Shape, c.a.DType, c.a.Shape)
			}
			if !reflect.DeepEqual(got.AsFloat64(), c.a.AsFloat64()) {
				t.Errorf("values: got %v want %v", got.AsFloat64(), c.a.AsFloat64())
			}
		})
	}
}

func TestReadFixture(t *testing.T) {
	dir := testshared.Path(t, "fixtures", "kadapter-tiny", "tacred", "inputs")
	ids, err := ReadFile(filepath.Join(dir, "input_ids.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if ids.DType != Int64 || !reflect.DeepEqual(ids.Shape, []int{3, 24}) {
		t.Fatalf("input_ids: %s %v", ids.DType, ids.Shape)
	}
	if ids.Int64[0] != 0 {
		t.Errorf("first id = %d, want <s> = 0", ids.Int64[0])
	}
	oh, err := ReadFile(filepath.Join(dir, "subj_special_start_id.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		var sum float32
		for _, v := range oh.Float32[r*24 : (r+1)*24] {
			sum += v
		}
		if sum != 1 {
			t.Errorf("row %d of the one-hot marker sums to %v", r, sum)
		}
	}
}

func TestReadErrors(t *testing.T) {
	var good bytes.Buffer
	Write(&good, &Array{DType: Float64, Shape: []int{4}, Float64: []float64{1, 2, 3, 4}})
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "reading magic"},
		{"bad magic", "NOTNUMPYAAAA", "bad magic"},
		{"truncated data", good.String()[:good.Len()-3], "truncated"},
		{"fortran", header("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }") + "12345678", "fortran"},
		{"dtype", header("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"), "unsupported"},
		{"negative shape", header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"), "bad shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want mention of %q", err, c.want)
			}
		})
	}
}

// header frames a version 1.0 header dictionary.
func header(dict string) string {
	h := dict + "\n"
	return "\x93NUMPY\x01\x00" + string([]byte{byte(len(h)), byte(len(h) >> 8)}) + h
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, &Array{DType: Int64, Shape: []int{2, 2}, Int64: []int64{1, 2, 3, 4}})
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'descr': '<f4'}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, a); err != nil {
			t.Fatalf("re-encode of a decoded array failed: %v", err)
		}
	})
}
