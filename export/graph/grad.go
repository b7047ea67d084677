package graph

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Reverse-mode differentiation over the IR.
//
// Gradients walks the nodes that lie between the requested values and the
// loss in reverse creation order, asks each op's rule for the gradients of
// its operands, and sums the contributions where a value fans out. Integer
// and bool values carry no gradient (stop-gradient on index paths), and
// nodes that do not depend on any requested value are never
// differentiated, so a frozen encoder in front of a trained head gets no
// backward nodes at all, and a frozen part between a trained part and the
// loss is differentiated for its inputs only.
//
// A composite op (Composite) is a group of forward nodes with one output
// whose gradient is given in closed form from values of the caller's
// choice: its internal nodes are skipped by the backward pass, so the
// activations they produced need not be kept for it (GELU's backward, for
// one, reads only its input).

// composite is the closed-form gradient of a group of nodes.
type composite struct {
	inputs []*Value
	rule   func(dy *Value) []*Value
}

// Composite declares that out is a function of inputs whose gradient is
// rule(dy): one gradient per input (nil where none). The nodes between
// inputs and out are not differentiated; they must not be used outside the
// group except through out.
func (g *Graph) Composite(out *Value, inputs []*Value, rule func(dy *Value) []*Value) {
	if out == nil || out.g != g || out.node == nil {
		g.Failf("composite: output must be a node output of this graph")
		return
	}
	out.comp = &composite{inputs: append([]*Value(nil), inputs...), rule: rule}
}

// GradOptions configure Gradients.
type GradOptions struct {
	// Seed is d(objective)/d(loss), a scalar (nil: 1), or a value of the
	// loss's shape when differentiating a non-scalar (a vector-Jacobian
	// product, as a recomputed layer's rule does). A training step feeds
	// 1/gradient_accumulation_steps here, as the original divides the loss
	// before backward().
	Seed *Value
}

