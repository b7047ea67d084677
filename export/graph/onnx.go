package graph

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/kadapter/kadapter/export/onnxpb"
	"github.com/kadapter/kadapter/internal/atomicfile"
)

// Opset is the ONNX operator set version the lowering targets.
const Opset = 17

// IRVersion is the ONNX IR version written (8 goes with opset 17).
const IRVersion = 8

// ModelInfo is the metadata written into the ModelProto.
type ModelInfo struct {
	// ProducerName and ProducerVersion identify the tool. Keep them free of
	// timestamps so the same inputs give the same bytes.
	ProducerName, ProducerVersion string
	// Doc is the model's doc_string.
	Doc string
	// Metadata are written as metadata_props in key order given.
	Metadata [][2]string
}

// live returns the nodes needed by the outputs, in creation order, and the
// initializers they (or the outputs) use, in creation order.
func (g *Graph) live() ([]*Node, []*Value) {
	need := map[*Value]bool{}
	var stack []*Value
	for _, o := range g.outputs {
		stack = append(stack, o.v)
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[v] {
			continue
		}
		need[v] = true
		if v.node != nil {
			stack = append(stack, v.node.Inputs...)
		}
	}
	var nodes []*Node
	for _, n := range g.nodes {
		for _, o := range n.Outputs {
			if need[o] {
				nodes = append(nodes, n)
				break
			}
		}
	}
	var inits []*Value
	for _, v := range g.inits {
		if need[v] {
			inits = append(inits, v)
		}
	}
	return nodes, inits
}

// Model lowers the graph to an ONNX ModelProto (opset 17). Initializer
// data are referenced by the proto's raw_data where the machine's byte
// order allows, so keep the graph's tensors unchanged until the model is
// written. Nodes that no output needs are dropped; the result depends only
// on the build calls, so equal graphs give equal bytes.
func (g *Graph) Model(info ModelInfo) (*onnxpb.ModelProto, error) {
	if g.err != nil {
		return nil, g.err
	}
	if len(g.outputs) == 0 {
		return nil, fmt.Errorf("graph %q has no outputs", g.Name)
	}
	if g.released {
		return nil, fmt.Errorf("graph %q: its initializers' data were released", g.Name)
	}
	nodes, inits := g.live()
	names := map[*Value]string{}
	used := map[string]bool{}
	for _, v := range g.inputs {
		names[v] = v.name
		used[v.name] = true
	}
	for _, v := range inits {
		names[v] = v.name
		used[v.name] = true
	}
	// Outputs take their public names; a value that cannot be renamed (an
	// input, an initializer, or one already output under another name) is
	// copied by an Identity node.
	type copyOut struct{ from *Value }
	extra := map[string]copyOut{}
	for _, o := range g.outputs {
		if used[o.name] {
			return nil, fmt.Errorf("output %q: name already used by an input or initializer", o.name)
		}
		used[o.name] = true
		if _, done := names[o.v]; done || o.v.node == nil {
			extra[o.name] = copyOut{o.v}
			continue
		}
		names[o.v] = o.name
	}
	for _, n := range nodes {
		for _, v := range n.Outputs {
			if _, ok := names[v]; !ok {
				if used[v.name] {
					return nil, fmt.Errorf("value name %q clashes with an output", v.name)
				}
				names[v] = v.name
			}
		}
	}

	gp := &onnxpb.GraphProto{Name: g.Name}
	var consts []*onnxpb.TensorProto
	for _, n := range nodes {
		np := &onnxpb.NodeProto{Name: n.Name, OpType: n.Op}
		for _, v := range n.Inputs {
			np.Input = append(np.Input, names[v])
		}
		for _, v := range n.Outputs {
			np.Output = append(np.Output, names[v])
		}
		a := n.Attrs
		constInput := func(suffix string, vals []int64, scalar bool) {
			name := n.Name + "/" + suffix
			t := &Tensor{DType: Int64, Dims: []int64{int64(len(vals))}, Int64: vals}
			if scalar {
				t.Dims = nil
			}
			consts = append(consts, tensorProto(name, t))
			np.Input = append(np.Input, name)
		}
		switch n.Op {
		case "Softmax", "LogSoftmax", "Concat", "Gather", "GatherElements", "Flatten":
			np.Attribute = append(np.Attribute, intAttr("axis", int64(a.Axis)))
		case "LayerNormalization":
			np.Attribute = append(np.Attribute, intAttr("axis", int64(a.Axis)), floatAttr("epsilon", a.Epsilon))
			if n.Inputs[0].DType != Float32 {
				np.Attribute = append(np.Attribute, intAttr("stash_type", int64(n.Inputs[0].DType)))
			}
		case "ScatterElements":
			np.Attribute = append(np.Attribute, intAttr("axis", int64(a.Axis)), stringAttr("reduction", "add"))
		case "ScatterND":
			np.Attribute = append(np.Attribute, stringAttr("reduction", "add"))
		case "Split":
			np.Attribute = append(np.Attribute, intAttr("axis", int64(a.Axis)))
			constInput("split", a.Sizes, false)
		case "ReduceSum":
			keep := int64(0)
			if a.KeepDims {
				keep = 1
			}
			np.Attribute = append(np.Attribute, intAttr("keepdims", keep))
			constInput("axes", a.Axes, false)
		case "ReduceMean":
			keep := int64(0)
			if a.KeepDims {
				keep = 1
			}
			np.Attribute = append(np.Attribute, intsAttr("axes", a.Axes), intAttr("keepdims", keep))
		case "Transpose":
			np.Attribute = append(np.Attribute, intsAttr("perm", a.Perm))
		case "Cast":
			np.Attribute = append(np.Attribute, intAttr("to", int64(a.To)))
		case "Reshape", "Expand":
			constInput("shape", a.Ints, false)
		case "Unsqueeze", "Squeeze":
			constInput("axes", a.Axes, false)
		case "CumSum":
			constInput("axis", []int64{int64(a.Axis)}, true)
			if a.Reverse {
				np.Attribute = append(np.Attribute, intAttr("reverse", 1))
			}
		case "ExpandTo":
			np.OpType = "Expand"
		case "ReshapeTo":
			np.OpType = "Reshape"
		}
		gp.Node = append(gp.Node, np)
	}
	for _, o := range g.outputs {
		if c, ok := extra[o.name]; ok {
			gp.Node = append(gp.Node, &onnxpb.NodeProto{
				Name: "/outputs/" + o.name, OpType: "Identity",
				Input: []string{names[c.from]}, Output: []string{o.name},
			})
		}
	}
	for _, v := range g.inputs {
		gp.Input = append(gp.Input, valueInfo(v.name, v))
	}
	for _, o := range g.outputs {
		gp.Output = append(gp.Output, valueInfo(o.name, o.v))
	}
	for _, v := range inits {
		gp.Initializer = append(gp.Initializer, tensorProto(v.name, v.init))
	}
	gp.Initializer = append(gp.Initializer, consts...)

	m := &onnxpb.ModelProto{
		IrVersion:       IRVersion,
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName:    info.ProducerName,
		ProducerVersion: info.ProducerVersion,
		DocString:       info.Doc,
		Graph:           gp,
	}
	for _, kv := range info.Metadata {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: kv[0], Value: kv[1]})
	}
	return m, nil
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_STRING, S: []byte(v)}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

