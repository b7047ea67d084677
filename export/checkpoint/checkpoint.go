// Package checkpoint reads model weights from PyTorch's legacy pickle format
// (what torch <= 1.5 wrote, and what the released K-Adapter files are), its zip
// format (torch >= 1.6) and safetensors, choosing the reader by sniffing the
// file's first bytes. Every tensor comes back contiguous, row-major and as
// float32 (float16, bfloat16 and float64 are converted; integer and bool
// tensors are kept as int64 in Tensor.Int64). Views into shared storages
// (storage offsets, strides, tied weights) are materialised.
//
// Bad input never panics: truncated files, corrupt pickles, wrong magic
// numbers, storages shorter than a view, unknown dtypes and mismatched shapes
// give an *Error naming the file and, where known, the key.
//
// The package also writes safetensors and both torch formats (for tests,
// benchmarks and interoperability), and turns key maps into the typed
// structures the ONNX exporter uses (RobertaWeights, AdapterWeights,
// TaskWeights); see keys.go.
package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// DType is the element type a tensor had in its file.
type DType string

// Element types the readers understand.
const (
	Float32  DType = "float32"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Float64  DType = "float64"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// IsFloat reports whether d is a floating-point type (read into Tensor.Data).
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float16 || d == BFloat16 || d == Float64
}

// size returns the element size in bytes, 0 for an unknown type.
func (d DType) size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	case Float16, BFloat16, Int16:
		return 2
	case Int8, Uint8, Bool:
		return 1
	}
	return 0
}