// Gradients returns d loss / d v for each v of wrt, in order; an entry is
// nil when loss does not depend on that value (no gradient at all, as
// PyTorch leaves .grad None). loss must be a float scalar.
func (g *Graph) Gradients(loss *Value, wrt []*Value, opts GradOptions) ([]*Value, error) {
	if g.err != nil {
		return nil, g.err
	}
	if !loss.DType.isFloat() || (loss.Rank() != 0 && (opts.Seed == nil || !opts.Seed.Shape.Equal(loss.Shape))) {
		return nil, fmt.Errorf("gradients: the loss must be a float scalar (or any float value with a seed of its shape), got %v%v", loss.DType, loss.Shape)
	}
	// parents: the operands a value's gradient flows to (composites skip
	// their internals).
	parents := func(v *Value) []*Value {
		if v.comp != nil {
			return v.comp.inputs
		}
		if v.node != nil {
			return v.node.Inputs
		}
		return nil
	}
	// dep: values that depend on a requested value through float paths.
	dep := map[*Value]bool{}
	for _, v := range wrt {
		if v.DType.isFloat() {
			dep[v] = true
		}
	}
	var depOf func(v *Value) bool
	memo := map[*Value]bool{}
	depOf = func(v *Value) bool {
		if d, ok := memo[v]; ok {
			return d
		}
		memo[v] = false
		d := dep[v]
		if !d && v.DType.isFloat() {
			for _, p := range parents(v) {
				if depOf(p) {
					d = true
				}
			}
		}
		memo[v] = d
		return d
	}
	// need: values on a path from a requested value to the loss.
	need := map[*Value]bool{}
	stack := []*Value{loss}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[v] || !depOf(v) {
			continue
		}
		need[v] = true
		stack = append(stack, parents(v)...)
	}
	grads := map[*Value]*Value{}
	accumulate := func(v, dv *Value) {
		if dv == nil || !need[v] {
			return
		}
		if !dv.Shape.Equal(v.Shape) {
			g.Failf("gradient of %s has shape %v, want %v", v.name, dv.Shape, v.Shape)
			return
		}
		if old := grads[v]; old != nil {
			dv = g.Add(old, dv)
		}
		grads[v] = dv
	}
	seed := opts.Seed
	g.Push("grad")
	defer g.Pop()
	if seed == nil {
		seed = g.ScalarOf(loss.DType, 1)
	}
	if need[loss] {
		grads[loss] = seed
	}
	// Nodes in reverse creation order; a composite is handled at the node
	// that produces its output.
	fwd := len(g.nodes)
	for i := fwd - 1; i >= 0; i-- {
		n := g.nodes[i]
		if n.Outputs[0].comp != nil {
			out := n.Outputs[0]
			dy := grads[out]
			if dy == nil {
				continue
			}
			c := out.comp
			var dxs []*Value
			g.Within("grad/"+n.Name, func() { dxs = c.rule(dy) })
			for j, in := range c.inputs {
				if j < len(dxs) {
					accumulate(in, dxs[j])
				}
			}
			continue
		}
		dys := make([]*Value, len(n.Outputs))
		any := false
		for j, o := range n.Outputs {
			dys[j] = grads[o]
			any = any || dys[j] != nil
		}
		if !any {
			continue
		}
		rule, ok := gradRules[n.Op]
		if !ok {
			return nil, fmt.Errorf("gradients: op %s (%s) has no gradient rule", n.Op, n.Name)
		}
		needIn := make([]bool, len(n.Inputs))
		anyIn := false
		for j, in := range n.Inputs {
			needIn[j] = need[in]
			anyIn = anyIn || needIn[j]
		}
		if !anyIn {
			continue
		}
		var dxs []*Value
		g.Within("grad"+n.Name, func() { dxs = rule(g, n, dys, needIn) })
		if g.err != nil {
			return nil, g.err
		}
		for j, in := range n.Inputs {
			if j < len(dxs) && needIn[j] {
				accumulate(in, dxs[j])
			}
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	out := make([]*Value, len(wrt))
	for i, v := range wrt {
		out[i] = grads[v]
	}
	return out, nil
}

// gradRule returns one gradient per operand of n (nil where needIn is
// false or the operand is not differentiable), given the gradients of its
// outputs (nil: zero).
type gradRule func(g *Graph, n *Node, dys []*Value, needIn []bool) []*Value

// HasGradient reports whether op has a gradient rule.
func HasGradient(op string) bool { _, ok := gradRules[op]; return ok }

var gradRules map[string]gradRule

func init() {
	gradRules = map[string]gradRule{
		"Add": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			a, b := n.Inputs[0], n.Inputs[1]
			return []*Value{g.sumTo(dys[0], a.Shape), g.sumTo(dys[0], b.Shape)}
		},
		"Sub": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			a, b := n.Inputs[0], n.Inputs[1]
			var db *Value
			if need[1] {
				db = g.sumTo(g.Neg(dys[0]), b.Shape)
			}
			return []*Value{g.sumTo(dys[0], a.Shape), db}
		},
		"Mul": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			a, b := n.Inputs[0], n.Inputs[1]
			out := make([]*Value, 2)
			if need[0] {
				out[0] = g.sumTo(g.Mul(dys[0], b), a.Shape)
			}
			if need[1] {
				out[1] = g.sumTo(g.Mul(dys[0], a), b.Shape)
			}
			return out
		},
		"Div": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
			out := make([]*Value, 2)
			if need[0] {
				out[0] = g.sumTo(g.Div(dys[0], b), a.Shape)
			}
			if need[1] {
				out[1] = g.sumTo(g.Neg(g.Div(g.Mul(dys[0], y), b)), b.Shape)
			}
			return out
		},
		"Sqrt": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			y := n.Outputs[0]
			return []*Value{g.Div(dys[0], g.Mul(y, g.ScalarOf(y.DType, 2)))}
		},
		"Erf": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			x := n.Inputs[0]
			e := g.Exp(g.Neg(g.Mul(x, x)))
			return []*Value{g.Mul(dys[0], g.Mul(e, g.ScalarOf(x.DType, 2/math.Sqrt(math.Pi))))}
		},
		"Tanh": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			y := n.Outputs[0]
			return []*Value{g.Mul(dys[0], g.Sub(g.ScalarOf(y.DType, 1), g.Mul(y, y)))}
		},
		"Exp": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.Mul(dys[0], n.Outputs[0])}
		},
		"Log": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.Div(dys[0], n.Inputs[0])}
		},
		"Neg": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.Neg(dys[0])}
		},
		"Sigmoid": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			y := n.Outputs[0]
			return []*Value{g.Mul(dys[0], g.Mul(y, g.Sub(g.ScalarOf(y.DType, 1), y)))}
		},
		"Relu": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			x := n.Inputs[0]
			z := g.ScalarOf(x.DType, 0)
			return []*Value{g.Where(g.Greater(x, z), dys[0], z)}
		},
		"Min": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			a, b := n.Inputs[0], n.Inputs[1]
			z := g.ScalarOf(a.DType, 0)
			gt := g.Greater(a, b) // a > b: the minimum is b (ties go to a)
			out := make([]*Value, 2)
			if need[0] {
				out[0] = g.sumTo(g.Where(gt, z, dys[0]), a.Shape)
			}
			if need[1] {
				out[1] = g.sumTo(g.Where(gt, dys[0], z), b.Shape)
			}
			return out
		},
		"Identity": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value { return []*Value{dys[0]} },
		"MatMul":   gradMatMul,
		"Softmax": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			y, dy := n.Outputs[0], dys[0]
			s := g.ReduceSum(g.Mul(dy, y), true, int64(n.Attrs.Axis))
			return []*Value{g.Mul(y, g.Sub(dy, s))}
		},
		"LogSoftmax": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			y, dy := n.Outputs[0], dys[0]
			s := g.ReduceSum(dy, true, int64(n.Attrs.Axis))
			return []*Value{g.Sub(dy, g.Mul(g.Exp(y), s))}
		},
		"ReduceMean": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			x := n.Inputs[0]
			cnt := Known(1)
			for _, ax := range n.Attrs.Axes {
				cnt = cnt.Mul(x.Shape[ax])
			}
			dy := g.keepReduced(dys[0], n)
			var scaled *Value
			if cnt.IsKnown() {
				scaled = g.Div(dy, g.ScalarOf(x.DType, float64(cnt.Coef)))
			} else {
				scaled = g.Div(dy, g.Cast(g.DimValue(cnt), x.DType))
			}
			return []*Value{g.broadcastTo(scaled, x.Shape)}
		},
		"ReduceSum": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			x := n.Inputs[0]
			return []*Value{g.broadcastTo(g.keepReduced(dys[0], n), x.Shape)}
		},
		"LayerNormalization": gradLayerNorm,
		"Reshape":            gradReshapeLike,
		"ReshapeTo":          gradReshapeLike,
		"Flatten":            gradReshapeLike,
		"Unsqueeze": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.Squeeze(dys[0], n.Attrs.Axes...)}
		},
		"Squeeze": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.Unsqueeze(dys[0], n.Attrs.Axes...)}
		},
		"Transpose": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			// A gradient that is itself this permutation of some z (a
			// Linear's weight gradient, see gradMatMul) needs no
			// transposition: the inverse permutation gives z back.
			if d := dys[0].node; d != nil && d.Op == "Transpose" && slices.Equal(d.Attrs.Perm, n.Attrs.Perm) {
				return []*Value{d.Inputs[0]}
			}
			inv := make([]int64, len(n.Attrs.Perm))
			for i, p := range n.Attrs.Perm {
				inv[p] = int64(i)
			}
			return []*Value{g.Transpose(dys[0], inv...)}
		},
		"Concat": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			ax := n.Attrs.Axis
			sizes := make([]int64, len(n.Inputs))
			for i, in := range n.Inputs {
				d := in.Shape[ax]
				if !d.IsKnown() {
					g.Failf("Concat gradient: operand %d has the symbolic size %v along axis %d", i, d, ax)
					return nil
				}
				sizes[i] = d.Coef
			}
			if len(sizes) == 1 {
				return []*Value{dys[0]}
			}
			return g.Split(dys[0], ax, sizes...)
		},
		"Split": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			parts := make([]*Value, len(n.Outputs))
			for i, o := range n.Outputs {
				parts[i] = dys[i]
				if parts[i] == nil {
					parts[i] = g.ZerosOf(o.DType, o.Shape)
				}
			}
			return []*Value{g.Concat(n.Attrs.Axis, parts...)}
		},
		"Gather":         gradGather,
		"GatherElements": gradGatherElements,
		"ScatterElements": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			out := make([]*Value, 3)
			out[0] = dys[0]
			if need[2] {
				out[2] = g.GatherElements(dys[0], n.Inputs[1], n.Attrs.Axis)
			}
			return out
		},
		"Expand": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.sumTo(dys[0], n.Inputs[0].Shape)}
		},
		"ExpandTo": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.sumTo(dys[0], n.Inputs[0].Shape)}
		},
		"Cast": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			x := n.Inputs[0]
			if !x.DType.isFloat() {
				return nil
			}
			return []*Value{g.Cast(dys[0], x.DType)}
		},
		"CumSum": func(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
			return []*Value{g.add("CumSum", Attrs{Axis: n.Attrs.Axis, Reverse: !n.Attrs.Reverse}, dys[0])}
		},
		"Where": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			c, a, b := n.Inputs[0], n.Inputs[1], n.Inputs[2]
			z := g.ScalarOf(a.DType, 0)
			out := make([]*Value, 3)
			if need[1] {
				out[1] = g.sumTo(g.Where(c, dys[0], z), a.Shape)
			}
			if need[2] {
				out[2] = g.sumTo(g.Where(c, z, dys[0]), b.Shape)
			}
			return out
		},
		// Integer and bool results: no gradient flows through them.
		"Equal":   noGrad,
		"Greater": noGrad,
		"Shape":   noGrad,
		// ScatterND appears only in backward graphs; its data operand's
		// gradient is the identity (updates would need GatherND).
		"ScatterND": func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
			if need[2] {
				g.Failf("ScatterND: no gradient for its updates operand")
			}
			return []*Value{dys[0], nil, nil}
		},
	}
}