func intsAttr(name string, v []int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

func valueInfo(name string, v *Value) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range v.Shape {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d.IsKnown() {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Coef}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.String()}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(v.DType), Shape: sh}},
	}}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// leBytes returns xs as little-endian bytes: a view of xs on little-endian
// machines, else a copy written with put; nil when xs is empty.
func leBytes[T float32 | float64 | int64](xs []T, put func(b []byte, x T)) []byte {
	if len(xs) == 0 {
		return nil
	}
	size := int(unsafe.Sizeof(xs[0]))
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), size*len(xs))
	}
	b := make([]byte, size*len(xs))
	for i, x := range xs {
		put(b[size*i:], x)
	}
	return b
}

// rawBytes returns the tensor's data as little-endian bytes, without a copy
// on little-endian machines.
func rawBytes(t *Tensor) []byte {
	switch t.DType {
	case Float32:
		return leBytes(t.Float32, func(b []byte, f float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(f)) })
	case Float64:
		return leBytes(t.Float64, func(b []byte, f float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(f)) })
	case Int64:
		return leBytes(t.Int64, func(b []byte, x int64) { binary.LittleEndian.PutUint64(b, uint64(x)) })
	}
	return nil
}

func tensorProto(name string, t *Tensor) *onnxpb.TensorProto {
	tp := &onnxpb.TensorProto{Name: name, DataType: int32(t.DType), Dims: append([]int64(nil), t.Dims...)}
	tp.RawData = rawBytes(t)
	return tp
}

// SaveOptions control how Save writes a model.
type SaveOptions struct {
	// ExternalData forces initializers into a side file ("<model>.data");
	// models whose initializers exceed MaxInline bytes always use one.
	ExternalData bool
	// MaxInline is the inline limit (default 2 GiB less 64 MiB of headroom
	// for the graph: protobuf messages cannot exceed 2 GiB).
	MaxInline int64
	// MinExternal is the smallest tensor moved out (default 1024 bytes);
	// smaller ones stay inline.
	MinExternal int64
}

// SaveResult says what Save wrote.
type SaveResult struct {
	// ModelBytes is the size of the .onnx file.
	ModelBytes int64 `json:"model_bytes"`
	// DataFile is the external data file ("" when everything is inline).
	DataFile string `json:"data_file,omitempty"`
	// DataBytes is the size of the external data file.
	DataBytes int64 `json:"data_bytes,omitempty"`
	// Initializers counts the initializers and InitializerBytes their size.
	Initializers     int   `json:"initializers"`
	InitializerBytes int64 `json:"initializer_bytes"`
	// Nodes is the number of ONNX nodes.
	Nodes int `json:"nodes"`
}

