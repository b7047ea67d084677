package runtime

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// OptLevel is ONNX Runtime's graph optimization level.
type OptLevel string

// The graph optimization levels, as --graph-opt spells them.
const (
	OptDisable  OptLevel = "disable"
	OptBasic    OptLevel = "basic"
	OptExtended OptLevel = "extended"
	OptAll      OptLevel = "all"
)

// ParseOptLevel accepts disable, basic, extended or all ("" means all).
func ParseOptLevel(s string) (OptLevel, error) {
	switch l := OptLevel(strings.ToLower(strings.TrimSpace(s))); l {
	case "":
		return OptAll, nil
	case OptDisable, OptBasic, OptExtended, OptAll:
		return l, nil
	}
	return "", fmt.Errorf("bad graph optimization level %q: want disable, basic, extended or all", s)
}

func (l OptLevel) ort() ort.GraphOptimizationLevel {
	switch l {
	case OptDisable:
		return ort.GraphOptimizationLevelDisableAll
	case OptBasic:
		return ort.GraphOptimizationLevelEnableBasic
	case OptExtended:
		return ort.GraphOptimizationLevelEnableExtended
	}
	return ort.GraphOptimizationLevelEnableAll
}

// Options configures a Session.
type Options struct {
	// Device is where the graph runs (CPU by default).
	Device Device
	// IntraOpThreads is the number of threads one operator may use; 0 lets
	// ONNX Runtime choose (one per physical core).
	IntraOpThreads int
	// InterOpThreads is the number of threads running independent operators
	// in parallel; 0 keeps ONNX Runtime's sequential executor default.
	InterOpThreads int
	// Optimization is the graph optimization level ("" = all).
	Optimization OptLevel
	// Outputs names the graph outputs Run returns; empty means all of them.
	Outputs []string
	// CUDA holds extra CUDA execution provider options, e.g.
	// {"use_tf32": "0"} for float32 parity (the provider uses TF32 by
	// default); device_id always comes from Device.
	CUDA map[string]string
	// DisableCPUFallback fails session creation when any node would run on
	// the CPU execution provider instead of the requested device
	// (session.disable_cpu_ep_fallback). Ignored on the CPU device.
	DisableCPUFallback bool
	// NoMemPattern turns ONNX Runtime's memory pattern off. The pattern
	// plans one block for all of a run's tensors from the first run and
	// allocates it from the second on, while the arena keeps the first
	// run's chunks: a graph with large activations (a training step) holds
	// them twice. Without it, the arena reuses its chunks.
	NoMemPattern bool
	// Config are extra session configuration entries
	// (AddSessionConfigEntry), applied after kadapter's own; the
	// environment variable KADAPTER_ORT_CONFIG adds more, as
	// "key=value,key=value".
	Config map[string]string
}

// ConfigAllowSpinning is ONNX Runtime's intra-op spinning switch ("0":
// idle worker threads sleep instead of spinning between kernels).
const ConfigAllowSpinning = "session.intra_op.allow_spinning"

// configEntries returns the session config entries for o.
func configEntries(o Options) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range o.Config {
		out[k] = v
	}
	if env := strings.TrimSpace(os.Getenv("KADAPTER_ORT_CONFIG")); env != "" {
		for _, kv := range strings.Split(env, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("KADAPTER_ORT_CONFIG: %q is not key=value", kv)
			}
			out[k] = v
		}
	}
	return out, nil
}

// IOInfo describes one graph input or output.
type IOInfo struct {
	// Name is the graph's name for the value.
	Name string `json:"name"`
	// Shape has -1 for dynamic dimensions (batch, sequence).
	Shape []int64 `json:"shape"`
	// DType is the element type: float32, float64, int64, int32, ...
	DType string `json:"dtype"`
}

