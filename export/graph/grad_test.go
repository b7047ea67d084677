package graph

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/runtime"
)

// gradCase builds y from the inputs it declares; the test differentiates
// loss = Σ y·w (w fixed random weights, so every output element matters)
// with respect to every float input and compares with central finite
// differences of the same loss run through ONNX Runtime.
type gradCase struct {
	name string
	// dt is the element type (Float64 unless ONNX Runtime's CPU kernel
	// exists for float32 only).
	dt DType
	// inputs: name → concrete shape; symbolic dims are declared by build.
	build func(g *Graph, in func(name string, dims ...Dim) *Value) *Value
	// shapes gives the run-time shape of each input.
	shapes map[string][]int64
	// ints fills int64 inputs.
	ints map[string][]int64
	// positive draws float inputs from (0.5, 1.5) (Log, Sqrt, Div).
	positive bool
	// h and tol override the finite-difference step and tolerance.
	h, tol float64
	// zero lists elements whose gradient the rule sets to exactly zero on
	// purpose (nn.Embedding's padding_idx row), by input name.
	zero map[string][]int
}

func gradCases() []gradCase {
	b := Sym("batch")
	K := func(n int64) Dim { return Known(n) }
	return []gradCase{
		{name: "Add broadcast", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Add(in("x", b, K(3), K(4)), in("y", K(4)))
		}, shapes: map[string][]int64{"x": {2, 3, 4}, "y": {4}}},
		{name: "Sub broadcast", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Sub(in("x", b, K(1), K(4)), in("y", K(3), K(1)))
		}, shapes: map[string][]int64{"x": {2, 1, 4}, "y": {3, 1}}},
		{name: "Mul broadcast", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Mul(in("x", b, K(3)), in("y", K(1), K(3)))
		}, shapes: map[string][]int64{"x": {2, 3}, "y": {1, 3}}},
		{name: "Div", positive: true, build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Div(in("x", b, K(3)), in("y", K(3)))
		}, shapes: map[string][]int64{"x": {2, 3}, "y": {3}}},
		{name: "Sqrt", positive: true, build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Sqrt(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Erf", dt: Float32, build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Erf(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Tanh", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Tanh(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Exp", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Exp(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Log", positive: true, build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Log(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Neg", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Neg(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Sigmoid", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Sigmoid(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Relu", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Relu(in("x", b, K(5))) },
			shapes: map[string][]int64{"x": {2, 5}}},
		{name: "Min", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Min(in("x", b, K(4)), in("y", K(4)))
		}, shapes: map[string][]int64{"x": {3, 4}, "y": {4}}},
		{name: "Identity", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Identity(in("x", b, K(3))) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "MatMul 3d·2d (Linear)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.MatMul(in("x", b, K(3), K(4)), in("w", K(4), K(5)))
		}, shapes: map[string][]int64{"x": {2, 3, 4}, "w": {4, 5}}},
		{name: "MatMul 3d·Wᵀ (Linear with an input weight)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.MatMul(in("x", b, K(3), K(4)), g.Transpose(in("w", K(5), K(4)), 1, 0))
		}, shapes: map[string][]int64{"x": {2, 3, 4}, "w": {5, 4}}},
		{name: "MatMul 2d·Wᵀ", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.MatMul(in("x", K(3), K(4)), g.Transpose(in("w", K(5), K(4)), 1, 0))
		}, shapes: map[string][]int64{"x": {3, 4}, "w": {5, 4}}},
		{name: "Transpose of a transposed gradient, used twice", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			wt := g.Transpose(in("w", K(5), K(4)), 1, 0)
			return g.Add(g.MatMul(in("x", b, K(3), K(4)), wt), g.MatMul(in("z", b, K(3), K(4)), wt))
		}, shapes: map[string][]int64{"x": {2, 3, 4}, "z": {2, 3, 4}, "w": {5, 4}}},
		{name: "MatMul batched 4d", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.MatMul(in("q", b, K(2), K(3), K(4)), in("k", b, K(2), K(4), K(3)))
		}, shapes: map[string][]int64{"q": {2, 2, 3, 4}, "k": {2, 2, 4, 3}}},
		{name: "MatMul broadcast batch", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.MatMul(in("x", b, K(3), K(4)), in("w", K(1), K(4), K(2)))
		}, shapes: map[string][]int64{"x": {2, 3, 4}, "w": {1, 4, 2}}},
		{name: "Softmax", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Softmax(in("x", b, K(2), K(5)), -1) },
			shapes: map[string][]int64{"x": {2, 2, 5}}},
		{name: "LogSoftmax", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.LogSoftmax(in("x", b, K(5)), 1) },
			shapes: map[string][]int64{"x": {3, 5}}},
		{name: "ReduceMean over batch (run-time count)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.ReduceMean(in("x", b, K(3)), false, 0)
		}, shapes: map[string][]int64{"x": {4, 3}}},
		{name: "ReduceMean keepdims", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.ReduceMean(in("x", b, K(3), K(4)), true, 1, 2)
		}, shapes: map[string][]int64{"x": {2, 3, 4}}},
		{name: "ReduceSum", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.ReduceSum(in("x", b, K(3), K(4)), false, 0, 2)
		}, shapes: map[string][]int64{"x": {2, 3, 4}}},
		{name: "LayerNormalization", dt: Float32, build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.LayerNorm(in("x", b, K(3), K(6)), in("s", K(6)), in("c", K(6)), 1e-5)
		}, shapes: map[string][]int64{"x": {2, 3, 6}, "s": {6}, "c": {6}}},
		{name: "Reshape", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Reshape(in("x", b, K(3), K(4)), 0, 0, 2, 2)
		}, shapes: map[string][]int64{"x": {2, 3, 4}}},
		{name: "Reshape -1", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Reshape(in("x", Known(4).Mul(b), K(1)), -1, 4)
		}, shapes: map[string][]int64{"x": {8, 1}}},
		{name: "ReshapeTo", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			x := in("x", b, K(6))
			return g.ReshapeTo(x, Shape{b, K(2), K(3)})
		}, shapes: map[string][]int64{"x": {2, 6}}},
		{name: "Flatten", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Flatten(in("x", b, K(3), K(2)), 1) },
			shapes: map[string][]int64{"x": {2, 3, 2}}},
		{name: "Unsqueeze", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Unsqueeze(in("x", b, K(3)), 1, 3) },
			shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Squeeze", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Squeeze(in("x", b, K(1), K(3)), 1) },
			shapes: map[string][]int64{"x": {2, 1, 3}}},
		{name: "Transpose", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Transpose(in("x", b, K(3), K(4)), 2, 0, 1)
		}, shapes: map[string][]int64{"x": {2, 3, 4}}},
		{name: "Concat", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Concat(-1, in("x", b, K(2)), in("y", b, K(3)))
		}, shapes: map[string][]int64{"x": {2, 2}, "y": {2, 3}}},
		{name: "Split", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			p := g.Split(in("x", b, K(5)), 1, 2, 3)
			return g.Concat(1, g.Mul(p[1], p[1]), p[0])
		}, shapes: map[string][]int64{"x": {2, 5}}},
		{name: "Gather embedding rows (index 0 skipped)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.GatherSkip(in("w", K(5), K(3)), in("ids", b, K(4)), 0, 0)
		}, shapes: map[string][]int64{"w": {5, 3}, "ids": {2, 4}}, ints: map[string][]int64{"ids": {0, 1, 1, 4, 3, 0, 2, 1}},
			zero: map[string][]int{"w": {0, 1, 2}}},
		{name: "Gather axis 1 scalar", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Gather(in("x", b, K(4), K(3)), g.ScalarInt(2), 1)
		}, shapes: map[string][]int64{"x": {2, 4, 3}}},
		{name: "Gather axis 1 vector", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Gather(in("x", b, K(4), K(3)), g.ConstInts(3, 0, 3), 1)
		}, shapes: map[string][]int64{"x": {2, 4, 3}}},
		{name: "GatherElements", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.GatherElements(in("x", b, K(4), K(3)), in("i", b, K(2), K(3)), 1)
		}, shapes: map[string][]int64{"x": {2, 4, 3}, "i": {2, 2, 3}}, ints: map[string][]int64{"i": {0, 3, 1, 3, 3, 2, 1, 1, 0, 2, 0, 2}}},
		{name: "ScatterElements", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.ScatterAddElements(in("x", b, K(4)), in("i", b, K(2)), in("u", b, K(2)), 1)
		}, shapes: map[string][]int64{"x": {2, 4}, "i": {2, 2}, "u": {2, 2}}, ints: map[string][]int64{"i": {1, 1, 3, 0}}},
		{name: "ScatterND (data)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.ScatterAddND(in("x", K(4), K(3)), g.constant(&Tensor{DType: Int64, Dims: []int64{2, 1}, Int64: []int64{1, 1}}), g.ZerosOf(Float64, KnownShape(2, 3)))
		}, shapes: map[string][]int64{"x": {4, 3}}},
		{name: "Expand", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.Expand(in("x", b, K(1)), 1, 4) },
			shapes: map[string][]int64{"x": {2, 1}}},
		{name: "ExpandTo", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			x := in("x", b, K(3))
			return g.Mul(g.ExpandTo(in("y", K(3)), Shape{b, K(3)}), x)
		}, shapes: map[string][]int64{"x": {2, 3}, "y": {3}}},
		{name: "Cast float64→float32→float64", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			return g.Cast(g.Mul(g.Cast(in("x", b, K(3)), Float32), g.Scalar(3)), Float64)
		}, shapes: map[string][]int64{"x": {2, 3}}, h: 1e-2, tol: 2e-5},
		{name: "CumSum", build: func(g *Graph, in func(string, ...Dim) *Value) *Value { return g.CumSum(in("x", b, K(4)), 1) },
			shapes: map[string][]int64{"x": {2, 4}}},
		{name: "Where", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			x := in("x", b, K(4))
			return g.Where(g.Greater(x, g.ScalarOf(Float64, 0)), g.Mul(x, x), in("y", K(4)))
		}, shapes: map[string][]int64{"x": {2, 4}, "y": {4}}},
		{name: "Equal, Shape: integer paths carry no gradient", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			x := in("x", b, K(3))
			m := g.Cast(g.Equal(g.Cast(g.Greater(x, g.ScalarOf(Float64, 0)), Int64), g.ScalarInt(1)), Float64)
			n := g.Cast(g.Gather(g.ShapeOf(x), g.ScalarInt(0), 0), Float64)
			return g.Mul(g.Mul(x, m), n)
		}, shapes: map[string][]int64{"x": {2, 3}}},
		{name: "Composite GELU (closed form)", build: func(g *Graph, in func(string, ...Dim) *Value) *Value {
			x := in("x", b, K(5))
			c := func(v float64) *Value { return g.ScalarOf(x.DType, v) }
			e := g.Erf(g.Div(x, c(math.Sqrt2)))
			y := g.Mul(g.Mul(x, c(0.5)), g.Add(c(1), e))
			g.Composite(y, []*Value{x}, func(dy *Value) []*Value {
				cdf := g.Mul(c(0.5), g.Add(c(1), g.Erf(g.Div(x, c(math.Sqrt2)))))
				pdf := g.Mul(g.Exp(g.Mul(g.Mul(x, x), c(-0.5))), c(1/math.Sqrt(2*math.Pi)))
				return []*Value{g.Mul(dy, g.Add(cdf, g.Mul(x, pdf)))}
			})
			return y
		}, dt: Float32, shapes: map[string][]int64{"x": {2, 5}}},
	}
}

