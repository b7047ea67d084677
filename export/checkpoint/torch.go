package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"math/big"
	"path"
	"strings"
	"unsafe"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// torch's legacy magic number and protocol version (torch/serialization.py).
const (
	legacyMagicHex        = "1950a86a20f9469cfc6c"
	legacyProtocolVersion = 1001
	// maxPickle bounds the state-dict pickle (RoBERTa-large's is ~60 KB).
	maxPickle = 256 << 20
)

var littleEndianHost = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// storageClass is a torch.<Type>Storage global.
type storageClass struct{ dtype DType }

// Call builds the storage placeholder that a persistent id refers to.
func (c *storageClass) Call(args ...any) (any, error) {
	return nil, fmt.Errorf("torch storage class %s cannot be called", c.dtype)
}

var storageClasses = map[string]DType{
	"FloatStorage":    Float32,
	"HalfStorage":     Float16,
	"BFloat16Storage": BFloat16,
	"DoubleStorage":   Float64,
	"LongStorage":     Int64,
	"IntStorage":      Int32,
	"ShortStorage":    Int16,
	"CharStorage":     Int8,
	"ByteStorage":     Uint8,
	"BoolStorage":     Bool,
}

// rootStorage is one serialized storage: its element type, size and, once
// read, its values.
type rootStorage struct {
	key    string
	dtype  DType
	numel  int
	f32    []float32
	i64    []int64
	loaded bool
}

// storageID checks a persistent storage id of the given number of fields
// ('storage', storage_type, key, location, numel, ...) and returns its
// storage class, key and element count; what names the id in errors.
func storageID(pid *types.Tuple, fields int, what string) (*storageClass, string, int, error) {
	if pid.Len() != fields {
		return nil, "", 0, fmt.Errorf("%s has %d fields, want %d", what, pid.Len(), fields)
	}
	cls, ok1 := pid.Get(1).(*storageClass)
	key, ok2 := pid.Get(2).(string)
	numel, ok3 := toInt(pid.Get(4))
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, "", 0, fmt.Errorf("malformed %s %v", what, *pid)
	}
	return cls, key, numel, nil
}

// reannounced checks that a storage named again by a later persistent id
// has the type and size it was first announced with.
func (r *rootStorage) reannounced(cls *storageClass, numel int) error {
	if r.dtype != cls.dtype || r.numel != numel {
		return fmt.Errorf("storage %s announced twice with different types or sizes", r.key)
	}
	return nil
}

// storageRef is what a persistent id resolves to: a root storage or (legacy
// view metadata) a window into one.
type storageRef struct {
	root          *rootStorage
	offset, numel int
}

// tensorRef is the result of torch._utils._rebuild_tensor_v2 before the
// storage data is known.
type tensorRef struct {
	st     *storageRef
	offset int
	size   []int
	stride []int
}

// rebuildTensor implements torch._utils._rebuild_tensor_v2 (6 or 7 args) and
// the older _rebuild_tensor (4 args).
type rebuildTensor struct{}

// Call implements torch._utils._rebuild_tensor_v2: a view of a storage.
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 || len(args) > 7 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want 4 to 7", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: first argument is %T, not a storage", args[0])
	}
	off, ok := toInt(args[1])
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset is %T, not an int", args[1])
	}
	size, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %v", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %v", err)
	}
	return &tensorRef{st: st, offset: off, size: size, stride: stride}, nil
}

// rebuildParameter implements torch._utils._rebuild_parameter(data, requires_grad, hooks).
type rebuildParameter struct{}

// Call implements torch._utils._rebuild_parameter: the wrapped tensor.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: first argument is %T, not a tensor", args[0])
	}
	return t, nil
}

// rebuildFromType implements torch._tensor._rebuild_from_type_v2(func,
// new_type, args, state) (tensor subclasses, Parameters in newer torch):
// the tensor is func(*args); the type and state are dropped.
type rebuildFromType struct{}