func dtypeName(t ort.TensorElementDataType) string {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeInt64:
		return "int64"
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeUint8:
		return "uint8"
	case ort.TensorElementDataTypeBool:
		return "bool"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

func ioInfos(in []ort.InputOutputInfo) []IOInfo {
	out := make([]IOInfo, len(in))
	for i, x := range in {
		out[i] = IOInfo{Name: x.Name, Shape: []int64(x.Dimensions.Clone()), DType: dtypeName(x.DataType)}
	}
	return out
}

// Session is an ONNX Runtime session on one graph. It is safe for
// concurrent use (ONNX Runtime serialises nothing; runs share the weights)
// and should be reused across batches.
type Session struct {
	path    string
	opts    Options
	sess    *ort.DynamicAdvancedSession
	inputs  []IOInfo
	outputs []IOInfo // all graph outputs
	fetch   []string // the outputs Run returns
	limits  []IndexLimit
}

func newSessionOptions(o Options) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*ort.SessionOptions, error) {
		so.Destroy()
		return nil, err
	}
	// Errors come back to the caller as Go errors (without colour codes);
	// ONNX Runtime's logger would print them a second time, coloured.
	if err := so.SetLogSeverityLevel(ort.LoggingLevelFatal); err != nil {
		return fail(cleanORT(err))
	}
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		return fail(fmt.Errorf("thread counts must be >= 0 (0 = ONNX Runtime's default)"))
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return fail(err)
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return fail(err)
		}
		if o.InterOpThreads > 1 {
			if err := so.SetExecutionMode(ort.ExecutionModeParallel); err != nil {
				return fail(err)
			}
		}
	}
	lvl, err := ParseOptLevel(string(o.Optimization))
	if err != nil {
		return fail(err)
	}
	if err := so.SetGraphOptimizationLevel(lvl.ort()); err != nil {
		return fail(err)
	}
	if o.Device.CUDA && o.DisableCPUFallback {
		if err := so.AddSessionConfigEntry(ConfigDisableCPUFallback, "1"); err != nil {
			return fail(err)
		}
	}
	if o.NoMemPattern {
		if err := so.SetMemPattern(false); err != nil {
			return fail(cleanORT(err))
		}
	}
	entries, err := configEntries(o)
	if err != nil {
		return fail(err)
	}
	for _, k := range sortedKeys(entries) {
		if err := so.AddSessionConfigEntry(k, entries[k]); err != nil {
			return fail(fmt.Errorf("session config %s=%s: %w", k, entries[k], cleanORT(err)))
		}
	}
	if err := appendDevice(so, o.Device, o.CUDA); err != nil {
		return fail(err)
	}
	return so, nil
}

// Open loads the ONNX Runtime library if needed (see Init) and opens a
// session on the graph at path with opts. Errors name the file.
func Open(path string, opts Options) (*Session, error) {
	if err := InitFor(opts.Device); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	s := &Session{path: path, opts: opts}
	// The interface is read from the file's graph header (no weights
	// read); if that fails, ONNX Runtime reads it, at the cost of loading
	// the model once more.
	var err error
	if g, gerr := readGraphInfo(path); gerr == nil {
		s.inputs, s.outputs = g.iface()
		s.limits = g.indexLimits()
	} else {
		infoOpts, err := ort.NewSessionOptions()
		if err != nil {
			return nil, err
		}
		infoOpts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
		ins, outs, err := ort.GetInputOutputInfoWithOptions(path, infoOpts)
		infoOpts.Destroy()
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", path, cleanORT(err))
		}
		s.inputs, s.outputs = ioInfos(ins), ioInfos(outs)
	}
	if len(opts.Outputs) == 0 {
		for _, o := range s.outputs {
			s.fetch = append(s.fetch, o.Name)
		}
	} else {
		for _, name := range opts.Outputs {
			if !hasName(s.outputs, name) {
				return nil, fmt.Errorf("model %s has no output %q (it has %s)", path, name, names(s.outputs))
			}
			s.fetch = append(s.fetch, name)
		}
	}
	so, err := newSessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	defer so.Destroy()
	inNames := make([]string, len(s.inputs))
	for i, in := range s.inputs {
		inNames[i] = in.Name
	}
	s.sess, err = ort.NewDynamicAdvancedSession(path, inNames, s.fetch, so)
	if err != nil {
		if opts.Device.CUDA {
			return nil, fmt.Errorf("model %s: %w", path, &DeviceError{Device: opts.Device, Library: LibraryPath(), Err: cleanORT(err)})
		}
		return nil, fmt.Errorf("model %s: %w", path, cleanORT(err))
	}
	return s, nil
}

