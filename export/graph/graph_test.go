package graph

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kadapter/kadapter/export/onnxpb"
)

var (
	batch = Sym("batch")
	seq   = Sym("seq")
)

func TestDimAlgebra(t *testing.T) {
	d := Known(4).Mul(batch)
	if d.String() != "4*batch" {
		t.Fatalf("4*batch printed as %s", d)
	}
	q, ok := d.Div(Known(4))
	if !ok || !q.Equal(batch) {
		t.Fatalf("4*batch/4 = %v %v", q, ok)
	}
	if _, ok := d.Div(seq); ok {
		t.Fatal("4*batch/seq should not divide")
	}
	if _, ok := Known(6).Div(Known(4)); ok {
		t.Fatal("6/4 should not divide")
	}
	bs := batch.Mul(seq)
	if bs.String() != "batch*seq" || !bs.Equal(seq.Mul(batch)) {
		t.Fatalf("batch*seq = %s", bs)
	}
}

// TestShapeRules runs every op's shape rule on representative operands.
func TestShapeRules(t *testing.T) {
	type build func(g *Graph) *Value
	f32 := func(g *Graph, name string, dims ...Dim) *Value { return g.Input(name, Float32, dims...) }
	i64 := func(g *Graph, name string, dims ...Dim) *Value { return g.Input(name, Int64, dims...) }
	H := Known(64)
	cases := []struct {
		name  string
		b     build
		want  string // shape, or error text prefixed with "error:"
		dtype DType
	}{
		{"broadcast add", func(g *Graph) *Value { return g.Add(f32(g, "x", batch, seq, H), f32(g, "b", H)) }, "[batch,seq,64]", Float32},
		{"broadcast mask", func(g *Graph) *Value {
			return g.Add(f32(g, "s", batch, Known(4), seq, seq), f32(g, "m", batch, Known(1), Known(1), seq))
		}, "[batch,4,seq,seq]", Float32},
		{"broadcast mismatch", func(g *Graph) *Value { return g.Add(f32(g, "x", batch, H), f32(g, "y", Known(32))) }, "error:do not broadcast", 0},
		{"type mismatch", func(g *Graph) *Value { return g.Add(f32(g, "x", H), i64(g, "y", H)) }, "error:types differ", 0},
		{"matmul 3d·2d", func(g *Graph) *Value { return g.MatMul(f32(g, "x", batch, seq, H), f32(g, "w", H, Known(32))) }, "[batch,seq,32]", Float32},
		{"matmul batched", func(g *Graph) *Value {
			return g.MatMul(f32(g, "q", batch, Known(4), seq, Known(16)), f32(g, "k", batch, Known(4), Known(16), seq))
		}, "[batch,4,seq,seq]", Float32},
		{"matmul inner", func(g *Graph) *Value { return g.MatMul(f32(g, "x", seq, H), f32(g, "w", Known(32), H)) }, "error:inner dimensions", 0},
		{"reshape heads", func(g *Graph) *Value { return g.Reshape(f32(g, "x", batch, seq, H), 0, 0, 4, 16) }, "[batch,seq,4,16]", Float32},
		{"reshape infer symbolic", func(g *Graph) *Value { return g.Reshape(f32(g, "x", Known(4).Mul(batch), Known(1)), -1, 4) }, "[batch,4]", Float32},
		{"reshape bad count", func(g *Graph) *Value { return g.Reshape(f32(g, "x", batch, H), 0, 63) }, "error:element count", 0},
		{"reshape two -1", func(g *Graph) *Value { return g.Reshape(f32(g, "x", batch, H), -1, -1) }, "error:more than one -1", 0},
		{"flatten choices", func(g *Graph) *Value { return g.Flatten(i64(g, "ids", batch, Known(4), seq), 2) }, "[4*batch,seq]", Int64},
		{"transpose", func(g *Graph) *Value { return g.Transpose(f32(g, "x", batch, seq, Known(4), Known(16)), 0, 2, 3, 1) }, "[batch,4,16,seq]", Float32},
		{"transpose bad", func(g *Graph) *Value { return g.Transpose(f32(g, "x", batch, seq), 0, 0) }, "error:bad permutation", 0},
		{"concat last", func(g *Graph) *Value { return g.Concat(-1, f32(g, "a", batch, seq, H), f32(g, "b", batch, seq, H)) }, "[batch,seq,128]", Float32},
		{"concat stack", func(g *Graph) *Value {
			return g.Concat(0, f32(g, "a", Known(1), batch, H), f32(g, "b", Known(1), batch, H), f32(g, "c", Known(1), batch, H))
		}, "[3,batch,64]", Float32},
		{"concat symbolic axis", func(g *Graph) *Value { return g.Concat(0, f32(g, "a", batch, H), f32(g, "b", seq, H)) }, "error:cannot add", 0},
		{"gather embeddings", func(g *Graph) *Value { return g.Gather(f32(g, "w", Known(1000), H), i64(g, "ids", batch, seq), 0) }, "[batch,seq,64]", Float32},
		{"gather scalar", func(g *Graph) *Value { return g.Gather(f32(g, "x", batch, seq, H), g.ScalarInt(0), 1) }, "[batch,64]", Float32},
		{"gather float index", func(g *Graph) *Value { return g.Gather(f32(g, "w", Known(10), H), f32(g, "i", batch), 0) }, "error:int64", 0},
		{"gather elements", func(g *Graph) *Value {
			return g.GatherElements(f32(g, "x", batch, seq, H), i64(g, "i", batch, Known(1), H), 1)
		}, "[batch,1,64]", Float32},
		{"unsqueeze", func(g *Graph) *Value { return g.Unsqueeze(f32(g, "m", batch, seq), 1, 2) }, "[batch,1,1,seq]", Float32},
		{"squeeze", func(g *Graph) *Value { return g.Squeeze(f32(g, "x", batch, Known(1), H), 1) }, "[batch,64]", Float32},
		{"squeeze non-one", func(g *Graph) *Value { return g.Squeeze(f32(g, "x", batch, H), 1) }, "error:not of size 1", 0},
		{"expand", func(g *Graph) *Value { return g.Expand(i64(g, "p", batch, Known(1), Known(1)), 1, 1, 64) }, "[batch,1,64]", Int64},
		{"reduce keep", func(g *Graph) *Value { return g.ReduceMean(f32(g, "x", batch, seq, H), true, -1) }, "[batch,seq,1]", Float32},
		{"reduce drop", func(g *Graph) *Value { return g.ReduceMean(f32(g, "x", batch, seq, H), false, 1) }, "[batch,64]", Float32},
		{"layernorm", func(g *Graph) *Value {
			return g.LayerNorm(f32(g, "x", batch, seq, H), f32(g, "s", H), f32(g, "b", H), 1e-5)
		}, "[batch,seq,64]", Float32},
		{"layernorm bad scale", func(g *Graph) *Value {
			return g.LayerNorm(f32(g, "x", batch, seq, H), f32(g, "s", Known(32)), f32(g, "b", H), 1e-5)
		}, "error:operand 1", 0},
		{"cast", func(g *Graph) *Value { return g.Cast(i64(g, "m", batch, seq), Float32) }, "[batch,seq]", Float32},
		{"cumsum", func(g *Graph) *Value { return g.CumSum(i64(g, "m", batch, seq), 1) }, "[batch,seq]", Int64},
		{"erf of int", func(g *Graph) *Value { return g.Erf(i64(g, "m", batch)) }, "error:float", 0},
		{"equal", func(g *Graph) *Value { return g.Equal(i64(g, "a", batch, seq), g.ScalarInt(1)) }, "[batch,seq]", Bool},
		{"where", func(g *Graph) *Value {
			c := g.Equal(i64(g, "a", batch, seq), g.ScalarInt(1))
			return g.Where(c, f32(g, "x", batch, seq), g.Scalar(0))
		}, "[batch,seq]", Float32},
		{"softmax", func(g *Graph) *Value { return g.Softmax(f32(g, "x", batch, seq), -1) }, "[batch,seq]", Float32},
		{"softmax axis", func(g *Graph) *Value { return g.Softmax(f32(g, "x", batch, seq), 2) }, "error:axis out of range", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := New("t")
			v := c.b(g)
			if e, ok := strings.CutPrefix(c.want, "error:"); ok {
				if g.Err() == nil || !strings.Contains(g.Err().Error(), e) {
					t.Fatalf("error %v, want one containing %q", g.Err(), e)
				}
				return
			}
			if g.Err() != nil {
				t.Fatal(g.Err())
			}
			if v.Shape.String() != c.want || v.DType != c.dtype {
				t.Fatalf("got %v%v, want %v%s", v.DType, v.Shape, c.dtype, c.want)
			}
		})
	}
}

