package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// ReadInterface reads a graph's inputs and outputs (names, element types,
// shapes with -1 for symbolic dimensions) straight from the .onnx file,
// without ONNX Runtime and without reading the weights: large fields are
// skipped with Seek, so it costs a few small reads even for a
// multi-gigabyte model. Graph inputs that are also initializers (optional
// overrides in IR >= 4) are left out, as ONNX Runtime does for the inputs
// it requires.
func ReadInterface(path string) (inputs, outputs []IOInfo, err error) {
	g, err := readGraphInfo(path)
	if err != nil {
		return nil, nil, err
	}
	inputs, outputs = g.iface()
	return inputs, outputs, nil
}

// iface returns the graph's inputs that are not initializers, and its
// outputs.
func (g *graphInfo) iface() (inputs, outputs []IOInfo) {
	for _, in := range g.inputs {
		if !g.inits[in.Name] {
			inputs = append(inputs, in)
		}
	}
	return inputs, g.outputs
}

// readGraphInfo reads the graph's interface, node list and initializer
// names and dimensions, seeking past the weights.
func readGraphInfo(path string) (*graphInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := &pbReader{f: f, br: bufio.NewReaderSize(f, 64<<10)}
	var g *graphInfo
	err = r.fields(st.Size(), func(num protowire.Number, typ protowire.Type, n int64) error {
		if num == 7 && typ == protowire.BytesType { // ModelProto.graph
			var err error
			g, err = r.graph(n)
			return err
		}
		return r.skip(n)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable ONNX model: %w", path, err)
	}
	if g == nil {
		return nil, fmt.Errorf("%s: not an ONNX model (no graph)", path)
	}
	return g, nil
}

// pbReader walks protobuf fields of a file, reading small fields and
// seeking past large ones.
type pbReader struct {
	f  *os.File
	br *bufio.Reader
}

var errMalformed = errors.New("malformed protobuf")

func (r *pbReader) varint() (uint64, int64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, 0, err
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, int64(i + 1), nil
		}
	}
	return 0, 0, errMalformed
}

// fields calls fn for each field of a message of size bytes; fn must
// consume exactly the n payload bytes of length-delimited fields (other
// wire types are consumed here and reported with n = 0).
func (r *pbReader) fields(size int64, fn func(num protowire.Number, typ protowire.Type, n int64) error) error {
	return r.fieldsVarint(size, fn, nil)
}

// fieldsVarint is fields that also hands varint fields' values to vfn
// (when not nil).
func (r *pbReader) fieldsVarint(size int64, fn func(num protowire.Number, typ protowire.Type, n int64) error, vfn func(num protowire.Number, x uint64)) error {
	for size > 0 {
		tag, k, err := r.varint()
		if err != nil {
			return err
		}
		size -= k
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		switch typ {
		case protowire.VarintType:
			var x uint64
			x, k, err = r.varint()
			if err == nil && vfn != nil {
				vfn(num, x)
			}
		case protowire.Fixed32Type:
			k, err = 4, r.skip(4)
		case protowire.Fixed64Type:
			k, err = 8, r.skip(8)
		case protowire.BytesType:
			var n uint64
			n, k, err = r.varint()
			if err == nil {
				if int64(n) < 0 || int64(n) > size-k {
					return errMalformed
				}
				size -= k
				k = int64(n)
				err = fn(num, typ, int64(n))
			}
		default:
			return errMalformed
		}
		if err != nil {
			return err
		}
		size -= k
	}
	if size < 0 {
		return errMalformed
	}
	return nil
}

func (r *pbReader) skip(n int64) error {
	if n <= int64(r.br.Buffered()) {
		_, err := r.br.Discard(int(n))
		return err
	}
	// The file is Buffered() bytes ahead of the logical position.
	if _, err := r.f.Seek(n-int64(r.br.Buffered()), io.SeekCurrent); err != nil {
		return err
	}
	r.br.Reset(r.f)
	return nil
}

func (r *pbReader) bytes(n int64) ([]byte, error) {
	if n > 1<<20 {
		return nil, errMalformed
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r.br, b)
	return b, err
}

type graphInfo struct {
	inputs, outputs []IOInfo
	inits           map[string]bool
	// initDims holds each initializer's dimensions.
	initDims map[string][]int64
	// nodes holds each node's operator and value names, in file order.
	nodes []nodeInfo
}

