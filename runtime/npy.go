package runtime

import (
	"fmt"

	"github.com/kadapter/kadapter/internal/npy"
)

// FromNPY turns a .npy array into a Tensor of element type dtype (a graph
// input's IOInfo.DType). Integers convert to wider or narrower integers
// (int32 ↔ int64, checking the range) and floats to floats (float64 →
// float32 rounds); integer ↔ float and bool conversions are refused, so a
// wrong file cannot silently feed a graph.
func FromNPY(a *npy.Array, dtype string) (Tensor, error) {
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	t := Tensor{Shape: shape}
	switch dtype {
	case "int64":
		switch a.DType {
		case npy.Int64, npy.Int32:
			t.Data = a.AsInt64()
		}
	case "int32":
		switch a.DType {
		case npy.Int32:
			t.Data = a.Int32
		case npy.Int64:
			out := make([]int32, len(a.Int64))
			for i, v := range a.Int64 {
				if v != int64(int32(v)) {
					return Tensor{}, fmt.Errorf("value %d at flat index %d does not fit int32", v, i)
				}
				out[i] = int32(v)
			}
			t.Data = out
		}
	case "float32":
		switch a.DType {
		case npy.Float32, npy.Float64:
			t.Data = a.AsFloat32()
		}
	case "float64":
		switch a.DType {
		case npy.Float32, npy.Float64:
			t.Data = a.AsFloat64()
		}
	case "bool":
		if a.DType == npy.Bool {
			t.Data = a.Bools
		}
	}
	if t.Data == nil {
		return Tensor{}, fmt.Errorf("array of dtype %s cannot feed a %s input", a.DType, dtype)
	}
	return t, t.Validate()
}

// ToNPY turns a Tensor into a .npy array (uint8 tensors are widened to
// int32, the narrowest integer type internal/npy writes).
func ToNPY(t Tensor) (*npy.Array, error) {
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int(d)
	}
	a := &npy.Array{Shape: shape}
	switch v := t.Data.(type) {
	case []float32:
		a.DType, a.Float32 = npy.Float32, v
	case []float64:
		a.DType, a.Float64 = npy.Float64, v
	case []int64:
		a.DType, a.Int64 = npy.Int64, v
	case []int32:
		a.DType, a.Int32 = npy.Int32, v
	case []bool:
		a.DType, a.Bools = npy.Bool, v
	case []uint8:
		w := make([]int32, len(v))
		for i, x := range v {
			w[i] = int32(x)
		}
		a.DType, a.Int32 = npy.Int32, w
	default:
		return nil, fmt.Errorf("cannot write %s data as .npy", t.DType())
	}
	return a, nil
}
