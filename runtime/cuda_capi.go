package runtime

// The thin cgo layer (cuda_capi.c) over ONNX Runtime's C API. onnxruntime_go
// v1.27 binds CPU memory only; device-resident execution (CUDA memory
// info and allocators, tensors in device memory, BindOutputToDevice,
// SynchronizeBoundInputs/Outputs, device copies, session config entries and
// placement) goes through this layer instead. It takes the function table
// from the library onnxruntime_go already loaded (OrtGetApiBase()->GetApi(24)
// on the same handle, opened with RTLD_NOLOAD) and the same process-wide
// OrtEnv (ONNX Runtime's environment is a reference-counted singleton).
// OrtValues never cross between the two wrappers: a DeviceSession and its
// DeviceBuffers live entirely on this side.

/*
#cgo CFLAGS: -I${SRCDIR}/ortc -O2
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "cuda_capi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

var (
	capiMu  sync.Mutex
	capiErr error
	capiOK  bool
)

// cerr converts a C error message (freed here) into an error.
func cerr(p *C.char) error {
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	return errors.New(C.GoString(p))
}

// initCAPI loads the ONNX Runtime library through Init (onnxruntime_go)
// and then attaches the C layer to the same library.
func initCAPI(d Device) error {
	if err := InitFor(d); err != nil {
		return err
	}
	capiMu.Lock()
	defer capiMu.Unlock()
	if capiOK {
		return nil
	}
	if capiErr != nil {
		return capiErr
	}
	p := C.CString(LibraryPath())
	defer C.free(unsafe.Pointer(p))
	if err := cerr(C.kort_init(p)); err != nil {
		capiErr = fmt.Errorf("ONNX Runtime C API layer: %w", err)
		return capiErr
	}
	capiOK = true
	return nil
}

// dlopenGlobal loads a shared library with RTLD_GLOBAL so that later
// libraries needing its soname find it already loaded.
func dlopenGlobal(path string) error {
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	return cerr(C.kort_dlopen_global(p))
}

// cStrings copies Go strings into C memory; free releases them.
func cStrings(ss []string) (**C.char, func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:len(ss):len(ss)]
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	return &arr[0], func() {
		for _, p := range arr {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}

// ONNX tensor element types (onnx.TensorProto.DataType).
var elemTypes = map[string]C.int{
	"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9,
	"float16": 10, "float64": 11, "bfloat16": 16,
}

var elemSizes = map[string]int64{
	"float32": 4, "uint8": 1, "int8": 1, "int32": 4, "int64": 8, "bool": 1,
	"float16": 2, "float64": 8, "bfloat16": 2,
}

func elemName(t C.int) string {
	for k, v := range elemTypes {
		if v == t {
			return k
		}
	}
	return fmt.Sprintf("onnx-type-%d", int(t))
}

// dataPointer returns the address and byte size of a Tensor's data.
func dataPointer(t Tensor) (unsafe.Pointer, int64) {
	n := int64(dataLen(t.Data))
	if n == 0 {
		return nil, 0
	}
	switch v := t.Data.(type) {
	case []float32:
		return unsafe.Pointer(&v[0]), 4 * n
	case []float64:
		return unsafe.Pointer(&v[0]), 8 * n
	case []int64:
		return unsafe.Pointer(&v[0]), 8 * n
	case []int32:
		return unsafe.Pointer(&v[0]), 4 * n
	case []uint8:
		return unsafe.Pointer(&v[0]), n
	case []bool:
		return unsafe.Pointer(&v[0]), n
	}
	return nil, 0
}

// newData allocates a Go slice of dtype with n elements.
func newData(dtype string, n int64) (any, error) {
	switch dtype {
	case "float32":
		return make([]float32, n), nil
	case "float64":
		return make([]float64, n), nil
	case "int64":
		return make([]int64, n), nil
	case "int32":
		return make([]int32, n), nil
	case "uint8":
		return make([]uint8, n), nil
	case "bool":
		return make([]bool, n), nil
	}
	return nil, fmt.Errorf("element type %s cannot be read into a Go tensor (copy it with CopyFromBuffer, or have the graph cast it)", dtype)
}

func optLevelC(l OptLevel) C.int {
	switch l {
	case OptDisable:
		return 0
	case OptBasic:
		return 1
	case OptExtended:
		return 2
	}
	return 99
}

// parsePlacement reads the layer's "EP\tnode\top\n" lines.
func parsePlacement(s string) Placement {
	p := Placement{Nodes: map[string]int{}}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		p.Nodes[f[0]]++
		p.Total++
		p.Assignments = append(p.Assignments, NodePlacement{Provider: f[0], Node: f[1], Op: f[2]})
	}
	return p
}