func noGrad(*Graph, *Node, []*Value, []bool) []*Value { return nil }

// sumTo sums dy over the axes broadcasting added, so that it has shape s.
func (g *Graph) sumTo(dy *Value, s Shape) *Value {
	if dy == nil || dy.Shape.Equal(s) {
		return dy
	}
	extra := dy.Rank() - len(s)
	if extra < 0 {
		g.Failf("cannot reduce %v to %v", dy.Shape, s)
		return dy
	}
	if extra > 0 {
		axes := make([]int64, extra)
		for i := range axes {
			axes[i] = int64(i)
		}
		dy = g.ReduceSum(dy, false, axes...)
	}
	var keep []int64
	for i, d := range s {
		if isOne(d) && !isOne(dy.Shape[i]) {
			keep = append(keep, int64(i))
		}
	}
	if len(keep) > 0 {
		dy = g.ReduceSum(dy, true, keep...)
	}
	if !dy.Shape.Equal(s) {
		g.Failf("cannot reduce a gradient of shape %v to %v", dy.Shape, s)
	}
	return dy
}

// broadcastTo expands v to shape s: statically when the axes it grows
// along have known sizes, else with the run-time shape.
func (g *Graph) broadcastTo(v *Value, s Shape) *Value {
	if v.Shape.Equal(s) {
		return v
	}
	dims := make([]int64, len(s))
	static := true
	off := len(s) - v.Rank()
	for i, d := range s {
		var vd Dim = Known(1)
		if i >= off {
			vd = v.Shape[i-off]
		}
		switch {
		case vd.Equal(d):
			dims[i] = 1
		case d.IsKnown():
			dims[i] = d.Coef
		default:
			static = false
		}
	}
	if static {
		return g.Expand(v, dims...)
	}
	return g.ExpandTo(v, s)
}