// Call implements torch._utils._rebuild_from_type(_v2): the wrapped tensor.
func (rebuildFromType) Call(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_from_type_v2: %d arguments, want 4", len(args))
	}
	fn, ok := args[0].(types.Callable)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: %T is not callable", args[0])
	}
	inner, ok := args[2].(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: arguments are %T, not a tuple", args[2])
	}
	t, err := fn.Call(*inner...)
	if err != nil {
		return nil, err
	}
	if _, ok := t.(*tensorRef); !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2 built %T, not a tensor", t)
	}
	return t, nil
}

// tensorType stands for the torch.Tensor / torch.nn.Parameter classes
// passed to _rebuild_from_type_v2; it cannot be called.
type tensorType struct{ name string }

// Call builds an empty tensor of the legacy tensor type (torch.FloatTensor() and kin).
func (c tensorType) Call(args ...any) (any, error) {
	return nil, fmt.Errorf("class %s cannot be instantiated from a state dict", c.name)
}

func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	case "torch._tensor._rebuild_from_type_v2":
		return rebuildFromType{}, nil
	case "torch.Tensor", "torch.nn.parameter.Parameter":
		return tensorType{module + "." + name}, nil
	}
	if module == "torch" {
		if dt, ok := storageClasses[name]; ok {
			return &storageClass{dtype: dt}, nil
		}
		if strings.HasSuffix(name, "Storage") {
			return nil, fmt.Errorf("%w: torch.%s", ErrDType, name)
		}
	}
	return nil, fmt.Errorf("unsupported pickled class %s.%s (a state dict holds only tensors)", module, name)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case *big.Int:
		if x.IsInt64() {
			return int(x.Int64()), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// tupleItems returns the elements of a pickled tuple or list.
func tupleItems(v any) ([]any, error) {
	switch x := v.(type) {
	case *types.Tuple:
		return *x, nil
	case *types.List:
		return *x, nil
	}
	return nil, fmt.Errorf("%T is not a tuple", v)
}

// intTuple reads a pickled tuple or list of integers.
func intTuple(v any) ([]int, error) {
	items, err := tupleItems(v)
	if err != nil {
		return nil, err
	}
	return ints(items)
}

// ints converts pickled integers (or bools) to ints.
func ints(items []any) ([]int, error) {
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := toInt(it)
		if !ok {
			return nil, fmt.Errorf("element %d is %T, not an int", i, it)
		}
		out[i] = n
	}
	return out, nil
}

// unpickleStateDict runs the unpickler on a scanned pickle with torch's hooks.
func unpickleStateDict(data []byte, persistent func(pid *types.Tuple) (*storageRef, error)) (any, error) {
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() == 0 {
			return nil, fmt.Errorf("persistent id is %T, not a tuple", id)
		}
		if s, _ := t.Get(0).(string); s != "storage" {
			return nil, fmt.Errorf("persistent id of type %v, want \"storage\"", t.Get(0))
		}
		return persistent(t)
	}
	return u.Load()
}

// stateDictEntries lists (key, tensor) pairs of the unpickled top-level object
// in order. It accepts an OrderedDict or dict of tensors, or a dict holding
// one under "state_dict".
func stateDictEntries(file string, obj any) ([]string, []*tensorRef, error) {
	type kv struct {
		k any
		v any
	}
	var items []kv
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			en := e.Value.(*types.OrderedDictEntry)
			items = append(items, kv{en.Key, en.Value})
		}
	case *types.Dict:
		for _, en := range *d {
			items = append(items, kv{en.Key, en.Value})
		}
	default:
		return nil, nil, newErr(file, "", ErrCorrupt, "top-level object is %T, not a state dict", obj)
	}
	for _, it := range items {
		if k, _ := it.k.(string); k == "state_dict" {
			if _, isTensor := it.v.(*tensorRef); !isTensor {
				return stateDictEntries(file, it.v)
			}
		}
	}
	keys := make([]string, 0, len(items))
	refs := make([]*tensorRef, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		k, ok := it.k.(string)
		if !ok {
			return nil, nil, newErr(file, "", ErrCorrupt, "state-dict key %v is %T, not a string", it.k, it.k)
		}
		t, ok := it.v.(*tensorRef)
		if !ok {
			return nil, nil, newErr(file, k, ErrCorrupt, "value is %T, not a tensor", it.v)
		}
		if seen[k] {
			return nil, nil, newErr(file, k, ErrCorrupt, "duplicate key")
		}
		seen[k] = true
		keys = append(keys, k)
		refs = append(refs, t)
	}
	return keys, refs, nil
}

