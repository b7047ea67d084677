// Package onnxtest writes tiny hand-built ONNX graphs that follow the
// kadapter graph interface, for tests of the runtime and of krun's infer,
// eval and predict commands without an exported model. The protobuf is
// encoded field by field with protowire (ONNX's onnx.proto field numbers),
// so the package needs no generated ONNX types.
//
// The graphs are deliberately sensitive to padding: their logits include a
// sum over every position (pads included), as K-Adapter's adapters attend to
// padding, so a test can tell fixed from dynamic padding.
package onnxtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX TensorProto data types used here.
const (
	typeFloat = 1
	typeInt64 = 7
)

type node struct {
	op      string
	inputs  []string
	outputs []string
	ints    map[string]int64 // integer attributes
}

type valueInfo struct {
	name  string
	elem  int
	shape []any // int64 or string (symbolic) dims
}

type initializer struct {
	name   string
	dims   []int64
	elem   int
	int64s []int64
	floats []float32
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (n node) encode() []byte {
	var b []byte
	for _, in := range n.inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, n.outputs[0]+"_node")
	b = appendString(b, 4, n.op)
	// Attributes in a fixed order (sorted keys) so the bytes are stable.
	keys := make([]string, 0, len(n.ints))
	for k := range n.ints {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		var a []byte
		a = appendString(a, 1, k)
		a = appendVarint(a, 3, uint64(n.ints[k]))
		a = appendVarint(a, 20, 2) // AttributeType INT
		b = appendMessage(b, 5, a)
	}
	return b
}