// keepReduced gives a reduction's output gradient the reduced axes back as
// size 1.
func (g *Graph) keepReduced(dy *Value, n *Node) *Value {
	if n.Attrs.KeepDims {
		return dy
	}
	axes := append([]int64(nil), n.Attrs.Axes...)
	sort.Slice(axes, func(i, j int) bool { return axes[i] < axes[j] })
	return g.Unsqueeze(dy, axes...)
}

// swapLast transposes the last two axes.
func (g *Graph) swapLast(v *Value) *Value {
	r := v.Rank()
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[r-2], perm[r-1] = perm[r-1], perm[r-2]
	return g.Transpose(v, perm...)
}

func gradMatMul(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
	out := make([]*Value, 2)
	if need[0] {
		out[0] = g.sumTo(g.MatMul(dy, g.swapLast(b)), a.Shape)
	}
	if need[1] {
		if w := b.node; b.Rank() == 2 && w != nil && w.Op == "Transpose" && slices.Equal(w.Attrs.Perm, []int64{1, 0}) && a.Rank() >= 2 {
			// A Linear with its weight W [N,K] read as b = Wᵀ: W's gradient
			// dyᵀ[N, B·L]·a[B·L, K] comes out in W's layout, and the
			// Transpose rule then passes it through (no transposition of
			// the weight-sized result).
			k, m := a.Shape[a.Rank()-1], dy.Shape[dy.Rank()-1]
			if !k.IsKnown() || !m.IsKnown() {
				g.Failf("MatMul gradient: symbolic inner sizes %v, %v", k, m)
				return out
			}
			a2, d2 := a, dy
			if a.Rank() > 2 {
				a2, d2 = g.Reshape(a, -1, k.Coef), g.Reshape(dy, -1, m.Coef)
			}
			out[1] = g.Transpose(g.MatMul(g.Transpose(d2, 1, 0), a2), 1, 0)
		} else if b.Rank() == 2 && a.Rank() > 2 {
			// Weight of a Linear: fold the batch axes into one GEMM,
			// aᵀ[K, B·L]·dy[B·L, N].
			k, m := a.Shape[a.Rank()-1], dy.Shape[dy.Rank()-1]
			a2 := g.Reshape(a, -1, k.Coef)
			d2 := g.Reshape(dy, -1, m.Coef)
			if !k.IsKnown() || !m.IsKnown() {
				g.Failf("MatMul gradient: symbolic inner sizes %v, %v", k, m)
				return out
			}
			out[1] = g.MatMul(g.Transpose(a2, 1, 0), d2)
		} else {
			out[1] = g.sumTo(g.MatMul(g.swapLast(a), dy), b.Shape)
		}
	}
	return out
}

