package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"
	"unsafe"
)

// WriteTorch writes tensors, in the given order, as a torch state dict (an
// OrderedDict of tensors, one storage each, float tensors as FloatStorage and
// integer tensors as LongStorage) in FormatTorchLegacy (what torch 1.3's
// torch.save wrote) or FormatTorchZip (torch >= 1.6, archive prefix
// "archive"). The file is written atomically.
func WriteTorch(path string, format Format, tensors []*Tensor) error {
	storages := make([]torchStorage, len(tensors))
	entries := make([]torchEntry, len(tensors))
	for i, t := range tensors {
		if err := checkTensor(path, t); err != nil {
			return err
		}
		st := torchStorage{key: strconv.Itoa(i), dtype: Float32, numel: len(t.Data), raw: float32Bytes(t.Data)}
		if !t.DType.IsFloat() && t.DType != "" {
			st = torchStorage{key: strconv.Itoa(i), dtype: Int64, numel: len(t.Int64), raw: int64Bytes(t.Int64)}
		}
		storages[i] = st
		entries[i] = torchEntry{name: t.Name, storage: i, size: t.Shape, stride: rowMajorStrides(t.Shape)}
	}
	if format != FormatTorchLegacy && format != FormatTorchZip {
		return newErr(path, "", ErrFormat, "WriteTorch cannot write format %s", format)
	}
	return writeAtomic(path, func(w *bufio.Writer) error {
		return writeTorch(w, format, "archive", storages, entries)
	})
}

// torchStorage is one storage to write: raw little-endian bytes of numel
// elements of dtype.
type torchStorage struct {
	key   string
	dtype DType
	numel int
	raw   []byte
}

// torchEntry is one state-dict entry: a view into storages[storage].
type torchEntry struct {
	name    string
	storage int
	offset  int
	size    []int
	stride  []int
	// view, when non-nil, is legacy view metadata (view offset, view size):
	// the entry's storage is a window of the root storage.
	view []int
}

func rowMajorStrides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for d := len(shape) - 1; d >= 0; d-- {
		s[d] = n
		n *= shape[d]
	}
	return s
}

func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	if littleEndianHost {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)
	}
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func int64Bytes(v []int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

var storageClassNames = map[DType]string{}

func init() {
	for name, dt := range storageClasses {
		storageClassNames[dt] = name
	}
}

// pickler writes the few pickle (protocol 2) opcodes a state dict needs.
type pickler struct{ bytes.Buffer }

func (p *pickler) proto()                  { p.Write([]byte{0x80, 2}) }
func (p *pickler) op(ops ...byte)          { p.Write(ops) }
func (p *pickler) global(mod, name string) { fmt.Fprintf(p, "c%s\n%s\n", mod, name) }
func (p *pickler) str(s string) {
	p.WriteByte('X')
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.Write(n[:])
	p.WriteString(s)
}
func (p *pickler) int(v int) {
	switch {
	case v >= 0 && v < 256:
		p.Write([]byte{'K', byte(v)})
	case v >= 0 && v < 65536:
		p.Write([]byte{'M', byte(v), byte(v >> 8)})
	case v >= math.MinInt32 && v <= math.MaxInt32:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(int32(v)))
		p.WriteByte('J')
		p.Write(b[:])
	default:
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		p.Write([]byte{0x8a, 8})
		p.Write(b[:])
	}
}
func (p *pickler) ints(v []int) {
	if len(v) == 0 {
		p.op(')')
		return
	}
	p.op('(')
	for _, x := range v {
		p.int(x)
	}
	p.op('t')
}
func (p *pickler) stop() { p.op('.') }

// stateDictPickle pickles the OrderedDict of tensors; legacy storage ids have
// six fields (with view metadata None), zip ones five.
func stateDictPickle(legacy bool, storages []torchStorage, entries []torchEntry) []byte {
	var p pickler
	p.proto()
	p.global("collections", "OrderedDict")
	p.op(')', 'R', '(')
	for _, e := range entries {
		st := storages[e.storage]
		p.str(e.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op('(', '(')
		p.str("storage")
		p.global("torch", storageClassNames[st.dtype])
		p.str(st.key)
		p.str("cpu")
		p.int(st.numel)
		if legacy && e.view != nil {
			p.op('(')
			p.str(st.key + "-view")
			p.int(e.view[0])
			p.int(e.view[1])
			p.op('t')
		} else if legacy {
			p.op('N')
		}
		p.op('t', 'Q')
		p.int(e.offset)
		p.ints(e.size)
		p.ints(e.stride)
		p.op(0x89)
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R')
	}
	p.op('u')
	p.stop()
	return p.Bytes()
}

// writeTorch writes a state dict in the legacy or zip format.
func writeTorch(w io.Writer, format Format, prefix string, storages []torchStorage, entries []torchEntry) error {
	used := make([]bool, len(storages))
	for _, e := range entries {
		used[e.storage] = true
	}
	if format == FormatTorchZip {
		zw := zip.NewWriter(w)
		add := func(name string, data []byte) error {
			fw, err := zw.CreateRaw(&zip.FileHeader{
				Name: prefix + "/" + name, Method: zip.Store,
				CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
			})
			if err != nil {
				return err
			}
			_, err = fw.Write(data)
			return err
		}
		if err := add("data.pkl", stateDictPickle(false, storages, entries)); err != nil {
			return err
		}
		if err := add("byteorder", []byte("little")); err != nil {
			return err
		}
		for i, st := range storages {
			if used[i] {
				if err := add("data/"+st.key, st.raw); err != nil {
					return err
				}
			}
		}
		if err := add("version", []byte("3\n")); err != nil {
			return err
		}
		return zw.Close()
	}
	var p pickler
	// magic number 0x1950a86a20f9469cfc6c as LONG1, protocol version, sys info
	p.proto()
	p.op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)
	p.stop()
	p.proto()
	p.int(legacyProtocolVersion)
	p.stop()
	p.proto()
	p.op('}', '(')
	p.str("protocol_version")
	p.int(legacyProtocolVersion)
	p.str("little_endian")
	p.op(0x88)
	p.str("type_sizes")
	p.op('}', '(')
	p.str("short")
	p.int(2)
	p.str("int")
	p.int(4)
	p.str("long")
	p.int(4)
	p.op('u', 'u')
	p.stop()
	p.Write(stateDictPickle(true, storages, entries))
	p.proto()
	p.op(']', '(')
	for i, st := range storages {
		if used[i] {
			p.str(st.key)
		}
	}
	p.op('e')
	p.stop()
	if _, err := w.Write(p.Bytes()); err != nil {
		return err
	}
	for i, st := range storages {
		if !used[i] {
			continue
		}
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(st.numel))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(st.raw); err != nil {
			return err
		}
	}
	return nil
}
