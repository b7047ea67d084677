package runtime

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// Tensor is a dense row-major array handed to or returned by a Session.
// Data is one of []float32, []float64, []int64, []int32, []uint8 or []bool
// and holds exactly the product of Shape elements.
type Tensor struct {
	Shape []int64
	Data  any
}

// NumElements is the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// DType names Data's element type ("float32", "int64", ...).
func (t Tensor) DType() string {
	switch t.Data.(type) {
	case []float32:
		return "float32"
	case []float64:
		return "float64"
	case []int64:
		return "int64"
	case []int32:
		return "int32"
	case []uint8:
		return "uint8"
	case []bool:
		return "bool"
	}
	return fmt.Sprintf("%T", t.Data)
}

func dataLen(d any) int {
	switch v := d.(type) {
	case []float32:
		return len(v)
	case []float64:
		return len(v)
	case []int64:
		return len(v)
	case []int32:
		return len(v)
	case []uint8:
		return len(v)
	case []bool:
		return len(v)
	}
	return -1
}

// Validate checks that Data has a supported type and len(Data) matches
// Shape.
func (t Tensor) Validate() error {
	n := dataLen(t.Data)
	if n < 0 {
		return fmt.Errorf("unsupported tensor data type %T", t.Data)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	if int64(n) != t.NumElements() {
		return fmt.Errorf("tensor of shape %v needs %d elements, has %d", t.Shape, t.NumElements(), n)
	}
	return nil
}

// toORT wraps t in an onnxruntime_go tensor that shares t's memory.
func (t Tensor) toORT() (ort.Value, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	shape := ort.NewShape(t.Shape...)
	switch v := t.Data.(type) {
	case []float32:
		return ort.NewTensor(shape, v)
	case []float64:
		return ort.NewTensor(shape, v)
	case []int64:
		return ort.NewTensor(shape, v)
	case []int32:
		return ort.NewTensor(shape, v)
	case []uint8:
		return ort.NewTensor(shape, v)
	case []bool:
		return ort.NewTensor(shape, v)
	}
	return nil, fmt.Errorf("unsupported tensor data type %T", t.Data)
}

// fromORT moves an output value into a Tensor and destroys the value.
// onnxruntime_go already copied the data into a Go slice, which stays valid
// after Destroy releases the OrtValue.
func fromORT(v ort.Value) (Tensor, error) {
	defer v.Destroy()
	shape := []int64(v.GetShape().Clone())
	var data any
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		data = x.GetData()
	case *ort.Tensor[float64]:
		data = x.GetData()
	case *ort.Tensor[int64]:
		data = x.GetData()
	case *ort.Tensor[int32]:
		data = x.GetData()
	case *ort.Tensor[uint8]:
		data = x.GetData()
	case *ort.Tensor[bool]:
		data = x.GetData()
	default:
		return Tensor{}, fmt.Errorf("unsupported output value %T (%s)", v, v.GetONNXType())
	}
	return Tensor{Shape: shape, Data: data}, nil
}
