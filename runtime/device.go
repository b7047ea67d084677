package runtime

import (
	"fmt"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Device selects where a session runs.
type Device struct {
	// CUDA is false for the CPU execution provider.
	CUDA bool
	// ID is the CUDA device ordinal (0 unless "cuda:N").
	ID int
}

// CPU is the default device.
var CPU = Device{}

// String renders the device as ParseDevice accepts it.
func (d Device) String() string {
	if !d.CUDA {
		return "cpu"
	}
	return "cuda:" + strconv.Itoa(d.ID)
}

// ParseDevice parses "cpu", "cuda" (= "cuda:0") or "cuda:N".
func ParseDevice(s string) (Device, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "" || s == "cpu":
		return CPU, nil
	case s == "cuda" || s == "gpu":
		return Device{CUDA: true}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[len("cuda:"):])
		if err != nil || n < 0 {
			return Device{}, fmt.Errorf("bad device %q: want cpu, cuda or cuda:N with N a device number", s)
		}
		return Device{CUDA: true, ID: n}, nil
	}
	return Device{}, fmt.Errorf("bad device %q: want cpu, cuda or cuda:N", s)
}

// DeviceError says that a device cannot be used, and why.
type DeviceError struct {
	Device Device
	// Library is the loaded ONNX Runtime library.
	Library string
	// Err is ONNX Runtime's own message.
	Err error
}

// Error describes the device that could not be used and why.
func (e *DeviceError) Error() string {
	return fmt.Sprintf("device %s is not available: ONNX Runtime (%s) could not enable the CUDA execution provider: %v\n"+
		"The CUDA provider needs an ONNX Runtime build with CUDA (libonnxruntime_providers_cuda.so and "+
		"libonnxruntime_providers_shared.so next to %s: scripts/fetch-onnxruntime.sh --cuda installs a matching pair), "+
		"the CUDA 13 and cuDNN 9 libraries (NVIDIA's nvidia-*-cu13 pip wheels or a CUDA toolkit; found on LD_LIBRARY_PATH "+
		"or through --cuda-libs / "+CUDALibsEnv+"), and an NVIDIA GPU with a working driver; `krun doctor` shows what is "+
		"missing; use --device cpu otherwise", e.Device, e.Library, e.Err, e.Library)
}

// Unwrap returns the underlying ONNX Runtime error.
func (e *DeviceError) Unwrap() error { return e.Err }

// appendDevice adds d's execution provider to opts (nothing for the CPU).
func appendDevice(opts *ort.SessionOptions, d Device, extra map[string]string) error {
	if !d.CUDA {
		return nil
	}
	PreloadCUDALibraries()
	fail := func(err error) error { return &DeviceError{Device: d, Library: LibraryPath(), Err: err} }
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fail(err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(CUDAProviderOptions(d, extra)); err != nil {
		return fail(err)
	}
	if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
		return fail(err)
	}
	return nil
}