// Save writes m to path atomically (temporary files, then rename). When the
// initializers do not fit in one protobuf message, or opts.ExternalData is
// set, tensors of at least opts.MinExternal bytes go to path+".data"
// (offsets aligned to 4096 bytes, recorded in each tensor's external_data
// as location, offset and length) and the model refers to them.
func Save(path string, m *onnxpb.ModelProto, opts SaveOptions) (SaveResult, error) {
	if opts.MaxInline <= 0 {
		opts.MaxInline = 2<<30 - 64<<20
	}
	if opts.MinExternal <= 0 {
		opts.MinExternal = 1024
	}
	res := SaveResult{Nodes: len(m.GetGraph().GetNode()), Initializers: len(m.GetGraph().GetInitializer())}
	for _, t := range m.GetGraph().GetInitializer() {
		res.InitializerBytes += int64(len(t.RawData))
	}
	if opts.ExternalData || res.InitializerBytes > opts.MaxInline {
		dataPath := path + ".data"
		n, err := writeExternal(dataPath, filepath.Base(dataPath), m, opts.MinExternal)
		if err != nil {
			return res, err
		}
		res.DataFile, res.DataBytes = dataPath, n
	}
	var n int64
	if err := writeAtomic(path, func(w *bufio.Writer) error {
		var err error
		n, err = Encode(w, m)
		return err
	}); err != nil {
		return res, err
	}
	res.ModelBytes = n
	return res, nil
}

// Encode writes m in protobuf wire format without building the whole
// message in memory: the graph's initializers are streamed one by one with
// their raw_data appended as written, so peak memory stays near the size of
// the tensors themselves. Fields come in a fixed order, so the bytes are
// deterministic; any protobuf parser reads them as the same ModelProto. m
// is modified while Encode runs and restored before it returns.
func Encode(w io.Writer, m *onnxpb.ModelProto) (int64, error) {
	det := proto.MarshalOptions{Deterministic: true}
	gp := m.GetGraph()
	if gp == nil {
		b, err := det.Marshal(m)
		if err != nil {
			return 0, err
		}
		n, err := w.Write(b)
		return int64(n), err
	}
	inits := gp.Initializer
	m.Graph, gp.Initializer = nil, nil
	head, err := det.Marshal(m)
	var body []byte
	if err == nil {
		body, err = det.Marshal(gp)
	}
	m.Graph, gp.Initializer = gp, inits
	if err != nil {
		return 0, err
	}
	// Each initializer: its fields but raw_data, then raw_data (field 9).
	hdrs := make([][]byte, len(inits))
	graphLen := int64(len(body))
	for i, t := range inits {
		raw := t.RawData
		t.RawData = nil
		hdrs[i], err = det.Marshal(t)
		t.RawData = raw
		if err != nil {
			return 0, err
		}
		msg := int64(len(hdrs[i])) + bytesField(len(raw))
		graphLen += 1 + int64(varintLen(uint64(msg))) + msg
	}
	var total int64
	put := func(b []byte) error {
		n, err := w.Write(b)
		total += int64(n)
		return err
	}
	tag := func(field int, length int64) []byte {
		b := []byte{byte(field<<3 | 2)}
		return binary.AppendUvarint(b, uint64(length))
	}
	if err := put(head); err != nil {
		return total, err
	}
	if err := put(tag(7, graphLen)); err != nil { // ModelProto.graph
		return total, err
	}
	if err := put(body); err != nil {
		return total, err
	}
	for i, t := range inits {
		msg := int64(len(hdrs[i])) + bytesField(len(t.RawData))
		if err := put(tag(5, msg)); err != nil { // GraphProto.initializer
			return total, err
		}
		if err := put(hdrs[i]); err != nil {
			return total, err
		}
		if len(t.RawData) > 0 {
			if err := put(tag(9, int64(len(t.RawData)))); err != nil { // TensorProto.raw_data
				return total, err
			}
			if err := put(t.RawData); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// bytesField is the encoded size of a non-empty bytes field of n bytes
// with a one-byte tag (0 when empty: proto3 omits it).
func bytesField(n int) int64 {
	if n == 0 {
		return 0
	}
	return 1 + int64(varintLen(uint64(n))) + int64(n)
}

func varintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// writeExternal moves large initializers into the data file, rewriting the
// tensor protos in place to point at it.
func writeExternal(dataPath, location string, m *onnxpb.ModelProto, minBytes int64) (int64, error) {
	var off int64
	err := writeAtomic(dataPath, func(w *bufio.Writer) error {
		for _, t := range m.GetGraph().GetInitializer() {
			if int64(len(t.RawData)) < minBytes {
				continue
			}
			if pad := (4096 - off%4096) % 4096; pad > 0 {
				if _, err := w.Write(make([]byte, pad)); err != nil {
					return err
				}
				off += pad
			}
			if _, err := w.Write(t.RawData); err != nil {
				return err
			}
			n := int64(len(t.RawData))
			t.DataLocation = onnxpb.TensorProto_EXTERNAL
			t.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: "location", Value: location},
				{Key: "offset", Value: strconv.FormatInt(off, 10)},
				{Key: "length", Value: strconv.FormatInt(n, 10)},
			}
			t.RawData = nil
			off += n
		}
		return nil
	})
	return off, err
}

func writeAtomic(path string, write func(*bufio.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
