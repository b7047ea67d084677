// Package graph is kadapter's small typed graph IR: values with an element
// type and a symbolic shape, nodes drawn from a fixed op set whose every op
// has a written definition and a shape rule (ops.go), and a lowering to an
// ONNX ModelProto (onnx.go). Building a graph never touches data: shapes
// are checked as nodes are added, so a wiring mistake fails at export time
// with the node's name, not inside ONNX Runtime.
//
// A Graph records its first error and keeps accepting calls (later ops
// return placeholder values), so model code reads like straight-line maths
// and checks g.Err() once at the end.
package graph

import (
	"fmt"
	"strings"
)

// Tensor is constant data for an initializer: row-major, one of Float32,
// Float64 or Int64 filled according to DType.
type Tensor struct {
	// DType is Float32, Float64 or Int64.
	DType DType
	// Dims is the shape.
	Dims []int64
	// Float32 holds the data when DType is Float32.
	Float32 []float32
	// Float64 holds the data when DType is Float64.
	Float64 []float64
	// Int64 holds the data when DType is Int64.
	Int64 []int64
}

// NumElements is the product of Dims.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

func (t *Tensor) check() error {
	n := t.NumElements()
	switch t.DType {
	case Float32:
		if int64(len(t.Float32)) != n {
			return fmt.Errorf("float32 tensor of shape %v holds %d values, want %d", t.Dims, len(t.Float32), n)
		}
	case Float64:
		if int64(len(t.Float64)) != n {
			return fmt.Errorf("float64 tensor of shape %v holds %d values, want %d", t.Dims, len(t.Float64), n)
		}
	case Int64:
		if int64(len(t.Int64)) != n {
			return fmt.Errorf("int64 tensor of shape %v holds %d values, want %d", t.Dims, len(t.Int64), n)
		}
	default:
		return fmt.Errorf("initializers of type %v are not supported", t.DType)
	}
	return nil
}

// Value is an edge of the graph: a graph input, an initializer or one
// output of a node.
type Value struct {
	// DType is the element type.
	DType DType
	// Shape is the inferred (possibly symbolic) shape.
	Shape Shape

	g      *Graph
	name   string // ONNX name; outputs are renamed at lowering
	node   *Node  // producer, nil for inputs and initializers
	init   *Tensor
	input  bool
	serial int
	comp   *composite // closed-form gradient of a composite op producing v
}

// Name is the value's name in the graph.
func (v *Value) Name() string { return v.name }

// Rank is the number of dimensions.
func (v *Value) Rank() int { return len(v.Shape) }

// Node is one application of an op.
type Node struct {
	// Op is the op's name (an ONNX operator type).
	Op string
	// Name is unique in the graph: scope path, op and a serial number.
	Name string
	// Inputs are the operands in the op's order.
	Inputs []*Value
	// Outputs are the results.
	Outputs []*Value
	// Attrs are the op's static parameters.
	Attrs Attrs
}

// Attrs are a node's static parameters. Only the fields an op's definition
// names are meaningful.
type Attrs struct {
	// Axis is the axis of Softmax, Concat, Gather, GatherElements,
	// LayerNormalization, CumSum and Flatten.
	Axis int
	// Axes are the axes of ReduceMean, Unsqueeze and Squeeze.
	Axes []int64
	// Perm is Transpose's permutation.
	Perm []int64
	// Ints is Reshape's and Expand's target shape.
	Ints []int64
	// KeepDims is ReduceMean's keepdims flag.
	KeepDims bool
	// Epsilon is LayerNormalization's epsilon.
	Epsilon float32
	// To is Cast's target type.
	To DType
	// Target is the static (symbolic) result shape of ExpandTo and
	// ReshapeTo, whose run-time shape comes from their second operand.
	Target Shape
	// Sizes are Split's part sizes along Axis.
	Sizes []int64
	// Reverse makes CumSum run from the end.
	Reverse bool
	// SkipIndex, when HasSkip is set, is an index of Gather whose rows get
	// no gradient (nn.Embedding's padding_idx); it changes nothing forward.
	SkipIndex int64
	// HasSkip enables SkipIndex.
	HasSkip bool
}

// Graph is a computation under construction.
type Graph struct {
	// Name is the ONNX graph name.
	Name string

	nodes  []*Node
	inputs []*Value
	inits  []*Value
	// released: ReleaseInitializers dropped initializer data.
	released bool
	outputs  []output
	named    map[string]*Value // names handed out (inputs, initializers, node outputs)
	exposed  map[string]*Value // intermediates registered with Expose
	expOrd   []string
	scope    []string
	serial   int
	err      error
	dims     map[string]*Value // run-time sizes of symbols (see dimValue)
}