// readTorchLegacy reads torch's legacy (non-zip) serialization.
func readTorchLegacy(file string, r io.ReaderAt, size int64) (*Checkpoint, error) {
	src := newSource(r, 0, size)
	wrap := func(what string, err error) error {
		var ce *Error
		if errors.As(err, &ce) {
			return err
		}
		kind := ErrCorrupt
		if errors.Is(err, io.ErrUnexpectedEOF) {
			kind = ErrTruncated
		} else if errors.Is(err, ErrDType) {
			kind = ErrDType
		}
		return newErr(file, "", kind, "%s: %v", what, err)
	}
	small := func(what string) (any, error) {
		data, err := scanPickle(src, 1<<20)
		if err != nil {
			return nil, wrap(what, err)
		}
		u := pickle.NewUnpickler(bytes.NewReader(data))
		v, err := u.Load()
		if err != nil {
			return nil, wrap(what, err)
		}
		return v, nil
	}
	magic, err := small("magic number")
	if err != nil {
		return nil, err
	}
	if n, ok := magic.(*big.Int); !ok || n.Text(16) != legacyMagicHex {
		return nil, newErr(file, "", ErrFormat, "not a torch file: magic number %v, want 0x%s", magic, legacyMagicHex)
	}
	proto, err := small("protocol version")
	if err != nil {
		return nil, err
	}
	if n, ok := toInt(proto); !ok || n != legacyProtocolVersion {
		return nil, newErr(file, "", ErrFormat, "torch protocol version %v, want %d", proto, legacyProtocolVersion)
	}
	sysInfo, err := small("sys info")
	if err != nil {
		return nil, err
	}
	if d, ok := sysInfo.(*types.Dict); ok {
		if le, found := d.Get("little_endian"); found && le != true {
			return nil, newErr(file, "", ErrFormat, "big-endian torch files are not supported")
		}
	}

	roots := map[string]*rootStorage{}
	data, err := scanPickle(src, maxPickle)
	if err != nil {
		return nil, wrap("state-dict pickle", err)
	}
	obj, err := unpickleStateDict(data, func(pid *types.Tuple) (*storageRef, error) {
		// ('storage', storage_type, root_key, location, root_size, view_metadata)
		cls, key, numel, err := storageID(pid, 6, "legacy storage id")
		if err != nil {
			return nil, err
		}
		root, ok := roots[key]
		if !ok {
			root = &rootStorage{key: key, dtype: cls.dtype, numel: numel}
			roots[key] = root
		} else if err := root.reannounced(cls, numel); err != nil {
			return nil, err
		}
		ref := &storageRef{root: root, numel: numel}
		if vm := pid.Get(5); vm != nil {
			v, err := intTupleAt(vm, 1, 2)
			if err != nil {
				return nil, fmt.Errorf("storage %s view metadata: %v", key, err)
			}
			if v[0] < 0 || v[1] < 0 || v[0] > numel || v[1] > numel-v[0] {
				return nil, fmt.Errorf("storage %s view [%d, +%d) lies outside its %d elements", key, v[0], v[1], numel)
			}
			ref.offset, ref.numel = v[0], v[1]
		}
		return ref, nil
	})
	if err != nil {
		return nil, wrap("state-dict pickle", err)
	}
	keys, refs, err := stateDictEntries(file, obj)
	if err != nil {
		return nil, err
	}
	keyList, err := small("storage key list")
	if err != nil {
		return nil, err
	}
	list, ok := keyList.(*types.List)
	if !ok {
		return nil, newErr(file, "", ErrCorrupt, "storage key list is %T, not a list", keyList)
	}
	for i, k := range *list {
		key, ok := k.(string)
		if !ok {
			return nil, newErr(file, "", ErrCorrupt, "storage key %d is %T, not a string", i, k)
		}
		root, ok := roots[key]
		if !ok {
			return nil, newErr(file, "", ErrCorrupt, "storage %q has data but no tensor refers to it", key)
		}
		if root.loaded {
			return nil, newErr(file, "", ErrCorrupt, "storage %q listed twice", key)
		}
		var cnt [8]byte
		if err := src.readFull(cnt[:]); err != nil {
			return nil, newErr(file, keyOfStorage(keys, refs, root), ErrTruncated, "storage %q: element count missing at offset %d", key, src.off)
		}
		n := int64(binary.LittleEndian.Uint64(cnt[:]))
		if n != int64(root.numel) {
			return nil, newErr(file, keyOfStorage(keys, refs, root), ErrCorrupt, "storage %q holds %d elements, its tensors announced %d", key, n, root.numel)
		}
		if err := loadStorage(root, n, src.remaining(), func(p []byte) error { return src.readFull(p) }); err != nil {
			return nil, newErr(file, keyOfStorage(keys, refs, root), errKind(err), "storage %q at offset %d: %v", key, src.off, err)
		}
	}
	// torch writes nothing after the last storage. The legacy format has no
	// checksum, so bytes there are the one sign of damage (a second file
	// appended, a copy that went wrong) a reader can see: reject them.
	if rest := src.remaining(); rest > 0 {
		return nil, newErr(file, "", ErrCorrupt, "%d bytes of trailing data at offset %d, after the last storage (torch writes nothing there)", rest, src.off)
	}
	return materialize(file, keys, refs)
}