// TestGradientsFiniteDifferences checks every op's gradient rule against
// central finite differences, through ONNX Runtime, at graph optimization
// disable and all.
func TestGradientsFiniteDifferences(t *testing.T) {
	if err := runtime.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	covered := map[string]bool{}
	for _, c := range gradCases() {
		c := c
		if c.dt == 0 {
			c.dt = Float64
		}
		for _, lvl := range []runtime.OptLevel{runtime.OptDisable, runtime.OptAll} {
			t.Run(fmt.Sprintf("%s/%s", c.name, lvl), func(t *testing.T) {
				ops := checkGradCase(t, c, lvl)
				for _, op := range ops {
					covered[op] = true
				}
			})
		}
	}
	for _, op := range OpNames() {
		if !covered[op] {
			t.Errorf("op %s is not exercised by any gradient case", op)
		}
	}
}

func checkGradCase(t *testing.T, c gradCase, lvl runtime.OptLevel) []string {
	g := New("grad_case")
	var floats []*Value
	y := c.build(g, func(name string, dims ...Dim) *Value {
		dt := c.dt
		if _, isInt := c.ints[name]; isInt {
			dt = Int64
		}
		v := g.Input(name, dt, dims...)
		if dt != Int64 {
			floats = append(floats, v)
		}
		return v
	})
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(int64(len(c.name))))
	// Fixed weights over y's run-time shape: y is [batch,...] with batch = the
	// first symbolic input's leading dim; weights come in as an input.
	w := g.Input("loss_weights", y.DType, y.Shape...)
	loss := g.ReduceSum(g.Mul(y, w), false, allAxes(y.Rank())...)
	if y.Rank() == 0 {
		loss = g.Mul(y, w)
	}
	grads, err := g.Gradients(loss, floats, GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.Output("loss", g.Unsqueeze(loss, 0)) // onnxruntime_go has no rank-0 tensors
	for i, v := range floats {
		if grads[i] == nil {
			t.Fatalf("no gradient for %s", v.Name())
		}
		g.Output("grad_"+v.Name(), grads[i])
	}
	var ops []string
	for _, n := range g.Nodes() {
		ops = append(ops, n.Op)
	}
	m, err := g.Model(ModelInfo{ProducerName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.onnx")
	if _, err := Save(path, m, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	sess, err := runtime.Open(path, runtime.Options{Optimization: lvl, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	// Concrete inputs. The batch size comes from the shapes map; the loss
	// weights need y's concrete shape, found by a first run with ones.
	feeds := map[string]runtime.Tensor{}
	vals := map[string][]float64{}
	for _, in := range g.Inputs() {
		if in.Name() == "loss_weights" {
			continue
		}
		shape := c.shapes[in.Name()]
		n := 1
		for _, d := range shape {
			n *= int(d)
		}
		if in.DType == Int64 {
			feeds[in.Name()] = runtime.Tensor{Shape: shape, Data: c.ints[in.Name()]}
			continue
		}
		v := make([]float64, n)
		for i := range v {
			if c.positive {
				v[i] = 0.5 + rng.Float64()
			} else {
				v[i] = 2*rng.Float64() - 1
			}
		}
		vals[in.Name()] = v
	}
	ys := concreteShape(y.Shape, c, g)
	nw := 1
	for _, d := range ys {
		nw *= int(d)
	}
	wv := make([]float64, nw)
	for i := range wv {
		wv[i] = 2*rng.Float64() - 1
	}
	vals["loss_weights"] = wv
	shapes := map[string][]int64{"loss_weights": ys}
	for k, v := range c.shapes {
		shapes[k] = v
	}
	run := func() map[string]runtime.Tensor {
		for name, v := range vals {
			feeds[name] = floatTensor(c.dt, shapes[name], v)
		}
		out, err := sess.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := run()
	h, tol := 1e-6, 1e-7
	if c.dt == Float32 {
		h, tol = 1e-2, 3e-3
	}
	if c.h > 0 {
		h, tol = c.h, c.tol
	}
	for _, v := range floats {
		got := toFloat64(out["grad_"+v.Name()].Data)
		x := vals[v.Name()]
		zero := map[int]bool{}
		for _, i := range c.zero[v.Name()] {
			zero[i] = true
			if got[i] != 0 {
				t.Errorf("d loss/d %s[%d] = %g, want exactly 0", v.Name(), i, got[i])
			}
		}
		for i := range x {
			if zero[i] {
				continue
			}
			orig := x[i]
			x[i] = orig + h
			lp := toFloat64(run()["loss"].Data)[0]
			x[i] = orig - h
			lm := toFloat64(run()["loss"].Data)[0]
			x[i] = orig
			fd := (lp - lm) / (2 * h)
			if d := math.Abs(fd - got[i]); d > tol*math.Max(1, math.Abs(fd)) {
				t.Errorf("d loss/d %s[%d]: rule %.9g, finite difference %.9g (diff %.2g)", v.Name(), i, got[i], fd, d)
			}
		}
	}
	return ops
}

func allAxes(r int) []int64 {
	a := make([]int64, r)
	for i := range a {
		a[i] = int64(i)
	}
	return a
}

// concreteShape evaluates a symbolic shape with batch taken from the first
// input whose leading dim is the symbol.
func concreteShape(s Shape, c gradCase, g *Graph) []int64 {
	sym := map[string]int64{}
	for _, in := range g.Inputs() {
		cs, ok := c.shapes[in.Name()]
		if !ok {
			continue
		}
		for i, d := range in.Shape {
			if len(d.Syms) == 1 {
				sym[d.Syms[0]] = cs[i] / d.Coef
			}
		}
	}
	out := make([]int64, len(s))
	for i, d := range s {
		n := d.Coef
		for _, x := range d.Syms {
			n *= sym[x]
		}
		out[i] = n
	}
	return out
}

func floatTensor(dt DType, shape []int64, v []float64) runtime.Tensor {
	if dt == Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return runtime.Tensor{Shape: shape, Data: f}
	}
	return runtime.Tensor{Shape: shape, Data: append([]float64(nil), v...)}
}

func toFloat64(d any) []float64 {
	switch v := d.(type) {
	case []float64:
		return v
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	return nil
}

// TestLinearWeightGradientNotTransposed: the gradient of a weight read as
// Transpose(W) comes out of a MatMul in W's layout, with no transposition
// of the weight-sized result.
func TestLinearWeightGradientNotTransposed(t *testing.T) {
	for _, rank := range []int{2, 3} {
		g := New("linear")
		dims := []Dim{Known(3), Known(4)}
		if rank == 3 {
			dims = append([]Dim{Sym("batch")}, dims...)
		}
		x := g.Input("x", Float32, dims...)
		w := g.Input("w", Float32, Known(5), Known(4))
		y := g.MatMul(x, g.Transpose(w, 1, 0))
		axes := make([]int64, y.Rank())
		for i := range axes {
			axes[i] = int64(i)
		}
		grads, err := g.Gradients(g.ReduceSum(y, false, axes...), []*Value{w}, GradOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := grads[0].node; n == nil || n.Op != "MatMul" {
			t.Fatalf("rank %d: the weight gradient comes from %v, want a MatMul in W's layout", rank, n)
		}
		if !grads[0].Shape.Equal(w.Shape) {
			t.Fatalf("rank %d: gradient shape %v, want %v", rank, grads[0].Shape, w.Shape)
		}
	}
}