type output struct {
	name string
	v    *Value
}

// New returns an empty graph.
func New(name string) *Graph {
	return &Graph{Name: name, named: map[string]*Value{}, exposed: map[string]*Value{}}
}

// Err returns the first error met while building, or nil.
func (g *Graph) Err() error { return g.err }

// Fail records err (wrapped with the current scope) unless an error is
// already recorded; model builders use it for their own checks.
func (g *Graph) Fail(err error) {
	if g.err == nil && err != nil {
		if s := strings.Join(g.scope, "/"); s != "" {
			err = fmt.Errorf("%s: %w", s, err)
		}
		g.err = err
	}
}

// Failf is Fail with a formatted message.
func (g *Graph) Failf(format string, args ...any) { g.Fail(fmt.Errorf(format, args...)) }

// Push enters a naming scope ("roberta", "layer.3"); node names are the
// scope path joined by '/'. Pop leaves it.
func (g *Graph) Push(name string) { g.scope = append(g.scope, name) }

// Pop leaves the innermost scope.
func (g *Graph) Pop() { g.scope = g.scope[:len(g.scope)-1] }

// Within runs f with the scope path set to exactly name (not nested in
// the current one), so node names read like checkpoint keys.
func (g *Graph) Within(name string, f func()) {
	saved := g.scope
	g.scope = []string{name}
	defer func() { g.scope = saved }()
	f()
}

// Scope runs f inside the named scope.
func (g *Graph) Scope(name string, f func()) {
	g.Push(name)
	defer g.Pop()
	f()
}

func (g *Graph) newValue(name string, dt DType, s Shape) *Value {
	g.serial++
	v := &Value{g: g, name: name, DType: dt, Shape: s, serial: g.serial}
	g.named[name] = v
	return v
}

func (g *Graph) placeholder() *Value {
	return &Value{g: g, name: "<invalid>", DType: Float32}
}

// Input declares a graph input.
func (g *Graph) Input(name string, dt DType, dims ...Dim) *Value {
	if _, dup := g.named[name]; dup {
		g.Failf("input %q: name already used", name)
		return g.placeholder()
	}
	v := g.newValue(name, dt, Shape(dims))
	v.input = true
	g.inputs = append(g.inputs, v)
	return v
}

// Initializer adds constant data under name (a checkpoint key, say). The
// tensor is referenced, not copied.
func (g *Graph) Initializer(name string, t *Tensor) *Value {
	if old, dup := g.named[name]; dup {
		if old.init == t {
			return old
		}
		g.Failf("initializer %q: name already used", name)
		return g.placeholder()
	}
	if err := t.check(); err != nil {
		g.Failf("initializer %q: %v", name, err)
		return g.placeholder()
	}
	v := g.newValue(name, t.DType, KnownShape(t.Dims...))
	v.init = t
	g.inits = append(g.inits, v)
	return v
}

// ReleaseInitializers drops the graph's references to the data of its
// initializers of 1024 elements or more (their types and shapes stay),
// so that the memory can be freed once the model has been written; Model
// fails afterwards.
func (g *Graph) ReleaseInitializers() {
	for _, v := range g.inits {
		if t := v.init; t != nil && t.NumElements() >= 1024 {
			v.init = &Tensor{DType: t.DType, Dims: t.Dims}
			g.released = true
		}
	}
}

// Scalar adds a float32 scalar constant named after the current scope.
func (g *Graph) Scalar(x float32) *Value {
	return g.constant(&Tensor{DType: Float32, Float32: []float32{x}})
}

// ScalarOf adds a scalar constant of float type dt (Float32 or Float64).
func (g *Graph) ScalarOf(dt DType, x float64) *Value {
	if dt == Float64 {
		return g.constant(&Tensor{DType: Float64, Float64: []float64{x}})
	}
	return g.Scalar(float32(x))
}

// ScalarInt adds an int64 scalar constant.
func (g *Graph) ScalarInt(x int64) *Value {
	return g.constant(&Tensor{DType: Int64, Int64: []int64{x}})
}

// ConstInts adds a 1-D int64 constant.
func (g *Graph) ConstInts(xs ...int64) *Value {
	return g.constant(&Tensor{DType: Int64, Dims: []int64{int64(len(xs))}, Int64: append([]int64(nil), xs...)})
}