func errKind(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTruncated
	case errors.Is(err, ErrDType):
		return ErrDType
	}
	return ErrCorrupt
}

// keyOfStorage names the first tensor that uses root, for error messages.
func keyOfStorage(keys []string, refs []*tensorRef, root *rootStorage) string {
	for i, r := range refs {
		if r.st.root == root {
			return keys[i]
		}
	}
	return ""
}

// intTupleAt reads the n integers from index from of a pickled tuple or
// list of exactly from+n elements.
func intTupleAt(v any, from, n int) ([]int, error) {
	items, err := tupleItems(v)
	if err != nil {
		return nil, err
	}
	if len(items) != n+from {
		return nil, fmt.Errorf("%d fields, want %d", len(items), n+from)
	}
	return ints(items[from:])
}

// loadStorage reads n elements of root's dtype with read, checking first that
// they fit in the avail bytes left.
func loadStorage(root *rootStorage, n, avail int64, read func([]byte) error) error {
	es := int64(root.dtype.size())
	if es == 0 {
		return fmt.Errorf("%w %q", ErrDType, root.dtype)
	}
	if n < 0 || n > avail/es {
		return fmt.Errorf("needs %d elements of %d bytes, only %d bytes left: %w", n, es, avail, io.ErrUnexpectedEOF)
	}
	switch root.dtype {
	case Float32:
		f := make([]float32, n)
		if littleEndianHost {
			if err := read(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), n*4)); err != nil {
				return err
			}
		} else {
			b := make([]byte, n*4)
			if err := read(b); err != nil {
				return err
			}
			for i := range f {
				f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		root.f32 = f
	default:
		b := make([]byte, n*es)
		if err := read(b); err != nil {
			return err
		}
		if root.dtype.IsFloat() {
			root.f32 = decodeFloats(root.dtype, b)
		} else {
			root.i64 = decodeInts(root.dtype, b)
		}
	}
	root.loaded = true
	return nil
}

func decodeFloats(dt DType, b []byte) []float32 {
	switch dt {
	case Float32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	case Float64:
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out
	case BFloat16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out
	case Float16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out
	}
	return nil
}