func (v valueInfo) encode() []byte {
	var shape []byte
	for _, d := range v.shape {
		var dim []byte
		switch x := d.(type) {
		case int64:
			dim = appendVarint(dim, 1, uint64(x))
		case string:
			dim = appendString(dim, 2, x)
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = appendVarint(tensor, 1, uint64(v.elem))
	tensor = appendMessage(tensor, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensor)
	var b []byte
	b = appendString(b, 1, v.name)
	return appendMessage(b, 2, typ)
}

func (t initializer) encode() []byte {
	var b []byte
	for _, d := range t.dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.elem))
	b = appendString(b, 8, t.name)
	var raw []byte
	for _, v := range t.int64s {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	for _, v := range t.floats {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

type graph struct {
	name    string
	nodes   []node
	inits   []initializer
	inputs  []valueInfo
	outputs []valueInfo
}

func (g graph) model() []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = appendMessage(gb, 1, n.encode())
	}
	gb = appendString(gb, 2, g.name)
	for _, t := range g.inits {
		gb = appendMessage(gb, 5, t.encode())
	}
	for _, v := range g.inputs {
		gb = appendMessage(gb, 11, v.encode())
	}
	for _, v := range g.outputs {
		gb = appendMessage(gb, 12, v.encode())
	}
	var mb []byte
	mb = appendVarint(mb, 1, 8) // ir_version 8
	mb = appendString(mb, 2, "kadapter-onnxtest")
	mb = appendMessage(mb, 7, gb)
	var opset []byte
	opset = appendString(opset, 1, "")
	opset = appendVarint(opset, 2, 17)
	mb = appendMessage(mb, 8, opset)
	return mb
}

// Classifier returns an ONNX model (opset 17) following the kadapter graph
// interface of a single-sequence task: inputs input_ids and attention_mask
// int64 [batch, seq], plus one int64 [batch] input per name in posInputs
// (e.g. "subj_pos", "obj_pos" or "entity_pos"); output logits float32
// [batch, 2+len(posInputs)]:
//
//	logits[b,0] = Σ_l input_ids[b,l]·attention_mask[b,l]   (padding-blind)
//	logits[b,1] = Σ_l input_ids[b,l]                        (sees padding)
//	logits[b,2+k] = posInputs[k][b]
//
// and a second output seq_len float32 [batch, 1] = the padded length, so a
// test can check which padding was used.
func Classifier(posInputs ...string) []byte {
	bs := []any{"batch", "seq"}
	g := graph{name: "onnxtest_classifier"}
	g.inputs = []valueInfo{{"input_ids", typeInt64, bs}, {"attention_mask", typeInt64, bs}}
	g.inits = []initializer{{name: "axis1", dims: []int64{1}, elem: typeInt64, int64s: []int64{1}}}
	g.nodes = []node{
		{op: "Mul", inputs: []string{"input_ids", "attention_mask"}, outputs: []string{"masked"}},
		{op: "ReduceSum", inputs: []string{"masked", "axis1"}, outputs: []string{"masked_sum"}, ints: map[string]int64{"keepdims": 1}},
		{op: "ReduceSum", inputs: []string{"input_ids", "axis1"}, outputs: []string{"raw_sum"}, ints: map[string]int64{"keepdims": 1}},
	}
	cols := []string{"masked_sum", "raw_sum"}
	for _, p := range posInputs {
		g.inputs = append(g.inputs, valueInfo{p, typeInt64, []any{"batch"}})
		g.nodes = append(g.nodes, node{op: "Unsqueeze", inputs: []string{p, "axis1"}, outputs: []string{p + "_col"}})
		cols = append(cols, p+"_col")
	}
	g.nodes = append(g.nodes,
		node{op: "Concat", inputs: cols, outputs: []string{"logits_i64"}, ints: map[string]int64{"axis": 1}},
		node{op: "Cast", inputs: []string{"logits_i64"}, outputs: []string{"logits"}, ints: map[string]int64{"to": typeFloat}},
		node{op: "Shape", inputs: []string{"input_ids"}, outputs: []string{"shape"}},
		node{op: "Gather", inputs: []string{"shape", "axis1"}, outputs: []string{"seq_len_1"}, ints: map[string]int64{"axis": 0}},
		node{op: "Unsqueeze", inputs: []string{"seq_len_1", "zero"}, outputs: []string{"seq_len_2"}},
		node{op: "Expand", inputs: []string{"seq_len_2", "bshape"}, outputs: []string{"seq_len_i64"}},
		node{op: "Cast", inputs: []string{"seq_len_i64"}, outputs: []string{"seq_len"}, ints: map[string]int64{"to": typeFloat}},
	)
	g.inits = append(g.inits, initializer{name: "zero", dims: []int64{1}, elem: typeInt64, int64s: []int64{0}})
	// bshape = [batch, 1] from the input's shape: Gather(shape, [0]) ++ [1].
	g.nodes = append(g.nodes,
		node{op: "Gather", inputs: []string{"shape", "zero"}, outputs: []string{"batch_dim"}, ints: map[string]int64{"axis": 0}},
		node{op: "Concat", inputs: []string{"batch_dim", "axis1"}, outputs: []string{"bshape"}, ints: map[string]int64{"axis": 0}},
	)
	g.outputs = []valueInfo{
		{"logits", typeFloat, []any{"batch", int64(2 + len(posInputs))}},
		{"seq_len", typeFloat, []any{"batch", int64(1)}},
	}
	return g.model()
}

// Scorer returns a classifier of the kadapter interface (input_ids,
// attention_mask int64 [batch, seq], plus one int64 [batch] input per name
// in posInputs) whose output logits float32 [batch, labels] is +1 at class
// k = (Σ_l input_ids·attention_mask + Σ positions) mod labels and −1
// elsewhere: a deterministic stand-in for a task head whose argmax (and
// whose {logit > 0} set) a test can recompute from the features.
func Scorer(labels int64, posInputs ...string) []byte {
	bs := []any{"batch", "seq"}
	g := graph{name: "onnxtest_scorer"}
	g.inputs = []valueInfo{{"input_ids", typeInt64, bs}, {"attention_mask", typeInt64, bs}}
	g.inits = []initializer{
		{name: "axis1", dims: []int64{1}, elem: typeInt64, int64s: []int64{1}},
		{name: "labels", dims: []int64{}, elem: typeInt64, int64s: []int64{labels}},
		{name: "depth", dims: []int64{1}, elem: typeInt64, int64s: []int64{labels}},
		{name: "onoff", dims: []int64{2}, elem: typeFloat, floats: []float32{-1, 1}},
	}
	g.nodes = []node{
		{op: "Mul", inputs: []string{"input_ids", "attention_mask"}, outputs: []string{"masked"}},
		{op: "ReduceSum", inputs: []string{"masked", "axis1"}, outputs: []string{"acc0"}, ints: map[string]int64{"keepdims": 0}},
	}
	acc := "acc0"
	for i, p := range posInputs {
		next := fmt.Sprintf("acc%d", i+1)
		g.inputs = append(g.inputs, valueInfo{p, typeInt64, []any{"batch"}})
		g.nodes = append(g.nodes, node{op: "Add", inputs: []string{acc, p}, outputs: []string{next}})
		acc = next
	}
	g.nodes = append(g.nodes,
		node{op: "Mod", inputs: []string{acc, "labels"}, outputs: []string{"cls"}},
		node{op: "OneHot", inputs: []string{"cls", "depth", "onoff"}, outputs: []string{"logits"}, ints: map[string]int64{"axis": -1}},
	)
	g.outputs = []valueInfo{{"logits", typeFloat, []any{"batch", labels}}}
	return g.model()
}

// MultipleChoice returns a CosmosQA-shaped model: input_ids and
// attention_mask int64 [batch, choices, seq]; logits float32 [batch,
// choices] = Σ_l input_ids (pads included, so the pad id matters).
func MultipleChoice() []byte {
	s := []any{"batch", "choices", "seq"}
	g := graph{name: "onnxtest_multiple_choice"}
	g.inputs = []valueInfo{{"input_ids", typeInt64, s}, {"attention_mask", typeInt64, s}}
	g.inits = []initializer{{name: "axis2", dims: []int64{1}, elem: typeInt64, int64s: []int64{2}}}
	g.nodes = []node{
		// attention_mask is an input of the graph; use it so ORT does not
		// complain, without changing the result (mask·0).
		{op: "Mul", inputs: []string{"attention_mask", "zero"}, outputs: []string{"mask0"}},
		{op: "Add", inputs: []string{"input_ids", "mask0"}, outputs: []string{"ids"}},
		{op: "ReduceSum", inputs: []string{"ids", "axis2"}, outputs: []string{"sum"}, ints: map[string]int64{"keepdims": 0}},
		{op: "Cast", inputs: []string{"sum"}, outputs: []string{"logits"}, ints: map[string]int64{"to": typeFloat}},
	}
	g.inits = append(g.inits, initializer{name: "zero", dims: []int64{}, elem: typeInt64, int64s: []int64{0}})
	g.outputs = []valueInfo{{"logits", typeFloat, []any{"batch", "choices"}}}
	return g.model()
}

// TokenClassifier returns a find-head (lin-adapter) shaped model: input_ids
// and attention_mask int64 [batch, seq]; logits float32 [batch, seq,
// classes] with logits[b,l,c] = 1 when c == input_ids[b,l] mod classes,
// else 0 (so the argmax at each position is input_ids mod classes).
func TokenClassifier(classes int64) []byte {
	bs := []any{"batch", "seq"}
	g := graph{name: "onnxtest_token_classifier"}
	g.inputs = []valueInfo{{"input_ids", typeInt64, bs}, {"attention_mask", typeInt64, bs}}
	g.inits = []initializer{
		{name: "classes", dims: []int64{}, elem: typeInt64, int64s: []int64{classes}},
		{name: "depth", dims: []int64{1}, elem: typeInt64, int64s: []int64{classes}},
		{name: "onoff", dims: []int64{2}, elem: typeFloat, floats: []float32{0, 1}},
		{name: "zero", dims: []int64{}, elem: typeInt64, int64s: []int64{0}},
	}
	g.nodes = []node{
		{op: "Mul", inputs: []string{"attention_mask", "zero"}, outputs: []string{"mask0"}},
		{op: "Add", inputs: []string{"input_ids", "mask0"}, outputs: []string{"ids"}},
		{op: "Mod", inputs: []string{"ids", "classes"}, outputs: []string{"cls"}},
		{op: "OneHot", inputs: []string{"cls", "depth", "onoff"}, outputs: []string{"logits"}, ints: map[string]int64{"axis": -1}},
	}
	g.outputs = []valueInfo{{"logits", typeFloat, []any{"batch", "seq", classes}}}
	return g.model()
}

// Write writes model bytes to path.
func Write(path string, model []byte) error {
	return os.WriteFile(path, model, 0o644)
}

// Embedder returns a model of the kadapter single-sequence interface
// (input_ids, attention_mask int64 [batch, seq]) whose input_ids index an
// embedding table "emb" of rows rows (a Gather on axis 0, as RoBERTa's word
// embeddings are read), and a second table "pos" of rows rows at
// input_ids + shift (as position ids are computed: an Add, so not a plain
// index input). Output logits float32 [batch, 2]:
//
//	logits[b,0] = Σ_l emb[input_ids[b,l]]            (emb[i] = i)
//	logits[b,1] = Σ_l pos[input_ids[b,l] + shift]    (pos[i] = 1)
//
// With shift 0 every id in [0, rows) runs; with shift >= rows every run
// fails inside ONNX Runtime (an index error that only it can see).
func Embedder(rows, shift int64) []byte {
	bs := []any{"batch", "seq"}
	g := graph{name: "onnxtest_embedder"}
	g.inputs = []valueInfo{{"input_ids", typeInt64, bs}, {"attention_mask", typeInt64, bs}}
	emb := make([]float32, rows)
	pos := make([]float32, rows)
	for i := range emb {
		emb[i], pos[i] = float32(i), 1
	}
	g.inits = []initializer{
		{name: "emb", dims: []int64{rows}, elem: typeFloat, floats: emb},
		{name: "pos", dims: []int64{rows}, elem: typeFloat, floats: pos},
		{name: "shift", dims: []int64{}, elem: typeInt64, int64s: []int64{shift}},
		{name: "axis1", dims: []int64{1}, elem: typeInt64, int64s: []int64{1}},
		{name: "zerof", dims: []int64{}, elem: typeFloat, floats: []float32{0}},
	}
	g.nodes = []node{
		{op: "Flatten", inputs: []string{"input_ids"}, outputs: []string{"ids2d"}, ints: map[string]int64{"axis": 1}},
		{op: "Gather", inputs: []string{"emb", "ids2d"}, outputs: []string{"e"}, ints: map[string]int64{"axis": 0}},
		{op: "Add", inputs: []string{"input_ids", "shift"}, outputs: []string{"shifted"}},
		{op: "Gather", inputs: []string{"pos", "shifted"}, outputs: []string{"p"}},
		{op: "Cast", inputs: []string{"attention_mask"}, outputs: []string{"maskf"}, ints: map[string]int64{"to": typeFloat}},
		{op: "Mul", inputs: []string{"maskf", "zerof"}, outputs: []string{"mask0"}},
		{op: "Add", inputs: []string{"e", "mask0"}, outputs: []string{"e0"}},
		{op: "ReduceSum", inputs: []string{"e0", "axis1"}, outputs: []string{"es"}, ints: map[string]int64{"keepdims": 1}},
		{op: "ReduceSum", inputs: []string{"p", "axis1"}, outputs: []string{"ps"}, ints: map[string]int64{"keepdims": 1}},
		{op: "Concat", inputs: []string{"es", "ps"}, outputs: []string{"logits"}, ints: map[string]int64{"axis": 1}},
	}
	g.outputs = []valueInfo{{"logits", typeFloat, []any{"batch", int64(2)}}}
	return g.model()
}