// Tensor is one named tensor of a checkpoint, contiguous and row-major.
//
// Data holds the values of floating-point tensors (converted to float32);
// Int64 holds integer and bool tensors (Data is then nil). Tensors that were
// contiguous views of one storage in the file may share their backing array
// (tied weights): treat Data as read-only, or copy it first.
type Tensor struct {
	// Name is the state-dict key.
	Name string
	// Shape is the tensor's shape; empty for a scalar.
	Shape []int
	// Data is the row-major float32 values of a floating-point tensor.
	Data []float32
	// DType is the element type in the file.
	DType DType
	// Int64 is the row-major values of an integer or bool tensor.
	Int64 []int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ShapeString formats the shape like PyTorch does ("[64, 128]").
func (t *Tensor) ShapeString() string { return shapeString(t.Shape) }

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Format identifies a checkpoint file format.
type Format int

// Formats Open recognises.
const (
	FormatUnknown     Format = iota
	FormatTorchLegacy        // torch.save before 1.6 (a sequence of pickles, then raw storages)
	FormatTorchZip           // torch.save since 1.6 (zip: <prefix>/data.pkl + <prefix>/data/<key>)
	FormatSafetensors        // safetensors (8-byte header length, JSON header, raw data)
)

// String returns the format's short name.
func (f Format) String() string {
	switch f {
	case FormatTorchLegacy:
		return "torch-legacy"
	case FormatTorchZip:
		return "torch-zip"
	case FormatSafetensors:
		return "safetensors"
	}
	return "unknown"
}

// Checkpoint is a loaded checkpoint with its keys in file order.
type Checkpoint struct {
	// Path is the file it was read from (or the name given to Read).
	Path string
	// Format is the detected file format.
	Format Format
	// Keys lists the tensor names in file order (state-dict order for torch
	// files, data-offset order for safetensors).
	Keys []string
	// Tensors maps each key to its tensor.
	Tensors map[string]*Tensor
	// Metadata is the safetensors "__metadata__" map (nil otherwise).
	Metadata map[string]string
}

// Ordered returns the tensors in file order.
func (c *Checkpoint) Ordered() []*Tensor {
	out := make([]*Tensor, len(c.Keys))
	for i, k := range c.Keys {
		out[i] = c.Tensors[k]
	}
	return out
}

// Sentinel errors, matched with errors.Is on the *Error a reader returns.
var (
	// ErrFormat: not a recognised checkpoint format, or a wrong magic number /
	// protocol version / unsupported variant (TorchScript, big-endian, tar).
	ErrFormat = errors.New("unrecognised checkpoint format")
	// ErrTruncated: the file ends before the data it announces.
	ErrTruncated = errors.New("file is truncated")
	// ErrCorrupt: the structure is inconsistent (bad pickle, bad header,
	// storage shorter than a view, missing storage record, ...).
	ErrCorrupt = errors.New("corrupt checkpoint")
	// ErrDType: an element type the reader does not support.
	ErrDType = errors.New("unsupported dtype")
	// ErrMissingKey: a required key is absent.
	ErrMissingKey = errors.New("missing key")
	// ErrShape: a tensor's shape is not the one required.
	ErrShape = errors.New("shape mismatch")
	// ErrUnexpectedKey: a key that strict checking does not allow.
	ErrUnexpectedKey = errors.New("unexpected key")
	// ErrIO: the file could not be opened, read or written.
	ErrIO = errors.New("I/O error")
)

// Error is the error every function of this package returns: it names the
// file and, where known, the key.
type Error struct {
	File string // the checkpoint file
	Key  string // the state-dict key, "" when unknown or not applicable
	Kind error  // one of the Err* sentinels
	Msg  string // details
}

// Error formats "checkpoint FILE: key KEY: kind: details".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint ")
	b.WriteString(e.File)
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap returns the sentinel kind so errors.Is works.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(file, key string, kind error, format string, args ...any) *Error {
	return &Error{File: file, Key: key, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Load reads a checkpoint file in any supported format and returns its
// tensors by key.
func Load(path string) (map[string]*Tensor, error) {
	c, err := Open(path)
	if err != nil {
		return nil, err
	}
	return c.Tensors, nil
}

// Open reads a checkpoint file in any supported format, sniffing the format
// from its first bytes.
func Open(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, newErr(path, "", ErrIO, "%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, newErr(path, "", ErrIO, "%v", err)
	}
	if st.IsDir() {
		return nil, newErr(path, "", ErrFormat, "is a directory")
	}
	return Read(path, f, st.Size())
}

// Read reads a checkpoint of the given size from r; name is used in errors
// and as Checkpoint.Path.
func Read(name string, r io.ReaderAt, size int64) (*Checkpoint, error) {
	format, err := Sniff(name, r, size)
	if err != nil {
		return nil, err
	}
	return readAs(name, r, size, format)
}

// catchPanics is cleared by fuzz tests that hunt for panics
// (KADAPTER_FUZZ_PANICS=1).
var catchPanics = true

// readAs runs the reader of one format, turning any panic of the pickle
// machinery on malformed data into an error.
func readAs(name string, r io.ReaderAt, size int64, format Format) (c *Checkpoint, err error) {
	defer func() {
		if !catchPanics {
			return
		}
		if p := recover(); p != nil {
			c = nil
			err = newErr(name, "", ErrCorrupt, "reader failed on malformed data: %v", p)
		}
	}()
	switch format {
	case FormatTorchZip:
		c, err = readTorchZip(name, r, size)
	case FormatSafetensors:
		c, err = readSafetensors(name, r, size)
	case FormatTorchLegacy:
		c, err = readTorchLegacy(name, r, size)
	default:
		return nil, newErr(name, "", ErrFormat, "format %s", format)
	}
	if err != nil {
		return nil, err
	}
	c.Path = name
	c.Format = format
	return c, nil
}

// Sniff detects the format of a checkpoint from its first bytes.
func Sniff(name string, r io.ReaderAt, size int64) (Format, error) {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return FormatUnknown, newErr(name, "", ErrIO, "reading header: %v", err)
	}
	head = head[:n]
	switch {
	case n == 0:
		return FormatUnknown, newErr(name, "", ErrTruncated, "empty file")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return FormatTorchZip, nil
	case n >= 9 && head[8] == '{':
		return FormatSafetensors, nil
	case n >= 262 && string(head[257:262]) == "ustar":
		return FormatUnknown, newErr(name, "", ErrFormat, "tar-based torch checkpoint (torch < 0.4) is not supported; re-save it with a newer torch")
	case head[0] == 0x80:
		return FormatTorchLegacy, nil
	}
	return FormatUnknown, newErr(name, "", ErrFormat, "first bytes % x are neither a torch pickle (0x80), a zip archive (PK) nor a safetensors header", head[:min(n, 8)])
}

// sortedKeys returns the map's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
