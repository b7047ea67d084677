package graph

import (
	"errors"
	"fmt"
)

// opDef is one op of the IR: its definition (for docs and for the gradient
// rules a training step will add), its operand count (-1: variadic) and its
// type/shape rule. Every op lowers to exactly one ONNX node of the same
// name (opset 17, default domain); static parameters that ONNX takes as
// tensor operands (Reshape's shape, Unsqueeze's axes, CumSum's axis,
// Expand's shape) are Attrs here and become constant initializers at
// lowering, so the IR never needs value-dependent shapes.
type opDef struct {
	doc   string
	arity int
	infer func(in []*Value, a *Attrs) (DType, Shape, error)
}

// OpDoc returns the written definition of an op ("" if unknown).
func OpDoc(op string) string { return ops[op].doc }

// OpNames lists the op set in a fixed order.
func OpNames() []string {
	return []string{"Add", "Sub", "Mul", "Div", "Sqrt", "Erf", "Tanh", "Identity",
		"MatMul", "Softmax", "ReduceMean", "LayerNormalization", "Reshape", "Flatten",
		"Transpose", "Concat", "Gather", "GatherElements", "Unsqueeze", "Squeeze",
		"Expand", "Cast", "CumSum", "Equal", "Where",
		"Exp", "Log", "Neg", "Sigmoid", "Relu", "Min", "Greater", "LogSoftmax", "ReduceSum",
		"ScatterElements", "ScatterND", "Split", "Shape", "ExpandTo", "ReshapeTo"}
}

var ops = map[string]opDef{
	"Add":      {"y = a + b, NumPy broadcasting; a, b same type.", 2, inferBroadcast},
	"Sub":      {"y = a - b, NumPy broadcasting.", 2, inferBroadcast},
	"Mul":      {"y = a * b, NumPy broadcasting.", 2, inferBroadcast},
	"Div":      {"y = a / b, NumPy broadcasting (float: IEEE division).", 2, inferBroadcast},
	"Sqrt":     {"y = √x elementwise (float).", 1, inferUnaryFloat},
	"Erf":      {"y = erf(x) elementwise (float).", 1, inferUnaryFloat},
	"Tanh":     {"y = tanh(x) elementwise (float).", 1, inferUnaryFloat},
	"Identity": {"y = x.", 1, func(in []*Value, _ *Attrs) (DType, Shape, error) { return in[0].DType, in[0].Shape, nil }},
	"MatMul": {"NumPy matmul of float tensors of rank ≥ 2: y[..., i, j] = Σₖ a[..., i, k]·b[..., k, j]; " +
		"leading (batch) axes broadcast.", 2, inferMatMul},
	"Softmax":    {"y = exp(x - max) / Σ exp(x - max) along Axis (float).", 1, inferAxisSame},
	"ReduceMean": {"Mean over Axes; KeepDims keeps them as size 1.", 1, inferReduce},
	"LayerNormalization": {"Operands x, scale, bias. Over the axes from Axis to the last: " +
		"y = (x - mean) / √(biased variance + Epsilon) · scale + bias.", 3, inferLayerNorm},
	"Reshape": {"Same data in row-major order, shape Ints; 0 copies the operand's dim at that index, " +
		"-1 is inferred (at most one).", 1, inferReshape},
	"Flatten":   {"Reshape to 2-D [∏ dims before Axis, ∏ dims from Axis].", 1, inferFlatten},
	"Transpose": {"y = x with axes permuted: y.shape[i] = x.shape[Perm[i]].", 1, inferTranspose},
	"Concat":    {"Join operands along Axis; other dims must agree.", -1, inferConcat},
	"Gather": {"Operands data, int64 indices: y = take(data, indices, Axis); " +
		"y.shape = data.shape[:Axis] + indices.shape + data.shape[Axis+1:].", 2, inferGather},
	"GatherElements": {"Operands data, int64 indices of the same rank: " +
		"y[i][j][k] = data[..idx along Axis..]; y.shape = indices.shape.", 2, inferGatherElements},
	"Unsqueeze": {"Insert size-1 axes at Axes (positions in the output).", 1, inferUnsqueeze},
	"Squeeze":   {"Remove the size-1 axes Axes.", 1, inferSqueeze},
	"Expand":    {"Broadcast x to the shape Ints (NumPy rules, both ways).", 1, inferExpand},
	"Cast":      {"Convert elements to To (float→int truncates, bool→1/0).", 1, inferCast},
	"CumSum":    {"Inclusive cumulative sum along Axis.", 1, inferAxisSame},
	"Equal":     {"y = (a == b) as bool, broadcasting.", 2, inferEqual},
	"Where":     {"Operands cond (bool), a, b: y = cond ? a : b, broadcasting.", 3, inferWhere},
}