func TestEveryOpDocumented(t *testing.T) {
	for _, op := range OpNames() {
		if OpDoc(op) == "" {
			t.Errorf("op %s has no definition", op)
		}
	}
	if len(OpNames()) != len(ops) {
		t.Errorf("OpNames lists %d ops, the table has %d", len(OpNames()), len(ops))
	}
}

// tiny builds y = softmax(x·W + b) with an unused branch, exposing h.
func tiny(expose bool) *Graph {
	g := New("tiny")
	x := g.Input("x", Float32, batch, Known(3))
	w := g.Initializer("w", &Tensor{DType: Float32, Dims: []int64{3, 2}, Float32: []float32{1, 2, 3, 4, 5, 6}})
	b := g.Initializer("b", &Tensor{DType: Float32, Dims: []int64{2}, Float32: []float32{0.5, -0.5}})
	h := g.Add(g.MatMul(x, w), b)
	g.Expose("h", h)
	unused := g.Initializer("unused", &Tensor{DType: Float32, Dims: []int64{1}, Float32: []float32{9}})
	g.Expose("dead", g.Mul(h, unused))
	g.Output("y", g.Softmax(h, -1))
	if expose {
		if err := g.ExposeOutputs([]string{"h"}); err != nil {
			panic(err)
		}
	}
	return g
}