func hasName(infos []IOInfo, name string) bool {
	for _, x := range infos {
		if x.Name == name {
			return true
		}
	}
	return false
}

func names(infos []IOInfo) string {
	var n []string
	for _, x := range infos {
		n = append(n, x.Name)
	}
	return strings.Join(n, ", ")
}

// Path is the graph file the session runs.
func (s *Session) Path() string { return s.path }

// Device is the device the session runs on.
func (s *Session) Device() Device { return s.opts.Device }

// Inputs describes the graph's inputs, in graph order.
func (s *Session) Inputs() []IOInfo { return s.inputs }

// Outputs describes all of the graph's outputs, in graph order.
func (s *Session) Outputs() []IOInfo { return s.outputs }

// Fetched lists the outputs Run returns (Options.Outputs, or all).
func (s *Session) Fetched() []string { return s.fetch }

// HasInput reports whether the graph has an input of that name.
func (s *Session) HasInput(name string) bool { return hasName(s.inputs, name) }

// Run feeds one tensor per graph input (exactly the graph's inputs, by
// name) and returns the fetched outputs by name. Cancelling ctx aborts a
// run in progress (ONNX Runtime's RunOptions terminate flag) and returns
// ctx's error.
func (s *Session) Run(ctx context.Context, inputs map[string]Tensor) (map[string]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var missing, unknown []string
	for _, in := range s.inputs {
		if _, ok := inputs[in.Name]; !ok {
			missing = append(missing, in.Name)
		}
	}
	for name := range inputs {
		if !hasName(s.inputs, name) {
			unknown = append(unknown, name)
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("model %s: inputs do not match the graph (missing: [%s], unknown: [%s]; the graph takes %s)",
			s.path, strings.Join(missing, " "), strings.Join(unknown, " "), names(s.inputs))
	}
	if err := s.checkIndices(inputs); err != nil {
		return nil, err
	}
	vals := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, in := range s.inputs {
		t := inputs[in.Name]
		if t.DType() != in.DType {
			return nil, fmt.Errorf("model %s: input %s is %s, the graph wants %s", s.path, in.Name, t.DType(), in.DType)
		}
		if len(t.Shape) != len(in.Shape) {
			return nil, fmt.Errorf("model %s: input %s has shape %v, the graph wants rank %d (%v)", s.path, in.Name, t.Shape, len(in.Shape), in.Shape)
		}
		v, err := t.toORT()
		if err != nil {
			return nil, fmt.Errorf("model %s: input %s: %w", s.path, in.Name, err)
		}
		vals[i] = v
	}
	outs := make([]ort.Value, len(s.fetch))
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, err
	}
	defer ro.Destroy()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			ro.Terminate()
		case <-done:
		}
	}()
	err = s.sess.RunWithOptions(vals, outs, ro)
	close(done)
	<-stopped
	if err != nil {
		// onnxruntime_go converts outputs only after a successful run, so
		// there is nothing to release here.
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("model %s: %w", s.path, cleanORT(err))
	}
	res := make(map[string]Tensor, len(outs))
	var firstErr error
	for i, o := range outs {
		t, err := fromORT(o)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("model %s: output %s: %w", s.path, s.fetch[i], err)
		}
		res[s.fetch[i]] = t
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return res, nil
}

// Close releases the session. The process-wide environment stays loaded.
func (s *Session) Close() error {
	if s == nil || s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}

// ortInterface asks ONNX Runtime for a graph's inputs and outputs (it loads
// the model; used by tests to check ReadInterface).
func ortInterface(path string) ([]IOInfo, []IOInfo, error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, err
	}
	return ioInfos(ins), ioInfos(outs), nil
}
