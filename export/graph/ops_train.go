package graph

import (
	"errors"
	"fmt"
)

// The ops below complete the set for training graphs: the elementwise
// functions and reductions that gradient rules and losses are built from,
// the scatters that carry gradients back through Gather/GatherElements,
// Split (the gradient of Concat, a multi-output node), and three ops that
// take run-time shapes (Shape, ExpandTo, ReshapeTo) for gradients over
// symbolic axes. All are standard ONNX (opset 17, default domain).
func init() {
	for name, def := range map[string]opDef{
		"Exp":     {"y = eˣ elementwise (float).", 1, inferUnaryFloat},
		"Log":     {"y = ln x elementwise (float).", 1, inferUnaryFloat},
		"Neg":     {"y = -x elementwise.", 1, inferUnaryFloat},
		"Sigmoid": {"y = 1 / (1 + e⁻ˣ) elementwise (float).", 1, inferUnaryFloat},
		"Relu":    {"y = max(x, 0) elementwise (float).", 1, inferUnaryFloat},
		"Min":     {"y = min(a, b), NumPy broadcasting (float).", 2, inferBroadcast},
		"Greater": {"y = (a > b) as bool, broadcasting.", 2, inferEqual},
		"LogSoftmax": {"y = x - max - ln Σ exp(x - max) along Axis (float).", 1,
			inferAxisSame},
		"ReduceSum": {"Sum over Axes; KeepDims keeps them as size 1.", 1, inferReduce},
		"ScatterElements": {"Operands data, int64 indices, updates (indices' shape): y = data, then " +
			"y[..idx along Axis..] += updates (reduction add).", 3, inferScatterElements},
		"ScatterND": {"Operands data, int64 indices [..., k], updates: y = data, then " +
			"y[indices[i]] += updates[i] over the leading k axes (reduction add).", 3, inferScatterND},
		"Split": {"Cut x along Axis into parts of Sizes (one output each).", 1, inferSplit},
		"Shape": {"y = the int64 shape of x ([rank]).", 1, func(in []*Value, _ *Attrs) (DType, Shape, error) {
			return Int64, KnownShape(int64(in[0].Rank())), nil
		}},
		"ExpandTo": {"Operands x, int64 shape: x broadcast to the run-time shape (ONNX Expand); " +
			"Target is that shape symbolically.", 2, inferExpandTo},
		"ReshapeTo": {"Operands x, int64 shape: x reshaped to the run-time shape (ONNX Reshape, no 0/-1); " +
			"Target is that shape symbolically.", 2, inferReshapeTo},
	} {
		ops[name] = def
	}
}