func decodeInts(dt DType, b []byte) []int64 {
	es := dt.size()
	out := make([]int64, len(b)/es)
	for i := range out {
		switch dt {
		case Int64:
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		case Int32:
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		case Int16:
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		case Int8:
			out[i] = int64(int8(b[i]))
		case Uint8:
			out[i] = int64(b[i])
		case Bool:
			if b[i] != 0 {
				out[i] = 1
			}
		}
	}
	return out
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// readTorchZip reads torch's zip serialization: <prefix>/data.pkl and
// <prefix>/data/<key>, under any single prefix folder.
func readTorchZip(file string, r io.ReaderAt, size int64) (*Checkpoint, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		kind := ErrCorrupt
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrFormat) {
			kind = ErrTruncated
		}
		return nil, newErr(file, "", kind, "zip archive: %v", err)
	}
	records := make(map[string]*zip.File, len(zr.File))
	prefix := ""
	for _, f := range zr.File {
		records[f.Name] = f
		if dir, base := path.Split(f.Name); base == "data.pkl" && strings.Count(dir, "/") == 1 {
			if prefix != "" && prefix != dir {
				return nil, newErr(file, "", ErrCorrupt, "zip archive holds two data.pkl files (%sdata.pkl, %sdata.pkl)", prefix, dir)
			}
			prefix = dir
		}
	}
	if prefix == "" {
		return nil, newErr(file, "", ErrFormat, "zip archive has no <prefix>/data.pkl: not a torch checkpoint")
	}
	if _, ok := records[prefix+"constants.pkl"]; ok {
		return nil, newErr(file, "", ErrFormat, "TorchScript archives are not supported; save the model's state_dict()")
	}
	if bo, ok := records[prefix+"byteorder"]; ok {
		b, err := readZipEntry(bo, 16)
		if err != nil {
			return nil, newErr(file, "", ErrCorrupt, "%sbyteorder: %v", prefix, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, newErr(file, "", ErrFormat, "byte order %q is not supported", s)
		}
	}
	pk := records[prefix+"data.pkl"]
	raw, err := readZipEntry(pk, maxPickle)
	if err != nil {
		return nil, newErr(file, "", errKind(err), "%sdata.pkl: %v", prefix, err)
	}
	// Scan it like a legacy pickle so that no length field can exceed its size.
	data, err := scanPickle(newSource(bytes.NewReader(raw), 0, int64(len(raw))), maxPickle)
	if err != nil {
		return nil, newErr(file, "", errKind(err), "%sdata.pkl: %v", prefix, err)
	}
	roots := map[string]*rootStorage{}
	recordOf := map[*rootStorage]*zip.File{}
	obj, err := unpickleStateDict(data, func(pid *types.Tuple) (*storageRef, error) {
		// ('storage', storage_type, key, location, numel)
		cls, key, numel, err := storageID(pid, 5, "storage id")
		if err != nil {
			return nil, err
		}
		if root, ok := roots[key]; ok {
			if err := root.reannounced(cls, numel); err != nil {
				return nil, err
			}
			return &storageRef{root: root, numel: numel}, nil
		}
		f, ok := records[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage %s: record %sdata/%s is missing", key, prefix, key)
		}
		root := &rootStorage{key: key, dtype: cls.dtype, numel: numel}
		roots[key] = root
		recordOf[root] = f
		return &storageRef{root: root, numel: numel}, nil
	})
	if err != nil {
		return nil, newErr(file, "", errKind(err), "%sdata.pkl: %v", prefix, err)
	}
	keys, refs, err := stateDictEntries(file, obj)
	if err != nil {
		return nil, err
	}
	// Storages are read once the keys are known, so that an error names the
	// tensor as well as the record; only the records the state dict uses are
	// read, and each is checked against its CRC-32.
	for _, ref := range refs {
		root := ref.st.root
		if root.loaded {
			continue
		}
		f := recordOf[root]
		if err := loadZipStorage(root, f); err != nil {
			return nil, newErr(file, keyOfStorage(keys, refs, root), errKind(err), "storage %q (record %s): %v", root.key, f.Name, err)
		}
	}
	return materialize(file, keys, refs)
}

// errChecksum reports a zip record whose data does not match its CRC-32.
var errChecksum = errors.New("CRC-32 mismatch")