func (g *Graph) constant(t *Tensor) *Value {
	return g.Initializer(g.uniqueName("const"), t)
}

func (g *Graph) uniqueName(base string) string {
	prefix := strings.Join(g.scope, "/")
	if prefix != "" {
		prefix = "/" + prefix + "/"
	} else {
		prefix = "/"
	}
	for i := len(g.nodes); ; i++ {
		n := fmt.Sprintf("%s%s_%d", prefix, base, i)
		if _, used := g.named[n]; !used {
			return n
		}
	}
}

// Output makes v a graph output called name. Outputs keep the order of the
// calls.
func (g *Graph) Output(name string, v *Value) {
	for _, o := range g.outputs {
		if o.name == name {
			g.Failf("output %q declared twice", name)
			return
		}
	}
	if v.g != g {
		g.Failf("output %q: value from another graph", name)
		return
	}
	g.outputs = append(g.outputs, output{name, v})
}

// Expose registers v as an intermediate that can later be made an output
// with Output(name, g.Exposed(name)) — see ExposeOutputs.
func (g *Graph) Expose(name string, v *Value) {
	if _, dup := g.exposed[name]; dup {
		g.Failf("intermediate %q registered twice", name)
		return
	}
	g.exposed[name] = v
	g.expOrd = append(g.expOrd, name)
}

// Exposable lists the names registered with Expose, in registration order.
func (g *Graph) Exposable() []string { return append([]string(nil), g.expOrd...) }

// ExposeOutputs adds each named intermediate as a graph output, failing
// with the list of available names for an unknown one.
func (g *Graph) ExposeOutputs(names []string) error {
	for _, n := range names {
		v, ok := g.exposed[n]
		if !ok {
			return fmt.Errorf("no intermediate called %q; available: %s", n, strings.Join(g.expOrd, ", "))
		}
		g.Output(n, v)
	}
	return g.err
}

// Inputs returns the declared graph inputs in order.
func (g *Graph) Inputs() []*Value { return append([]*Value(nil), g.inputs...) }

// Outputs returns the output names in order.
func (g *Graph) Outputs() []string {
	out := make([]string, len(g.outputs))
	for i, o := range g.outputs {
		out[i] = o.name
	}
	return out
}

// OutputValue returns the value behind an output name, or nil.
func (g *Graph) OutputValue(name string) *Value {
	for _, o := range g.outputs {
		if o.name == name {
			return o.v
		}
	}
	return nil
}

// Nodes returns the nodes in creation (topological) order.
func (g *Graph) Nodes() []*Node { return append([]*Node(nil), g.nodes...) }

// add appends a node for op after checking its operands and inferring its
// outputs with the op's shape rule.
func (g *Graph) add(op string, attrs Attrs, inputs ...*Value) *Value {
	if g.err != nil {
		return g.placeholder()
	}
	def, ok := ops[op]
	if !ok {
		g.Failf("unknown op %q", op)
		return g.placeholder()
	}
	for i, in := range inputs {
		if in == nil || in.g != g {
			g.Failf("%s: operand %d is not a value of this graph", op, i)
			return g.placeholder()
		}
	}
	if def.arity >= 0 && len(inputs) != def.arity {
		g.Failf("%s takes %d operands, got %d", op, def.arity, len(inputs))
		return g.placeholder()
	}
	dt, shape, err := def.infer(inputs, &attrs)
	if err != nil {
		in := make([]string, len(inputs))
		for i, v := range inputs {
			in[i] = v.DType.String() + v.Shape.String()
		}
		g.Fail(fmt.Errorf("%s(%s): %w", op, strings.Join(in, ", "), err))
		return g.placeholder()
	}
	name := g.uniqueName(op)
	n := &Node{Op: op, Name: name, Inputs: inputs, Attrs: attrs}
	out := g.newValue(name+"_output_0", dt, shape)
	out.node = n
	n.Outputs = []*Value{out}
	g.nodes = append(g.nodes, n)
	return out
}

// addOutput gives node n one more output of type dt and shape s (for the
// optional outputs of LayerNormalization and the parts of Split).
func (g *Graph) addOutput(n *Node, dt DType, s Shape) *Value {
	v := g.newValue(fmt.Sprintf("%s_output_%d", n.Name, len(n.Outputs)), dt, s)
	v.node = n
	n.Outputs = append(n.Outputs, v)
	return v
}