// nodeInfo is what the index check needs of a NodeProto.
type nodeInfo struct {
	op, domain      string
	inputs, outputs []string
	axis            int64 // the "axis" int attribute (0 when absent)
}

// graph reads GraphProto: input (11), output (12) and the names of
// initializer (5) tensors; everything else is skipped.
func (r *pbReader) graph(size int64) (*graphInfo, error) {
	g := &graphInfo{inits: map[string]bool{}, initDims: map[string][]int64{}}
	err := r.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		switch num {
		case 1: // NodeProto
			nd, err := r.node(n)
			g.nodes = append(g.nodes, nd)
			return err
		case 11, 12:
			b, err := r.bytes(n)
			if err != nil {
				return err
			}
			vi, err := parseValueInfo(b)
			if err != nil {
				return err
			}
			if num == 11 {
				g.inputs = append(g.inputs, vi)
			} else {
				g.outputs = append(g.outputs, vi)
			}
			return nil
		case 5: // TensorProto: read its dims (1) and name (8), skip the data
			var name string
			dims := []int64{}
			err := r.fieldsVarint(n, func(num protowire.Number, typ protowire.Type, n int64) error {
				switch num {
				case 8:
					b, err := r.bytes(n)
					name = string(b)
					return err
				case 1: // packed dims
					b, err := r.bytes(n)
					for len(b) > 0 && err == nil {
						x, k := protowire.ConsumeVarint(b)
						if k < 0 {
							return errMalformed
						}
						dims, b = append(dims, int64(x)), b[k:]
					}
					return err
				}
				return r.skip(n)
			}, func(num protowire.Number, x uint64) {
				if num == 1 {
					dims = append(dims, int64(x))
				}
			})
			g.inits[name] = true
			g.initDims[name] = dims
			return err
		}
		return r.skip(n)
	})
	return g, err
}

// node reads NodeProto{input 1, output 2, op_type 4, domain 7, attribute 5:
// AttributeProto{name 1, i 3}}; other fields are skipped.
func (r *pbReader) node(size int64) (nodeInfo, error) {
	var nd nodeInfo
	err := r.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		switch num {
		case 1, 2, 4, 7:
			b, err := r.bytes(n)
			switch num {
			case 1:
				nd.inputs = append(nd.inputs, string(b))
			case 2:
				nd.outputs = append(nd.outputs, string(b))
			case 4:
				nd.op = string(b)
			case 7:
				nd.domain = string(b)
			}
			return err
		case 5:
			var name string
			var i int64
			err := r.fieldsVarint(n, func(num protowire.Number, typ protowire.Type, n int64) error {
				if num == 1 {
					b, err := r.bytes(n)
					name = string(b)
					return err
				}
				return r.skip(n)
			}, func(num protowire.Number, x uint64) {
				if num == 3 {
					i = int64(x)
				}
			})
			if name == "axis" {
				nd.axis = i
			}
			return err
		}
		return r.skip(n)
	})
	return nd, err
}

// ONNX TensorProto.DataType values → dtype names.
var onnxDTypes = map[uint64]string{1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64",
	9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16"}

// parseValueInfo decodes ValueInfoProto{name 1, type 2: TypeProto{tensor_type
// 1: {elem_type 1, shape 2: {dim 1: {dim_value 1 | dim_param 2}}}}}.
func parseValueInfo(b []byte) (IOInfo, error) {
	var vi IOInfo
	err := eachField(b, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case 1:
			vi.Name = string(v)
		case 2:
			return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
				if num != 1 { // not a tensor type
					return nil
				}
				return eachField(v, func(num protowire.Number, v []byte, x uint64) error {
					switch num {
					case 1:
						vi.DType = onnxDTypes[x]
						if vi.DType == "" {
							vi.DType = fmt.Sprintf("onnx_type_%d", x)
						}
					case 2:
						vi.Shape = []int64{}
						return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
							if num != 1 {
								return nil
							}
							d := int64(-1)
							err := eachField(v, func(num protowire.Number, _ []byte, x uint64) error {
								if num == 1 {
									d = int64(x)
								}
								return nil
							})
							vi.Shape = append(vi.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return vi, err
}

// eachField calls fn with each field of an in-memory message: v holds a
// length-delimited payload, x a varint value.
func eachField(b []byte, fn func(num protowire.Number, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if err := fn(num, v, x); err != nil {
			return err
		}
	}
	return nil
}