// zipRecordReader opens f for reading through a CRC-32 hash.
type zipRecordReader struct {
	f  *zip.File
	rc io.ReadCloser
	h  hash.Hash32
	r  io.Reader
}

func openZipRecord(f *zip.File) (*zipRecordReader, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	h := crc32.NewIEEE()
	return &zipRecordReader{f: f, rc: rc, h: h, r: io.TeeReader(rc, h)}, nil
}

// finish reads the record to its end (where archive/zip checks the size and
// the CRC-32 it knows of) and compares the CRC-32 of every byte read with
// the one the archive records, also when that is zero (archive/zip skips
// the check then).
func (z *zipRecordReader) finish() error {
	defer z.rc.Close()
	var one [1]byte
	n, err := io.ReadFull(z.r, one[:])
	if n > 0 {
		return fmt.Errorf("record is longer than its %d-byte size: %w", z.f.UncompressedSize64, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF && !errors.Is(err, zip.ErrChecksum) {
		return fmt.Errorf("%v: %w", err, io.ErrUnexpectedEOF)
	}
	if got := z.h.Sum32(); got != z.f.CRC32 || errors.Is(err, zip.ErrChecksum) {
		return fmt.Errorf("%w: the data has %08x, the archive records %08x (the file is damaged)", errChecksum, got, z.f.CRC32)
	}
	return nil
}

// loadZipStorage reads root's elements from record f, which must hold
// exactly their bytes, and verifies the record's CRC-32.
func loadZipStorage(root *rootStorage, f *zip.File) error {
	es := int64(root.dtype.size())
	if es == 0 {
		return fmt.Errorf("%w %q", ErrDType, root.dtype)
	}
	if int64(root.numel) > math.MaxInt64/es {
		return fmt.Errorf("%d elements of %d bytes overflow", root.numel, es)
	}
	need := int64(root.numel) * es
	if f.UncompressedSize64 != uint64(need) {
		err := fmt.Errorf("record holds %d bytes, its %d elements of %s need %d", f.UncompressedSize64, root.numel, root.dtype, need)
		if f.UncompressedSize64 < uint64(need) {
			err = fmt.Errorf("%w: %w", err, io.ErrUnexpectedEOF)
		}
		return err
	}
	avail := need
	if f.Method != zip.Store && avail > int64(f.CompressedSize64)*1100 {
		avail = int64(f.CompressedSize64) * 1100 // deflate cannot expand more
	}
	z, err := openZipRecord(f)
	if err != nil {
		return err
	}
	err = loadStorage(root, int64(root.numel), avail, func(p []byte) error {
		if _, err := io.ReadFull(z.r, p); err != nil {
			if errors.Is(err, zip.ErrChecksum) {
				return fmt.Errorf("%w: %v", errChecksum, err)
			}
			return fmt.Errorf("%v: %w", err, io.ErrUnexpectedEOF)
		}
		return nil
	})
	if err != nil {
		z.rc.Close()
		root.loaded, root.f32, root.i64 = false, nil, nil
		return err
	}
	if err := z.finish(); err != nil {
		root.loaded, root.f32, root.i64 = false, nil, nil
		return err
	}
	return nil
}

// readZipEntry reads a whole small record of at most limit bytes and
// verifies its CRC-32.
func readZipEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record of %d bytes exceeds the %d-byte limit", f.UncompressedSize64, limit)
	}
	z, err := openZipRecord(f)
	if err != nil {
		return nil, err
	}
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(z.r, b); err != nil {
		z.rc.Close()
		if errors.Is(err, zip.ErrChecksum) {
			return nil, fmt.Errorf("%w: %v", errChecksum, err)
		}
		return nil, fmt.Errorf("%v: %w", err, io.ErrUnexpectedEOF)
	}
	if err := z.finish(); err != nil {
		return nil, err
	}
	return b, nil
}