func inferBroadcast(in []*Value, _ *Attrs) (DType, Shape, error) {
	if in[0].DType != in[1].DType {
		return 0, nil, fmt.Errorf("operand types differ: %v vs %v", in[0].DType, in[1].DType)
	}
	s, err := broadcast(in[0].Shape, in[1].Shape)
	return in[0].DType, s, err
}

func inferEqual(in []*Value, a *Attrs) (DType, Shape, error) {
	_, s, err := inferBroadcast(in, a)
	return Bool, s, err
}

func inferWhere(in []*Value, _ *Attrs) (DType, Shape, error) {
	if in[0].DType != Bool {
		return 0, nil, errors.New("condition must be bool")
	}
	if in[1].DType != in[2].DType {
		return 0, nil, fmt.Errorf("branch types differ: %v vs %v", in[1].DType, in[2].DType)
	}
	s, err := broadcast(in[0].Shape, in[1].Shape, in[2].Shape)
	return in[1].DType, s, err
}

func inferUnaryFloat(in []*Value, _ *Attrs) (DType, Shape, error) {
	if !in[0].DType.isFloat() {
		return 0, nil, fmt.Errorf("needs a float operand, got %v", in[0].DType)
	}
	return in[0].DType, in[0].Shape, nil
}

func inferAxisSame(in []*Value, a *Attrs) (DType, Shape, error) {
	ax, err := normAxis(a.Axis, in[0].Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	return in[0].DType, in[0].Shape, nil
}

func inferMatMul(in []*Value, _ *Attrs) (DType, Shape, error) {
	x, y := in[0], in[1]
	if !x.DType.isFloat() || x.DType != y.DType {
		return 0, nil, fmt.Errorf("needs two float operands of one type")
	}
	if x.Rank() < 2 || y.Rank() < 2 {
		return 0, nil, errors.New("operands must have rank ≥ 2")
	}
	k1, k2 := x.Shape[x.Rank()-1], y.Shape[y.Rank()-2]
	if !k1.Equal(k2) {
		return 0, nil, fmt.Errorf("inner dimensions differ: %v vs %v", k1, k2)
	}
	batch, err := broadcast(x.Shape[:x.Rank()-2], y.Shape[:y.Rank()-2])
	if err != nil {
		return 0, nil, err
	}
	out := append(append(Shape{}, batch...), x.Shape[x.Rank()-2], y.Shape[y.Rank()-1])
	return x.DType, out, nil
}

func inferReduce(in []*Value, a *Attrs) (DType, Shape, error) {
	r := in[0].Rank()
	drop := map[int]bool{}
	for i, ax := range a.Axes {
		n, err := normAxis(int(ax), r)
		if err != nil {
			return 0, nil, err
		}
		a.Axes[i] = int64(n)
		drop[n] = true
	}
	var out Shape
	for i, d := range in[0].Shape {
		switch {
		case !drop[i]:
			out = append(out, d)
		case a.KeepDims:
			out = append(out, Known(1))
		}
	}
	return in[0].DType, out, nil
}

func inferLayerNorm(in []*Value, a *Attrs) (DType, Shape, error) {
	x := in[0]
	ax, err := normAxis(a.Axis, x.Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	norm := x.Shape[ax:]
	for i, p := range in[1:] {
		if p.DType != x.DType || !p.Shape.Equal(norm) {
			return 0, nil, fmt.Errorf("operand %d must be %v%v", i+1, x.DType, norm)
		}
	}
	if a.Epsilon <= 0 {
		return 0, nil, errors.New("epsilon must be positive")
	}
	return x.DType, x.Shape, nil
}

func inferReshape(in []*Value, a *Attrs) (DType, Shape, error) {
	x := in[0]
	out := make(Shape, len(a.Ints))
	infer := -1
	known := Known(1)
	for i, d := range a.Ints {
		switch {
		case d == 0:
			if i >= x.Rank() {
				return 0, nil, fmt.Errorf("0 at index %d copies a missing dimension", i)
			}
			out[i] = x.Shape[i]
		case d == -1:
			if infer >= 0 {
				return 0, nil, errors.New("more than one -1")
			}
			infer = i
			continue
		case d > 0:
			out[i] = Known(d)
		default:
			return 0, nil, fmt.Errorf("bad target dimension %d", d)
		}
		known = known.Mul(out[i])
	}
	total := x.Shape.Size()
	if infer >= 0 {
		q, ok := total.Div(known)
		if !ok {
			return 0, nil, fmt.Errorf("cannot infer -1: %v elements over %v", total, known)
		}
		out[infer] = q
	} else if !known.Equal(total) {
		return 0, nil, fmt.Errorf("element count changes: %v to %v", total, known)
	}
	return x.DType, out, nil
}

func inferFlatten(in []*Value, a *Attrs) (DType, Shape, error) {
	x := in[0]
	if a.Axis < 0 || a.Axis > x.Rank() {
		return 0, nil, fmt.Errorf("axis %d out of range", a.Axis)
	}
	return x.DType, Shape{x.Shape[:a.Axis].Size(), x.Shape[a.Axis:].Size()}, nil
}

func inferTranspose(in []*Value, a *Attrs) (DType, Shape, error) {
	x := in[0]
	if len(a.Perm) != x.Rank() {
		return 0, nil, fmt.Errorf("permutation %v for rank %d", a.Perm, x.Rank())
	}
	seen := make([]bool, x.Rank())
	out := make(Shape, x.Rank())
	for i, p := range a.Perm {
		if p < 0 || int(p) >= x.Rank() || seen[p] {
			return 0, nil, fmt.Errorf("bad permutation %v", a.Perm)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	return x.DType, out, nil
}

func inferConcat(in []*Value, a *Attrs) (DType, Shape, error) {
	if len(in) == 0 {
		return 0, nil, errors.New("no operands")
	}
	r := in[0].Rank()
	ax, err := normAxis(a.Axis, r)
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	out := append(Shape{}, in[0].Shape...)
	for _, v := range in[1:] {
		if v.DType != in[0].DType || v.Rank() != r {
			return 0, nil, errors.New("operands differ in type or rank")
		}
		for i := range out {
			if i == ax {
				s, ok := addDims(out[i], v.Shape[i])
				if !ok {
					return 0, nil, fmt.Errorf("cannot add dimensions %v and %v", out[i], v.Shape[i])
				}
				out[i] = s
			} else if !out[i].Equal(v.Shape[i]) {
				return 0, nil, fmt.Errorf("axis %d differs: %v vs %v", i, out[i], v.Shape[i])
			}
		}
	}
	return in[0].DType, out, nil
}

// addDims adds two monomials with the same symbols.
func addDims(a, b Dim) (Dim, bool) {
	if !(Dim{Coef: 1, Syms: a.Syms}).Equal(Dim{Coef: 1, Syms: b.Syms}) {
		return Dim{}, false
	}
	return Dim{Coef: a.Coef + b.Coef, Syms: a.Syms}, true
}

func inferGather(in []*Value, a *Attrs) (DType, Shape, error) {
	data, idx := in[0], in[1]
	if idx.DType != Int64 {
		return 0, nil, errors.New("indices must be int64")
	}
	ax, err := normAxis(a.Axis, data.Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	out := append(append(append(Shape{}, data.Shape[:ax]...), idx.Shape...), data.Shape[ax+1:]...)
	return data.DType, out, nil
}

func inferGatherElements(in []*Value, a *Attrs) (DType, Shape, error) {
	data, idx := in[0], in[1]
	if idx.DType != Int64 || idx.Rank() != data.Rank() {
		return 0, nil, errors.New("indices must be int64 of the data's rank")
	}
	ax, err := normAxis(a.Axis, data.Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	return data.DType, idx.Shape, nil
}

func inferUnsqueeze(in []*Value, a *Attrs) (DType, Shape, error) {
	r := in[0].Rank() + len(a.Axes)
	ins := map[int]bool{}
	for i, ax := range a.Axes {
		n, err := normAxis(int(ax), r)
		if err != nil || ins[n] {
			return 0, nil, fmt.Errorf("bad axes %v", a.Axes)
		}
		a.Axes[i] = int64(n)
		ins[n] = true
	}
	out := make(Shape, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, Known(1))
		} else {
			out = append(out, in[0].Shape[j])
			j++
		}
	}
	return in[0].DType, out, nil
}

func inferSqueeze(in []*Value, a *Attrs) (DType, Shape, error) {
	r := in[0].Rank()
	drop := map[int]bool{}
	for i, ax := range a.Axes {
		n, err := normAxis(int(ax), r)
		if err != nil {
			return 0, nil, err
		}
		if !isOne(in[0].Shape[n]) {
			return 0, nil, fmt.Errorf("axis %d is not of size 1", ax)
		}
		a.Axes[i] = int64(n)
		drop[n] = true
	}
	var out Shape
	for i, d := range in[0].Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return in[0].DType, out, nil
}

func inferExpand(in []*Value, a *Attrs) (DType, Shape, error) {
	s, err := broadcast(in[0].Shape, KnownShape(a.Ints...))
	return in[0].DType, s, err
}

func inferCast(in []*Value, a *Attrs) (DType, Shape, error) {
	if a.To.Size() == 0 {
		return 0, nil, fmt.Errorf("bad target type %v", a.To)
	}
	return a.To, in[0].Shape, nil
}

// Add returns a + b.
func (g *Graph) Add(a, b *Value) *Value { return g.add("Add", Attrs{}, a, b) }

// Sub returns a - b.
func (g *Graph) Sub(a, b *Value) *Value { return g.add("Sub", Attrs{}, a, b) }

// Mul returns a * b.
func (g *Graph) Mul(a, b *Value) *Value { return g.add("Mul", Attrs{}, a, b) }

// Div returns a / b.
func (g *Graph) Div(a, b *Value) *Value { return g.add("Div", Attrs{}, a, b) }

// Sqrt returns √x.
func (g *Graph) Sqrt(x *Value) *Value { return g.add("Sqrt", Attrs{}, x) }

// Erf returns erf(x).
func (g *Graph) Erf(x *Value) *Value { return g.add("Erf", Attrs{}, x) }

// Tanh returns tanh(x).
func (g *Graph) Tanh(x *Value) *Value { return g.add("Tanh", Attrs{}, x) }

// Identity returns a copy of x under a new name.
func (g *Graph) Identity(x *Value) *Value { return g.add("Identity", Attrs{}, x) }

// MatMul returns the NumPy matrix product a·b.
func (g *Graph) MatMul(a, b *Value) *Value { return g.add("MatMul", Attrs{}, a, b) }

// Softmax normalises exp(x) along axis.
func (g *Graph) Softmax(x *Value, axis int) *Value { return g.add("Softmax", Attrs{Axis: axis}, x) }

// ReduceMean averages over axes.
func (g *Graph) ReduceMean(x *Value, keepDims bool, axes ...int64) *Value {
	return g.add("ReduceMean", Attrs{Axes: append([]int64(nil), axes...), KeepDims: keepDims}, x)
}

// LayerNorm normalises over the last axis with scale and bias.
func (g *Graph) LayerNorm(x, scale, bias *Value, eps float32) *Value {
	return g.add("LayerNormalization", Attrs{Axis: -1, Epsilon: eps}, x, scale, bias)
}

// Reshape gives x the shape dims (0 copies, -1 infers).
func (g *Graph) Reshape(x *Value, dims ...int64) *Value {
	return g.add("Reshape", Attrs{Ints: append([]int64(nil), dims...)}, x)
}

// Flatten reshapes x to 2-D around axis.
func (g *Graph) Flatten(x *Value, axis int) *Value { return g.add("Flatten", Attrs{Axis: axis}, x) }

// Transpose permutes the axes of x.
func (g *Graph) Transpose(x *Value, perm ...int64) *Value {
	return g.add("Transpose", Attrs{Perm: append([]int64(nil), perm...)}, x)
}

// Concat joins xs along axis.
func (g *Graph) Concat(axis int, xs ...*Value) *Value {
	return g.add("Concat", Attrs{Axis: axis}, xs...)
}

// Gather takes the slices of data at indices along axis.
func (g *Graph) Gather(data, indices *Value, axis int) *Value {
	return g.add("Gather", Attrs{Axis: axis}, data, indices)
}

// GatherElements picks one element per index position along axis.
func (g *Graph) GatherElements(data, indices *Value, axis int) *Value {
	return g.add("GatherElements", Attrs{Axis: axis}, data, indices)
}

// Unsqueeze inserts size-1 axes.
func (g *Graph) Unsqueeze(x *Value, axes ...int64) *Value {
	return g.add("Unsqueeze", Attrs{Axes: append([]int64(nil), axes...)}, x)
}

// Squeeze removes size-1 axes.
func (g *Graph) Squeeze(x *Value, axes ...int64) *Value {
	return g.add("Squeeze", Attrs{Axes: append([]int64(nil), axes...)}, x)
}

// Expand broadcasts x to dims.
func (g *Graph) Expand(x *Value, dims ...int64) *Value {
	return g.add("Expand", Attrs{Ints: append([]int64(nil), dims...)}, x)
}

// Cast converts x to type to.
func (g *Graph) Cast(x *Value, to DType) *Value { return g.add("Cast", Attrs{To: to}, x) }

// CumSum is the inclusive cumulative sum along axis.
func (g *Graph) CumSum(x *Value, axis int) *Value { return g.add("CumSum", Attrs{Axis: axis}, x) }

// Equal compares elementwise.
func (g *Graph) Equal(a, b *Value) *Value { return g.add("Equal", Attrs{}, a, b) }

// Where selects a where cond holds, else b.
func (g *Graph) Where(cond, a, b *Value) *Value { return g.add("Where", Attrs{}, cond, a, b) }
