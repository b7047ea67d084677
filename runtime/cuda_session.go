package runtime

/*
#include <stdlib.h>
#include <string.h>
#include "cuda_capi.h"
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Session config entries set by DeviceSession (and by Session for
// DisableCPUFallback).
const (
	// ConfigDisableCPUFallback makes session creation fail when any node
	// would be assigned to the CPU execution provider although a device
	// provider was requested.
	ConfigDisableCPUFallback = "session.disable_cpu_ep_fallback"
	// ConfigRecordPlacement makes ONNX Runtime keep the node-to-provider
	// assignment that DeviceSession.Placement reports.
	ConfigRecordPlacement = "session.record_ep_graph_assignment_info"
)

// CUDAProviderOptions returns the CUDA execution provider options for d
// merged with extra (extra wins; device_id always comes from d).
func CUDAProviderOptions(d Device, extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range extra {
		m[k] = v
	}
	m["device_id"] = strconv.Itoa(d.ID)
	return m
}

// DeviceSession is a session whose inputs and outputs can live in device
// memory: it is created through the C layer (not onnxruntime_go), owns an
// allocator for its device, and runs Bindings of DeviceBuffers. On the CPU
// device the same code path runs with CPU memory. Unlike Session, a
// DeviceSession is meant to be driven by one goroutine at a time per
// Binding.
type DeviceSession struct {
	path    string
	opts    Options
	sess    *C.OrtSession
	mem     *C.OrtMemoryInfo // the device's memory (Cpu or Cuda, id)
	alloc   *C.OrtAllocator  // nil on the CPU: ONNX Runtime's default allocator
	inputs  []IOInfo
	outputs []IOInfo
	mu      sync.Mutex
}

// OpenDevice opens a DeviceSession on the graph at path. opts.Device picks
// the device; opts.CUDA adds CUDA provider options (e.g. "use_tf32": "0");
// opts.DisableCPUFallback sets session.disable_cpu_ep_fallback (applied on
// CUDA only: on the CPU device every node is on the CPU by design).
// Placement is always recorded. A CUDA device on a machine without the
// CUDA provider, its libraries or a GPU returns a *DeviceError.
func OpenDevice(path string, opts Options) (*DeviceSession, error) {
	if err := initCAPI(opts.Device); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if opts.IntraOpThreads < 0 || opts.InterOpThreads < 0 {
		return nil, fmt.Errorf("model %s: thread counts must be >= 0 (0 = ONNX Runtime's default)", path)
	}
	lvl, err := ParseOptLevel(string(opts.Optimization))
	if err != nil {
		return nil, err
	}
	s := &DeviceSession{path: path, opts: opts}
	if s.inputs, s.outputs, err = ReadInterface(path); err != nil {
		return nil, fmt.Errorf("model %s: reading its inputs and outputs: %w", path, err)
	}
	cfg := map[string]string{ConfigRecordPlacement: "1"}
	cudaDev := C.int(-1)
	var cudaKeys, cudaVals []string
	if opts.Device.CUDA {
		cudaDev = C.int(opts.Device.ID)
		if opts.DisableCPUFallback {
			cfg[ConfigDisableCPUFallback] = "1"
		}
		PreloadCUDALibraries()
		m := CUDAProviderOptions(opts.Device, opts.CUDA)
		for _, k := range sortedKeys(m) {
			cudaKeys = append(cudaKeys, k)
			cudaVals = append(cudaVals, m[k])
		}
	}
	var cfgKeys, cfgVals []string
	for _, k := range sortedKeys(cfg) {
		cfgKeys = append(cfgKeys, k)
		cfgVals = append(cfgVals, cfg[k])
	}
	ck, freeCK := cStrings(cudaKeys)
	defer freeCK()
	cv, freeCV := cStrings(cudaVals)
	defer freeCV()
	fk, freeFK := cStrings(cfgKeys)
	defer freeFK()
	fv, freeFV := cStrings(cfgVals)
	defer freeFV()
	deviceErr := func(err error) error {
		if opts.Device.CUDA {
			return fmt.Errorf("model %s: %w", path, &DeviceError{Device: opts.Device, Library: LibraryPath(), Err: err})
		}
		return fmt.Errorf("model %s: %w", path, err)
	}
	var so *C.OrtSessionOptions
	if err := cerr(C.kort_session_options(C.int(opts.IntraOpThreads), C.int(opts.InterOpThreads), optLevelC(lvl), cudaDev,
		ck, cv, C.size_t(len(cudaKeys)), fk, fv, C.size_t(len(cfgKeys)), &so)); err != nil {
		return nil, deviceErr(err)
	}
	defer C.kort_release_session_options(so)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if err := cerr(C.kort_create_session(cpath, so, &s.sess)); err != nil {
		return nil, deviceErr(err)
	}
	name, id := C.CString("Cpu"), C.int(0)
	if opts.Device.CUDA {
		C.free(unsafe.Pointer(name))
		name, id = C.CString("Cuda"), C.int(opts.Device.ID)
	}
	defer C.free(unsafe.Pointer(name))
	if err := cerr(C.kort_memory_info(name, id, 1, &s.mem)); err != nil {
		C.kort_release_session(s.sess)
		return nil, deviceErr(err)
	}
	if opts.Device.CUDA {
		if err := cerr(C.kort_create_allocator(s.sess, s.mem, &s.alloc)); err != nil {
			s.Close()
			return nil, deviceErr(fmt.Errorf("creating the CUDA allocator: %w", err))
		}
	}
	runtime.SetFinalizer(s, func(s *DeviceSession) { s.Close() })
	return s, nil
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// Path is the graph file.
func (s *DeviceSession) Path() string { return s.path }

// Device is where the session runs and where its buffers live.
func (s *DeviceSession) Device() Device { return s.opts.Device }

// Inputs describes the graph's inputs, in graph order.
func (s *DeviceSession) Inputs() []IOInfo { return s.inputs }

// Outputs describes the graph's outputs, in graph order.
func (s *DeviceSession) Outputs() []IOInfo { return s.outputs }

// Close releases the session. Buffers it allocated hold a reference to
// its allocator and stay readable (tested on the CPU); on CUDA, close the
// buffers before the session that allocated them (the allocator belongs to
// that session's CUDA provider).
func (s *DeviceSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	if s.alloc != nil {
		C.kort_release_allocator(s.alloc)
		s.alloc = nil
	}
	if s.mem != nil {
		C.kort_release_memory_info(s.mem)
		s.mem = nil
	}
	C.kort_release_session(s.sess)
	s.sess = nil
	return nil
}

// NodePlacement is one graph node and the execution provider it runs on.
type NodePlacement struct {
	Provider string `json:"provider"`
	Node     string `json:"node"`
	Op       string `json:"op"`
}

// Placement is ONNX Runtime's assignment of the (basic-optimized) graph's
// nodes to execution providers.
type Placement struct {
	// Nodes counts nodes per provider ("CUDAExecutionProvider", ...).
	Nodes map[string]int `json:"nodes"`
	// Total is the number of nodes.
	Total int `json:"total"`
	// Assignments lists every node.
	Assignments []NodePlacement `json:"-"`
}

// On returns the nodes assigned to a provider other than want (e.g. the
// nodes a CUDA session left on the CPU).
func (p Placement) On(provider string) []NodePlacement {
	var out []NodePlacement
	for _, a := range p.Assignments {
		if a.Provider == provider {
			out = append(out, a)
		}
	}
	return out
}

// String summarises the placement, e.g. "CUDAExecutionProvider 120/122,
// CPUExecutionProvider 2/122 (Shape, Gather)".
func (p Placement) String() string {
	var parts []string
	for _, k := range sortedIntKeys(p.Nodes) {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, p.Nodes[k], p.Total))
	}
	return strings.Join(parts, ", ")
}

func sortedIntKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// Placement reports which execution provider each node runs on.
func (s *DeviceSession) Placement() (Placement, error) {
	var out *C.char
	if err := cerr(C.kort_placement(s.sess, &out)); err != nil {
		return Placement{}, fmt.Errorf("model %s: placement: %w", s.path, err)
	}
	defer C.kort_free(unsafe.Pointer(out))
	return parsePlacement(C.GoString(out)), nil
}

// DeviceBuffer is a tensor in the memory of a DeviceSession's device (CUDA
// memory for a CUDA session, CPU memory otherwise), owned by the caller:
// it stays resident across runs until Close. Bind it as a graph input or
// output; copy host data in and out explicitly.
type DeviceBuffer struct {
	v      *C.OrtValue
	dtype  string
	shape  []int64
	bytes  int64
	device Device
	name   string // ONNX Runtime's memory name ("Cpu", "Cuda")
	mu     sync.Mutex
}

// NewBuffer allocates an uninitialised tensor of dtype (float32, float64,
// int64, int32, uint8, int8, bool, float16, bfloat16) and shape on the
// session's device.
func (s *DeviceSession) NewBuffer(dtype string, shape []int64) (*DeviceBuffer, error) {
	et, ok := elemTypes[dtype]
	if !ok {
		return nil, fmt.Errorf("unsupported element type %q", dtype)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
		n *= d
	}
	var shp *C.int64_t
	if len(shape) > 0 {
		shp = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	var v *C.OrtValue
	if err := cerr(C.kort_tensor_alloc(s.alloc, shp, C.size_t(len(shape)), et, &v)); err != nil {
		return nil, fmt.Errorf("allocating %s %v on %s: %w", dtype, shape, s.opts.Device, err)
	}
	return wrapValue(v, s.opts.Device)
}

// wrapValue takes ownership of an OrtValue holding a tensor.
func wrapValue(v *C.OrtValue, d Device) (*DeviceBuffer, error) {
	var et, memID C.int
	dims := make([]int64, 16)
	var rank C.size_t
	var mem *C.char
	if err := cerr(C.kort_tensor_info(v, &et, (*C.int64_t)(unsafe.Pointer(&dims[0])), 16, &rank, &mem, &memID)); err != nil {
		C.kort_release_value(v)
		return nil, err
	}
	b := &DeviceBuffer{v: v, dtype: elemName(et), shape: append([]int64(nil), dims[:rank]...), device: d, name: C.GoString(mem)}
	if b.name != "Cpu" {
		b.device = Device{CUDA: true, ID: int(memID)}
	} else {
		b.device = CPU
	}
	n := int64(1)
	for _, x := range b.shape {
		n *= x
	}
	b.bytes = n * elemSizes[b.dtype]
	runtime.SetFinalizer(b, func(b *DeviceBuffer) { b.Close() })
	return b, nil
}

// Upload allocates a buffer on the session's device holding a copy of t.
func (s *DeviceSession) Upload(t Tensor) (*DeviceBuffer, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	b, err := s.NewBuffer(t.DType(), t.Shape)
	if err != nil {
		return nil, err
	}
	if err := b.CopyFrom(t); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// DType is the element type.
func (b *DeviceBuffer) DType() string { return b.dtype }

// Shape is the tensor's shape.
func (b *DeviceBuffer) Shape() []int64 { return append(make([]int64, 0, len(b.shape)), b.shape...) }

// Bytes is the size of the data.
func (b *DeviceBuffer) Bytes() int64 { return b.bytes }

// Device is where the data lives.
func (b *DeviceBuffer) Device() Device { return b.device }

// Location is ONNX Runtime's name for the memory, e.g. "Cuda:0" or "Cpu:0".
func (b *DeviceBuffer) Location() string { return fmt.Sprintf("%s:%d", b.name, b.device.ID) }

func (b *DeviceBuffer) ptr() (unsafe.Pointer, error) {
	if b.v == nil {
		return nil, fmt.Errorf("buffer is closed")
	}
	var p unsafe.Pointer
	if err := cerr(C.kort_tensor_data(b.v, &p)); err != nil {
		return nil, err
	}
	return p, nil
}

// memcpy copies n bytes between host and buffer memory (either side may be
// CUDA memory when onDevice).
func memcpy(dst, src unsafe.Pointer, n int64, onDevice bool) error {
	if n == 0 {
		return nil
	}
	if onDevice {
		return cerr(C.kort_cuda_memcpy(dst, src, C.size_t(n)))
	}
	C.memcpy(dst, src, C.size_t(n))
	return nil
}

// CopyFrom copies host data into the buffer; t must have the buffer's
// element type and number of elements (the shape is the buffer's).
func (b *DeviceBuffer) CopyFrom(t Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.DType() != b.dtype || t.NumElements()*elemSizes[b.dtype] != b.bytes {
		return fmt.Errorf("cannot copy %s %v into a %s %v buffer", t.DType(), t.Shape, b.dtype, b.shape)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	dst, err := b.ptr()
	if err != nil {
		return err
	}
	src, n := dataPointer(t)
	err = memcpy(dst, src, n, b.device.CUDA)
	runtime.KeepAlive(t.Data)
	return err
}

// CopyFromBuffer copies another buffer of the same type and size (same or
// other device) into b: e.g. a snapshot of parameters.
func (b *DeviceBuffer) CopyFromBuffer(src *DeviceBuffer) error {
	if src.dtype != b.dtype || src.bytes != b.bytes {
		return fmt.Errorf("cannot copy a %s %v buffer into a %s %v buffer", src.dtype, src.shape, b.dtype, b.shape)
	}
	dst, err := b.ptr()
	if err != nil {
		return err
	}
	s, err := src.ptr()
	if err != nil {
		return err
	}
	return memcpy(dst, s, b.bytes, b.device.CUDA || src.device.CUDA)
}

// Tensor copies the buffer back into a new host Tensor.
func (b *DeviceBuffer) Tensor() (Tensor, error) {
	data, err := newData(b.dtype, b.bytes/elemSizes[b.dtype])
	if err != nil {
		return Tensor{}, err
	}
	t := Tensor{Shape: b.Shape(), Data: data}
	b.mu.Lock()
	defer b.mu.Unlock()
	src, err := b.ptr()
	if err != nil {
		return Tensor{}, err
	}
	dst, n := dataPointer(t)
	if err := memcpy(dst, src, n, b.device.CUDA); err != nil {
		return Tensor{}, err
	}
	return t, nil
}

// Close frees the buffer's memory.
func (b *DeviceBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v != nil {
		C.kort_release_value(b.v)
		b.v = nil
	}
	return nil
}

// Binding holds which DeviceBuffers feed a DeviceSession's inputs and
// receive its outputs (ONNX Runtime's IoBinding). Bind once, run many
// times: a training step binds its parameter and moment buffers once and
// rebinds (or copies into) only the batch and scalar inputs each step.
type Binding struct {
	s     *DeviceSession
	b     *C.OrtIoBinding
	bound map[string]*DeviceBuffer // keeps bound buffers alive
}

// NewBinding creates an empty binding on the session.
func (s *DeviceSession) NewBinding() (*Binding, error) {
	var b *C.OrtIoBinding
	if err := cerr(C.kort_binding_create(s.sess, &b)); err != nil {
		return nil, fmt.Errorf("model %s: %w", s.path, err)
	}
	bd := &Binding{s: s, b: b, bound: map[string]*DeviceBuffer{}}
	runtime.SetFinalizer(bd, func(b *Binding) { b.Close() })
	return bd, nil
}

func (b *Binding) check(name string, infos []IOInfo, kind string) error {
	if !hasName(infos, name) {
		return fmt.Errorf("model %s has no %s %q (it has %s)", b.s.path, kind, name, names(infos))
	}
	return nil
}

// BindInput feeds buf to the graph input name on every run until rebound.
func (b *Binding) BindInput(name string, buf *DeviceBuffer) error {
	if err := b.check(name, b.s.inputs, "input"); err != nil {
		return err
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	if err := cerr(C.kort_bind_input(b.b, n, buf.v)); err != nil {
		return fmt.Errorf("binding input %s: %w", name, err)
	}
	b.bound["in:"+name] = buf
	return nil
}

// BindOutput makes the run write output name into buf (preallocated, of
// the output's exact shape): the way a training step updates parameters
// and moments in place in device memory.
func (b *Binding) BindOutput(name string, buf *DeviceBuffer) error {
	if err := b.check(name, b.s.outputs, "output"); err != nil {
		return err
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	if err := cerr(C.kort_bind_output(b.b, n, buf.v)); err != nil {
		return fmt.Errorf("binding output %s: %w", name, err)
	}
	b.bound["out:"+name] = buf
	return nil
}

// BindOutputToDevice lets ONNX Runtime allocate output name on the
// session's device at run time (for outputs whose shape is not known in
// advance); fetch it with Outputs.
func (b *Binding) BindOutputToDevice(name string) error {
	if err := b.check(name, b.s.outputs, "output"); err != nil {
		return err
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	if err := cerr(C.kort_bind_output_to_device(b.b, n, b.s.mem)); err != nil {
		return fmt.Errorf("binding output %s to %s: %w", name, b.s.opts.Device, err)
	}
	delete(b.bound, "out:"+name)
	return nil
}

// SynchronizeInputs waits until bound inputs are ready on the device.
func (b *Binding) SynchronizeInputs() error { return cerr(C.kort_sync_inputs(b.b)) }

// SynchronizeOutputs waits until bound outputs are written.
func (b *Binding) SynchronizeOutputs() error { return cerr(C.kort_sync_outputs(b.b)) }

// Clear unbinds every input and output.
func (b *Binding) Clear() {
	C.kort_binding_clear(b.b)
	b.bound = map[string]*DeviceBuffer{}
}

// Outputs returns the values of every bound output after a run, as new
// buffers owned by the caller (for outputs bound with BindOutput they
// refer to the same memory as the bound buffer).
func (b *Binding) Outputs() (map[string]*DeviceBuffer, error) {
	var names *C.char
	var nn, nv C.size_t
	var vals **C.OrtValue
	if err := cerr(C.kort_bound_outputs(b.b, &names, &nn, &vals, &nv)); err != nil {
		return nil, fmt.Errorf("model %s: bound outputs: %w", b.s.path, err)
	}
	defer C.kort_free_bound(names, vals)
	ns := strings.Split(strings.TrimSuffix(C.GoString(names), "\n"), "\n")
	vs := unsafe.Slice(vals, int(nv))
	if len(ns) != len(vs) {
		for _, v := range vs {
			C.kort_release_value(v)
		}
		return nil, fmt.Errorf("model %s: %d bound output names but %d values", b.s.path, len(ns), len(vs))
	}
	out := make(map[string]*DeviceBuffer, len(vs))
	var firstErr error
	for i, v := range vs {
		buf, err := wrapValue(v, b.s.opts.Device)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil {
			out[ns[i]] = buf
		}
	}
	return out, firstErr
}

// Close releases the binding (not the buffers).
func (b *Binding) Close() error {
	if b.b != nil {
		C.kort_binding_release(b.b)
		b.b = nil
	}
	b.bound = nil
	return nil
}

// RunBinding runs the graph on the bound buffers and waits for the outputs.
// Cancelling ctx aborts a run in progress.
func (s *DeviceSession) RunBinding(ctx context.Context, b *Binding) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.s != s {
		return fmt.Errorf("model %s: the binding belongs to another session", s.path)
	}
	var ro *C.OrtRunOptions
	if err := cerr(C.kort_run_options(&ro)); err != nil {
		return err
	}
	defer C.kort_release_run_options(ro)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			C.free(unsafe.Pointer(C.kort_terminate(ro)))
		case <-done:
		}
	}()
	err := cerr(C.kort_run_binding(s.sess, ro, b.b))
	close(done)
	<-stopped
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("model %s: %w", s.path, err)
	}
	if err := b.SynchronizeOutputs(); err != nil {
		return fmt.Errorf("model %s: synchronizing outputs: %w", s.path, err)
	}
	return nil
}

// Run uploads host tensors (one per graph input), runs with every output
// bound to the device, and copies the requested outputs (all when fetch
// is empty) back: the device path end to end, for checks and tools.
func (s *DeviceSession) Run(ctx context.Context, inputs map[string]Tensor, fetch ...string) (map[string]Tensor, error) {
	b, err := s.NewBinding()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	var bufs []*DeviceBuffer
	defer func() {
		for _, x := range bufs {
			x.Close()
		}
	}()
	for _, in := range s.inputs {
		t, ok := inputs[in.Name]
		if !ok {
			return nil, fmt.Errorf("model %s: missing input %s (the graph takes %s)", s.path, in.Name, names(s.inputs))
		}
		if t.DType() != in.DType {
			return nil, fmt.Errorf("model %s: input %s is %s, the graph wants %s", s.path, in.Name, t.DType(), in.DType)
		}
		buf, err := s.Upload(t)
		if err != nil {
			return nil, fmt.Errorf("model %s: input %s: %w", s.path, in.Name, err)
		}
		bufs = append(bufs, buf)
		if err := b.BindInput(in.Name, buf); err != nil {
			return nil, err
		}
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("model %s: %d inputs given, the graph takes %d (%s)", s.path, len(inputs), len(s.inputs), names(s.inputs))
	}
	if len(fetch) == 0 {
		for _, o := range s.outputs {
			fetch = append(fetch, o.Name)
		}
	}
	for _, name := range fetch {
		if err := b.BindOutputToDevice(name); err != nil {
			return nil, err
		}
	}
	if err := s.RunBinding(ctx, b); err != nil {
		return nil, err
	}
	outs, err := b.Outputs()
	defer func() {
		for _, o := range outs {
			o.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	res := make(map[string]Tensor, len(outs))
	for name, o := range outs {
		if o.device != s.opts.Device {
			return nil, fmt.Errorf("model %s: output %s is in %s memory, not on %s", s.path, name, o.Location(), s.opts.Device)
		}
		t, err := o.Tensor()
		if err != nil {
			return nil, fmt.Errorf("model %s: output %s: %w", s.path, name, err)
		}
		res[name] = t
	}
	return res, nil
}