func TestLoweringDeterministicAndPruned(t *testing.T) {
	enc := func(g *Graph) []byte {
		m, err := g.Model(ModelInfo{ProducerName: "test"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := enc(tiny(false)), enc(tiny(false))
	if !bytes.Equal(a, b) {
		t.Fatal("same graph, different bytes")
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(a, &m); err != nil {
		t.Fatal(err)
	}
	if m.OpsetImport[0].Version != Opset || m.IrVersion != IRVersion {
		t.Fatalf("opset %v ir %v", m.OpsetImport, m.IrVersion)
	}
	var ops []string
	for _, n := range m.Graph.Node {
		ops = append(ops, n.OpType)
	}
	if strings.Join(ops, ",") != "MatMul,Add,Softmax" {
		t.Fatalf("nodes %v (dead Mul not pruned?)", ops)
	}
	for _, init := range m.Graph.Initializer {
		if init.Name == "unused" {
			t.Fatal("unused initializer kept")
		}
	}
	if out := m.Graph.Output[0]; out.Name != "y" || m.Graph.Node[2].Output[0] != "y" {
		t.Fatalf("output naming: %v / %v", out.Name, m.Graph.Node[2].Output)
	}
	in := m.Graph.Input[0].Type.GetTensorType().Shape.Dim
	if in[0].GetDimParam() != "batch" || in[1].GetDimValue() != 3 {
		t.Fatalf("input dims %v", in)
	}

	// Exposing h renames the Add's output; exposing an input copies it.
	var m2 onnxpb.ModelProto
	if err := proto.Unmarshal(enc(tiny(true)), &m2); err != nil {
		t.Fatal(err)
	}
	if m2.Graph.Node[1].Output[0] != "h" || len(m2.Graph.Output) != 2 {
		t.Fatalf("exposed h: %v", m2.Graph.Output)
	}
	g := tiny(false)
	g.Output("x_copy", g.Inputs()[0])
	m3, err := g.Model(ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	last := m3.Graph.Node[len(m3.Graph.Node)-1]
	if last.OpType != "Identity" || last.Input[0] != "x" || last.Output[0] != "x_copy" {
		t.Fatalf("input as output: %v", last)
	}
	if err := tiny(false).ExposeOutputs([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "available: h, dead") {
		t.Fatalf("unknown expose: %v", err)
	}
}

func TestSaveExternalData(t *testing.T) {
	g := New("big")
	x := g.Input("x", Float32, batch, Known(512))
	data := make([]float32, 512*512)
	for i := range data {
		data[i] = float32(i % 7)
	}
	w := g.Initializer("w", &Tensor{DType: Float32, Dims: []int64{512, 512}, Float32: data})
	small := g.Initializer("s", &Tensor{DType: Float32, Dims: []int64{1}, Float32: []float32{2}})
	g.Output("y", g.Mul(g.MatMul(x, w), small))
	m, err := g.Model(ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	// A tiny MaxInline forces the external layout as a >2 GB model would.
	res, err := Save(path, m, SaveOptions{MaxInline: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.DataFile != path+".data" || res.DataBytes != 4*512*512 {
		t.Fatalf("result %+v", res)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back onnxpb.ModelProto
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var wt, st *onnxpb.TensorProto
	for _, tp := range back.Graph.Initializer {
		switch tp.Name {
		case "w":
			wt = tp
		case "s":
			st = tp
		}
	}
	if wt.DataLocation != onnxpb.TensorProto_EXTERNAL || len(wt.RawData) != 0 || wt.ExternalData[0].Value != "m.onnx.data" {
		t.Fatalf("w not external: %v", wt.ExternalData)
	}
	if st.DataLocation != onnxpb.TensorProto_DEFAULT || len(st.RawData) != 4 {
		t.Fatal("small tensor should stay inline")
	}
	raw, err := os.ReadFile(res.DataFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4*512*512 || raw[4*8] != 0 || raw[4*1+3] != 0x3f { // 1.0f = 0x3f800000 little-endian
		t.Fatalf("data file content wrong (%d bytes)", len(raw))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestGraphErrors(t *testing.T) {
	g := New("e")
	g.Input("x", Float32, batch)
	g.Input("x", Float32, batch)
	if g.Err() == nil || !strings.Contains(g.Err().Error(), "already used") {
		t.Fatalf("duplicate input: %v", g.Err())
	}
	g = New("e")
	g.Initializer("w", &Tensor{DType: Float32, Dims: []int64{2, 2}, Float32: []float32{1}})
	if g.Err() == nil || !strings.Contains(g.Err().Error(), "holds 1 values") {
		t.Fatalf("bad tensor: %v", g.Err())
	}
	g = New("e")
	if _, err := g.Model(ModelInfo{}); err == nil {
		t.Fatal("graph without outputs lowered")
	}
	g = New("e")
	g.Push("layer.0")
	g.Add(g.Input("a", Float32, batch), g.Input("b", Float32, seq))
	if g.Err() == nil || !strings.HasPrefix(g.Err().Error(), "layer.0: Add(") {
		t.Fatalf("scoped error: %v", g.Err())
	}
}

// TestEncodeRoundTrip checks the streaming encoder against the protobuf
// library: decoding its bytes gives the same message.
func TestEncodeRoundTrip(t *testing.T) {
	g := tiny(true)
	m, err := g.Model(ModelInfo{ProducerName: "p", Doc: "d", Metadata: [][2]string{{"k", "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := Encode(&buf, m)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Encode: %d bytes, %v", n, err)
	}
	var back onnxpb.ModelProto
	if err := proto.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, m) {
		t.Fatal("decoded model differs from the encoded one")
	}
	if len(back.Graph.Initializer) != 2 || len(back.Graph.Initializer[0].RawData) != 24 {
		t.Fatalf("initializers %v", back.Graph.Initializer)
	}
	// A second build of the same graph must encode to the same bytes.
	m2, err := tiny(true).Model(ModelInfo{ProducerName: "p", Doc: "d", Metadata: [][2]string{{"k", "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if _, err := Encode(&again, m2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("Encode is not deterministic")
	}
}

// TestReleaseInitializers: after ReleaseInitializers the graph keeps the
// initializers' shapes but not their data, and Model refuses to lower it.
func TestReleaseInitializers(t *testing.T) {
	g := New("release")
	x := g.Input("x", Float32, Known(2), Known(1024))
	big := &Tensor{DType: Float32, Dims: []int64{1024, 3}, Float32: make([]float32, 3072)}
	w := g.Initializer("w", big)
	g.Output("y", g.Add(g.MatMul(x, w), g.Scalar(1)))
	if _, err := g.Model(ModelInfo{}); err != nil {
		t.Fatal(err)
	}
	g.ReleaseInitializers()
	if w.init.Float32 != nil || len(w.init.Dims) != 2 || w.init.Dims[1] != 3 {
		t.Fatalf("after release: %+v, want dims kept and no data", w.init)
	}
	if big.Float32 == nil {
		t.Fatal("the caller's tensor was modified")
	}
	if _, err := g.Model(ModelInfo{}); err == nil || !strings.Contains(err.Error(), "released") {
		t.Fatalf("Model after release: %v, want an error saying the data were released", err)
	}
}