func inferScatterElements(in []*Value, a *Attrs) (DType, Shape, error) {
	data, idx, upd := in[0], in[1], in[2]
	if idx.DType != Int64 || idx.Rank() != data.Rank() || !upd.Shape.Equal(idx.Shape) || upd.DType != data.DType {
		return 0, nil, errors.New("want data, int64 indices of the data's rank, updates shaped like the indices")
	}
	ax, err := normAxis(a.Axis, data.Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	return data.DType, data.Shape, nil
}

func inferScatterND(in []*Value, _ *Attrs) (DType, Shape, error) {
	data, idx, upd := in[0], in[1], in[2]
	if idx.DType != Int64 || idx.Rank() < 1 || upd.DType != data.DType {
		return 0, nil, errors.New("want data, int64 indices of rank ≥ 1, updates of the data's type")
	}
	k := idx.Shape[idx.Rank()-1]
	if !k.IsKnown() || int(k.Coef) > data.Rank() {
		return 0, nil, fmt.Errorf("index depth %v for data of rank %d", k, data.Rank())
	}
	want := append(append(Shape{}, idx.Shape[:idx.Rank()-1]...), data.Shape[k.Coef:]...)
	if !upd.Shape.Equal(want) {
		return 0, nil, fmt.Errorf("updates %v, want %v", upd.Shape, want)
	}
	return data.DType, data.Shape, nil
}

func inferSplit(in []*Value, a *Attrs) (DType, Shape, error) {
	x := in[0]
	ax, err := normAxis(a.Axis, x.Rank())
	if err != nil {
		return 0, nil, err
	}
	a.Axis = ax
	var total int64
	for _, s := range a.Sizes {
		if s <= 0 {
			return 0, nil, fmt.Errorf("bad part size %d", s)
		}
		total += s
	}
	if d := x.Shape[ax]; !d.IsKnown() || d.Coef != total {
		return 0, nil, fmt.Errorf("parts %v do not add up to axis %d of size %v", a.Sizes, ax, d)
	}
	out := append(Shape{}, x.Shape...)
	out[ax] = Known(a.Sizes[0])
	return x.DType, out, nil
}

func inferExpandTo(in []*Value, a *Attrs) (DType, Shape, error) {
	if in[1].DType != Int64 || in[1].Rank() != 1 {
		return 0, nil, errors.New("shape operand must be int64 [rank]")
	}
	s, err := broadcast(in[0].Shape, a.Target)
	if err != nil {
		return 0, nil, err
	}
	if !s.Equal(a.Target) {
		return 0, nil, fmt.Errorf("broadcast gives %v, not the target %v", s, a.Target)
	}
	return in[0].DType, s, nil
}

func inferReshapeTo(in []*Value, a *Attrs) (DType, Shape, error) {
	if in[1].DType != Int64 || in[1].Rank() != 1 {
		return 0, nil, errors.New("shape operand must be int64 [rank]")
	}
	if !in[0].Shape.Size().Equal(a.Target.Size()) {
		return 0, nil, fmt.Errorf("element count changes: %v to %v", in[0].Shape.Size(), a.Target.Size())
	}
	return in[0].DType, a.Target, nil
}

// Exp returns eˣ.
func (g *Graph) Exp(x *Value) *Value { return g.add("Exp", Attrs{}, x) }

// Log returns ln x.
func (g *Graph) Log(x *Value) *Value { return g.add("Log", Attrs{}, x) }

// Neg returns -x.
func (g *Graph) Neg(x *Value) *Value { return g.add("Neg", Attrs{}, x) }

// Sigmoid returns 1/(1+e⁻ˣ).
func (g *Graph) Sigmoid(x *Value) *Value { return g.add("Sigmoid", Attrs{}, x) }

// Relu returns max(x, 0).
func (g *Graph) Relu(x *Value) *Value { return g.add("Relu", Attrs{}, x) }

// Min returns the elementwise minimum.
func (g *Graph) Min(a, b *Value) *Value { return g.add("Min", Attrs{}, a, b) }

// Greater returns a > b as bool.
func (g *Graph) Greater(a, b *Value) *Value { return g.add("Greater", Attrs{}, a, b) }

// LogSoftmax returns log(softmax(x)) along axis.
func (g *Graph) LogSoftmax(x *Value, axis int) *Value {
	return g.add("LogSoftmax", Attrs{Axis: axis}, x)
}

// ReduceSum sums over axes.
func (g *Graph) ReduceSum(x *Value, keepDims bool, axes ...int64) *Value {
	return g.add("ReduceSum", Attrs{Axes: append([]int64(nil), axes...), KeepDims: keepDims}, x)
}

// ScatterAddElements returns data with updates added at indices along axis.
func (g *Graph) ScatterAddElements(data, indices, updates *Value, axis int) *Value {
	return g.add("ScatterElements", Attrs{Axis: axis}, data, indices, updates)
}

// ScatterAddND returns data with updates added at the index tuples.
func (g *Graph) ScatterAddND(data, indices, updates *Value) *Value {
	return g.add("ScatterND", Attrs{}, data, indices, updates)
}

// Split cuts x along axis into parts of the given sizes.
func (g *Graph) Split(x *Value, axis int, sizes ...int64) []*Value {
	first := g.add("Split", Attrs{Axis: axis, Sizes: append([]int64(nil), sizes...)}, x)
	if g.err != nil {
		out := make([]*Value, len(sizes))
		for i := range out {
			out[i] = first
		}
		return out
	}
	n := first.node
	out := []*Value{first}
	for _, s := range sizes[1:] {
		sh := append(Shape{}, first.Shape...)
		sh[n.Attrs.Axis] = Known(s)
		out = append(out, g.addOutput(n, first.DType, sh))
	}
	return out
}

// ShapeOf returns x's run-time shape as int64 [rank].
func (g *Graph) ShapeOf(x *Value) *Value { return g.add("Shape", Attrs{}, x) }

// ExpandTo broadcasts x to shape s, whose symbolic sizes are taken at run
// time from the graph inputs (see DimValue).
func (g *Graph) ExpandTo(x *Value, s Shape) *Value {
	return g.add("ExpandTo", Attrs{Target: s}, x, g.ShapeValue(s))
}

// ReshapeTo reshapes x to shape s (symbolic sizes taken at run time).
func (g *Graph) ReshapeTo(x *Value, s Shape) *Value {
	return g.add("ReshapeTo", Attrs{Target: s}, x, g.ShapeValue(s))
}

// ZerosOf returns zeros of type dt and shape s.
func (g *Graph) ZerosOf(dt DType, s Shape) *Value {
	allKnown := true
	for _, d := range s {
		allKnown = allKnown && d.IsKnown()
	}
	z := g.ScalarOf(dt, 0)
	if allKnown {
		dims := make([]int64, len(s))
		for i, d := range s {
			dims[i] = d.Coef
		}
		if len(dims) == 0 {
			return z
		}
		return g.Expand(z, dims...)
	}
	return g.ExpandTo(z, s)
}

// DimValue returns the run-time size of d as an int64 scalar: known sizes
// are constants; each symbol is read from the shape of the first graph
// input that has it as a dimension of its own, so no activation is kept
// alive for its shape.
func (g *Graph) DimValue(d Dim) *Value {
	if d.IsKnown() {
		return g.ScalarInt(d.Coef)
	}
	if g.dims == nil {
		g.dims = map[string]*Value{}
	}
	var out *Value
	for _, s := range d.Syms {
		v, ok := g.dims[s]
		if !ok {
			for _, in := range g.inputs {
				for i, dd := range in.Shape {
					if dd.Equal(Sym(s)) && v == nil {
						saved := g.scope
						g.scope = []string{"shapes"}
						v = g.Gather(g.ShapeOf(in), g.ScalarInt(int64(i)), 0)
						g.scope = saved
					}
				}
			}
			if v == nil {
				g.Failf("no graph input has the dimension %q, so its run-time size is unknown", s)
				return g.ScalarInt(1)
			}
			g.dims[s] = v
		}
		if out == nil {
			out = v
		} else {
			out = g.Mul(out, v)
		}
	}
	if d.Coef != 1 {
		out = g.Mul(out, g.ScalarInt(d.Coef))
	}
	return out
}

// ShapeValue returns shape s at run time as int64 [rank].
func (g *Graph) ShapeValue(s Shape) *Value {
	parts := make([]*Value, len(s))
	for i, d := range s {
		parts[i] = g.Unsqueeze(g.DimValue(d), 0)
	}
	if len(parts) == 0 {
		return g.constant(&Tensor{DType: Int64, Dims: []int64{0}})
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return g.Concat(0, parts...)
}
