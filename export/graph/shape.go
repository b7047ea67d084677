package graph

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DType is an element type. The values are ONNX's TensorProto.DataType
// numbers so lowering needs no table.
type DType int32

// The element types the IR knows.
const (
	Float32 DType = 1
	Int64   DType = 7
	Bool    DType = 9
	Float64 DType = 11
)

// String returns the NumPy-style name of the type.
func (t DType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("dtype(%d)", int32(t))
}

// Size is the number of bytes of one element.
func (t DType) Size() int {
	switch t {
	case Float32:
		return 4
	case Int64, Float64:
		return 8
	case Bool:
		return 1
	}
	return 0
}

func (t DType) isFloat() bool { return t == Float32 || t == Float64 }

// Dim is one dimension of a shape: a monomial Coef·s₁·s₂·…, where the sᵢ
// are named symbolic sizes ("batch", "seq") fixed only when the graph runs.
// A Dim without symbols is a known size. Monomials are closed under the
// products and exact quotients that Reshape, Flatten and MatMul need.
type Dim struct {
	// Coef is the constant factor (the whole size when Syms is empty).
	Coef int64
	// Syms are the symbol names, sorted, repeated for powers.
	Syms []string
}

// Known returns a dimension of fixed size n.
func Known(n int64) Dim { return Dim{Coef: n} }

// Sym returns the symbolic dimension called name.
func Sym(name string) Dim { return Dim{Coef: 1, Syms: []string{name}} }

// IsKnown reports whether the size is fixed.
func (d Dim) IsKnown() bool { return len(d.Syms) == 0 }

// Equal reports whether two dimensions are the same monomial.
func (d Dim) Equal(e Dim) bool {
	if d.Coef != e.Coef || len(d.Syms) != len(e.Syms) {
		return false
	}
	for i := range d.Syms {
		if d.Syms[i] != e.Syms[i] {
			return false
		}
	}
	return true
}

// Mul returns d·e.
func (d Dim) Mul(e Dim) Dim {
	s := append(append([]string(nil), d.Syms...), e.Syms...)
	sort.Strings(s)
	if len(s) == 0 {
		s = nil
	}
	return Dim{Coef: d.Coef * e.Coef, Syms: s}
}

// Div returns d/e when the quotient is again a monomial with an integer
// coefficient.
func (d Dim) Div(e Dim) (Dim, bool) {
	if e.Coef == 0 || d.Coef%e.Coef != 0 {
		return Dim{}, false
	}
	rest := append([]string(nil), d.Syms...)
	for _, s := range e.Syms {
		i := sort.SearchStrings(rest, s)
		if i == len(rest) || rest[i] != s {
			return Dim{}, false
		}
		rest = append(rest[:i], rest[i+1:]...)
	}
	if len(rest) == 0 {
		rest = nil
	}
	return Dim{Coef: d.Coef / e.Coef, Syms: rest}, true
}

// String writes the size ("64") or the monomial ("4*batch").
func (d Dim) String() string {
	if d.IsKnown() {
		return strconv.FormatInt(d.Coef, 10)
	}
	s := strings.Join(d.Syms, "*")
	if d.Coef != 1 {
		s = strconv.FormatInt(d.Coef, 10) + "*" + s
	}
	return s
}

// Shape is a list of dimensions (empty for a scalar).
type Shape []Dim

// String writes the shape as [batch,seq,64].
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Equal reports whether two shapes have the same rank and dimensions.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if !s[i].Equal(t[i]) {
			return false
		}
	}
	return true
}

// Size is the product of all dimensions.
func (s Shape) Size() Dim {
	p := Known(1)
	for _, d := range s {
		p = p.Mul(d)
	}
	return p
}

// KnownShape returns a shape of fixed sizes.
func KnownShape(dims ...int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = Known(d)
	}
	return s
}

func isOne(d Dim) bool { return d.IsKnown() && d.Coef == 1 }

// broadcast applies NumPy's multidirectional broadcasting rule.
func broadcast(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		if len(s) > rank {
			rank = len(s)
		}
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = Known(1)
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case isOne(d):
			case isOne(o):
				out[off+i] = d
			case !o.Equal(d):
				return nil, fmt.Errorf("shapes %v do not broadcast (axis %d: %v vs %v)", shapes, off+i, o, d)
			}
		}
	}
	return out, nil
}

func normAxis(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("axis out of range for rank %d", rank)
	}
	return axis, nil
}
