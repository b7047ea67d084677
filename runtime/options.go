package runtime

import ort "github.com/yalue/onnxruntime_go"

// SessionOptions returns ONNX Runtime session options for o (threads,
// graph optimization, device), for callers that drive onnxruntime_go
// sessions themselves (the training engine keeps its state in tensors it
// binds to every run). The caller destroys them.
func SessionOptions(o Options) (*ort.SessionOptions, error) { return newSessionOptions(o) }

// ToORT wraps t in an onnxruntime_go tensor that shares t's memory (the
// caller destroys it), for callers that run onnxruntime_go sessions
// themselves.
func ToORT(t Tensor) (ort.Value, error) { return t.toORT() }