// gradReshapeLike reshapes the gradient back to the operand's shape, with
// static sizes when they can be written (0 copies, one -1), else at run
// time.
func gradReshapeLike(g *Graph, n *Node, dys []*Value, _ []bool) []*Value {
	x, dy := n.Inputs[0], dys[0]
	ints := make([]int64, x.Rank())
	infer := -1
	ok := true
	for i, d := range x.Shape {
		switch {
		case d.IsKnown():
			ints[i] = d.Coef
		case i < dy.Rank() && dy.Shape[i].Equal(d):
			ints[i] = 0
		case infer < 0:
			ints[i], infer = -1, i
		default:
			ok = false
		}
	}
	if ok {
		return []*Value{g.Reshape(dy, ints...)}
	}
	return []*Value{g.ReshapeTo(dy, x.Shape)}
}

// gradLayerNorm is the closed form from x, the scale and the node's saved
// statistics (its optional Mean and InvStdDev outputs):
// x̂ = (x − μ)·r, ĝ = dy·scale, dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),
// dscale = Σ dy·x̂, dbias = Σ dy over the leading axes.
func gradLayerNorm(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x, scale := n.Inputs[0], n.Inputs[1]
	dy := dys[0]
	if len(dys) > 1 && (dys[1] != nil || (len(dys) > 2 && dys[2] != nil)) {
		g.Failf("LayerNormalization: gradients through Mean/InvStdDev are not supported")
		return nil
	}
	ax := n.Attrs.Axis
	if len(n.Outputs) == 1 {
		st := append(Shape{}, x.Shape[:ax]...)
		for range x.Shape[ax:] {
			st = append(st, Known(1))
		}
		g.addOutput(n, x.DType, st) // Mean
		g.addOutput(n, x.DType, st) // InvStdDev
	}
	mean, rstd := n.Outputs[1], n.Outputs[2]
	axes := make([]int64, 0, x.Rank()-ax)
	for i := ax; i < x.Rank(); i++ {
		axes = append(axes, int64(i))
	}
	xhat := g.Mul(g.Sub(x, mean), rstd)
	out := make([]*Value, 3)
	if need[0] {
		gh := g.Mul(dy, scale)
		m1 := g.ReduceMean(gh, true, axes...)
		m2 := g.ReduceMean(g.Mul(gh, xhat), true, axes...)
		out[0] = g.Mul(rstd, g.Sub(g.Sub(gh, m1), g.Mul(xhat, m2)))
	}
	if need[1] {
		out[1] = g.sumTo(g.Mul(dy, xhat), scale.Shape)
	}
	if need[2] {
		out[2] = g.sumTo(dy, n.Inputs[2].Shape)
	}
	return out
}