// materialize turns tensor references into contiguous tensors. Contiguous
// views share the storage's slice; strided views are copied, within a budget
// that bounds what a malicious file can make us allocate.
func materialize(file string, keys []string, refs []*tensorRef) (*Checkpoint, error) {
	c := &Checkpoint{Keys: keys, Tensors: make(map[string]*Tensor, len(keys))}
	budget := 1 << 24
	seenRoot := map[*rootStorage]bool{}
	for _, r := range refs {
		if !seenRoot[r.st.root] {
			seenRoot[r.st.root] = true
			budget += r.st.root.numel
		}
	}
	for i, k := range keys {
		r := refs[i]
		root := r.st.root
		if !root.loaded {
			return nil, newErr(file, k, ErrCorrupt, "storage %q has no data in the file", root.key)
		}
		t := &Tensor{Name: k, DType: root.dtype, Shape: r.size}
		if len(r.size) != len(r.stride) {
			return nil, newErr(file, k, ErrCorrupt, "size %v and stride %v differ in rank", r.size, r.stride)
		}
		numel := 1
		last := r.st.offset + r.offset // highest element index touched
		if r.offset < 0 {
			return nil, newErr(file, k, ErrCorrupt, "negative storage offset %d", r.offset)
		}
		for d, n := range r.size {
			if n < 0 || r.stride[d] < 0 {
				return nil, newErr(file, k, ErrCorrupt, "negative size or stride (size %v, stride %v)", r.size, r.stride)
			}
			if n != 0 && numel > math.MaxInt32*64/n {
				return nil, newErr(file, k, ErrCorrupt, "shape %v is too large", r.size)
			}
			numel *= n
		}
		if numel > 0 {
			for d, n := range r.size {
				if r.stride[d] > math.MaxInt32*64/max(n, 1) {
					return nil, newErr(file, k, ErrCorrupt, "stride %v is too large", r.stride)
				}
				last += (n - 1) * r.stride[d]
			}
			if last >= r.st.offset+r.st.numel || last >= root.numel {
				return nil, newErr(file, k, ErrCorrupt,
					"storage %q of %d elements is shorter than the view (offset %d, size %v, stride %v needs element %d)",
					root.key, r.st.numel, r.offset, r.size, r.stride, last-r.st.offset)
			}
		}
		base := r.st.offset + r.offset
		if isContiguous(r.size, r.stride) {
			if root.dtype.IsFloat() {
				t.Data = root.f32[base : base+numel : base+numel]
			} else {
				t.Int64 = root.i64[base : base+numel : base+numel]
			}
		} else {
			budget -= numel
			if budget < 0 {
				return nil, newErr(file, k, ErrCorrupt, "strided views expand to more elements than the file's storages hold")
			}
			if root.dtype.IsFloat() {
				t.Data = make([]float32, numel)
				forEachStrided(base, r.size, r.stride, func(j, at int) { t.Data[j] = root.f32[at] })
			} else {
				t.Int64 = make([]int64, numel)
				forEachStrided(base, r.size, r.stride, func(j, at int) { t.Int64[j] = root.i64[at] })
			}
		}
		if t.Data == nil && root.dtype.IsFloat() {
			t.Data = []float32{}
		}
		if t.Int64 == nil && !root.dtype.IsFloat() {
			t.Int64 = []int64{}
		}
		c.Tensors[k] = t
	}
	return c, nil
}

// isContiguous reports whether stride is the row-major stride of size
// (dimensions of size 1 may have any stride).
func isContiguous(size, stride []int) bool {
	want := 1
	for d := len(size) - 1; d >= 0; d-- {
		if size[d] != 1 && stride[d] != want {
			return false
		}
		want *= size[d]
	}
	return true
}

// forEachStrided calls fn(j, at) for the j-th element in row-major order and
// its storage index at.
func forEachStrided(base int, size, stride []int, fn func(j, at int)) {
	for _, n := range size {
		if n == 0 {
			return
		}
	}
	idx := make([]int, len(size))
	at := base
	for j := 0; ; j++ {
		fn(j, at)
		d := len(size) - 1
		for ; d >= 0; d-- {
			idx[d]++
			at += stride[d]
			if idx[d] < size[d] {
				break
			}
			at -= stride[d] * size[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}