// gradGather scatters the gradient back into zeros shaped like the data
// (the embedding gradient); rows whose index is SkipIndex get nothing
// (nn.Embedding's padding_idx).
func gradGather(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	data, idx, dy := n.Inputs[0], n.Inputs[1], dys[0]
	if !need[0] {
		return nil
	}
	ax := n.Attrs.Axis
	ri := idx.Rank()
	if n.Attrs.HasSkip {
		kd := g.Where(g.Equal(idx, g.ScalarInt(n.Attrs.SkipIndex)), g.ScalarOf(data.DType, 0), g.ScalarOf(data.DType, 1))
		for i := 0; i < data.Rank()-1-ax; i++ {
			kd = g.Unsqueeze(kd, int64(kd.Rank()))
		}
		for i := 0; i < ax; i++ {
			kd = g.Unsqueeze(kd, 0)
		}
		dy = g.Mul(dy, kd)
	}
	// Move the gathered axis (data) and the index axes (dy) to the front.
	dperm := []int64{int64(ax)}
	for i := 0; i < data.Rank(); i++ {
		if i != ax {
			dperm = append(dperm, int64(i))
		}
	}
	var yperm []int64
	for i := 0; i < ri; i++ {
		yperm = append(yperm, int64(ax+i))
	}
	for i := 0; i < dy.Rank(); i++ {
		if i < ax || i >= ax+ri {
			yperm = append(yperm, int64(i))
		}
	}
	dshape := make(Shape, len(dperm))
	for i, p := range dperm {
		dshape[i] = data.Shape[p]
	}
	dyp := dy
	if ax != 0 {
		dyp = g.Transpose(dy, yperm...)
	}
	var ind *Value
	if ri == 0 {
		ind = g.Unsqueeze(idx, 0)
	} else {
		ind = g.Unsqueeze(idx, int64(ri))
	}
	s := g.ScatterAddND(g.ZerosOf(data.DType, dshape), ind, dyp)
	if ax != 0 {
		inv := make([]int64, len(dperm))
		for i, p := range dperm {
			inv[p] = int64(i)
		}
		s = g.Transpose(s, inv...)
	}
	return []*Value{s, nil}
}

func gradGatherElements(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	data, idx := n.Inputs[0], n.Inputs[1]
	if !need[0] {
		return nil
	}
	z := g.ZerosOf(data.DType, data.Shape)
	return []*Value{g.ScatterAddElements(z, idx, dys[0], n.Attrs.Axis), nil}
}

// GatherSkip is Gather whose gradient leaves the rows of index skip at
// zero (nn.Embedding(padding_idx=skip)); forward it is plain Gather.
func (g *Graph) GatherSkip(data, indices *Value, axis int, skip int64) *Value {
	return g.add("Gather", Attrs{Axis: axis, SkipIndex: skip, HasSkip: true}, data, indices)
}

// InputToInitializer turns graph input v into an initializer holding t
// (a parameter that turned out to need no gradient stays a constant).
func (g *Graph) InputToInitializer(v *Value, t *Tensor) error {
	if !v.input || v.g != g {
		return fmt.Errorf("%s is not an input of this graph", v.name)
	}
	if err := t.check(); err != nil {
		return fmt.Errorf("initializer %q: %v", v.name, err)
	}
	if !KnownShape(t.Dims...).Equal(v.Shape) || t.DType != v.DType {
		return fmt.Errorf("initializer %q: tensor %v%v does not match the input %v%v", v.name, t.DType, t.Dims, v.DType, v.Shape)
	}
	for i, in := range g.inputs {
		if in == v {
			g.inputs = append(g.inputs[:i], g.inputs[i+1:]...)
			break
		}
	}
	v.input = false
	v.init = t
	g.inits = append(g.inits, v)
	return nil
}
