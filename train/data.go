package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/runtime"
)

// Dataset is a set of arrays with examples on axis 0: one per data input
// of the training graph plus "labels".
type Dataset struct {
	// Dir is where the arrays came from.
	Dir string
	// N is the number of examples.
	N      int
	arrays map[string]*npy.Array
}

// oneHotSources are the original scripts' marker vectors ([N,L] one-hot
// float) that feed kadapter's index inputs ([N]).
var oneHotSources = map[string]string{
	"subj_pos":   "subj_special_start_id",
	"obj_pos":    "obj_special_start_id",
	"entity_pos": "start_id",
}

// LoadNPY reads NAME.npy for every name in inputs from dir (the krun infer
// convention). A position input may instead come as the original one-hot
// vectors (subj_special_start_id.npy, obj_special_start_id.npy,
// start_id.npy). labels are int64 (class indices) or float32 (multi-hot)
// as labelFloat says; other integer and float widths are converted.
func LoadNPY(dir string, inputs []string, labelFloat bool) (*Dataset, error) {
	d := &Dataset{Dir: dir, N: -1, arrays: map[string]*npy.Array{}}
	for _, name := range inputs {
		path := filepath.Join(dir, name+".npy")
		a, err := npy.ReadFile(path)
		if os.IsNotExist(unwrapNotExist(err)) {
			if src, ok := oneHotSources[name]; ok {
				alt := filepath.Join(dir, src+".npy")
				if oh, err2 := npy.ReadFile(alt); err2 == nil {
					if a, err = npy.OneHotToIndex(oh); err != nil {
						return nil, fmt.Errorf("%s: %w", alt, err)
					}
					path = alt
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("training data %s: input %s: %w", dir, name, err)
		}
		switch {
		case name == "labels" && labelFloat:
			a = &npy.Array{DType: npy.Float32, Shape: a.Shape, Float32: a.AsFloat32()}
		default:
			if a.Float32 == nil && a.Float64 == nil {
				a = &npy.Array{DType: npy.Int64, Shape: a.Shape, Int64: a.AsInt64()}
			} else if name != "labels" {
				return nil, fmt.Errorf("%s: input %s must be integer, got %s", path, name, a.DType)
			} else {
				return nil, fmt.Errorf("%s: this task's labels are class indices (integers), got %s", path, a.DType)
			}
		}
		if len(a.Shape) == 0 {
			return nil, fmt.Errorf("%s: a scalar, want examples on axis 0", path)
		}
		if d.N >= 0 && a.Shape[0] != d.N {
			return nil, fmt.Errorf("%s: %d examples on axis 0, the other arrays have %d", path, a.Shape[0], d.N)
		}
		d.N = a.Shape[0]
		d.arrays[name] = a
	}
	if d.N <= 0 {
		return nil, fmt.Errorf("training data %s: no examples", dir)
	}
	return d, nil
}

func unwrapNotExist(err error) error {
	for e := err; e != nil; {
		if os.IsNotExist(e) {
			return e
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return err
}

// Order returns the example order of an epoch: 0..n-1, or a permutation
// drawn from (seed, epoch) when shuffling, so every epoch is reproducible
// on its own (a resumed run draws the same order).
func Order(n, epoch int, shuffle bool, seed uint64) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if shuffle {
		rng := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	return idx
}

// Batch gathers the examples idx into one micro-batch.
func (d *Dataset) Batch(idx []int) (Batch, error) {
	b := Batch{}
	names := make([]string, 0, len(d.arrays))
	for n := range d.arrays {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		a := d.arrays[name]
		row := 1
		for _, s := range a.Shape[1:] {
			row *= s
		}
		shape := make([]int64, len(a.Shape))
		shape[0] = int64(len(idx))
		for i, s := range a.Shape[1:] {
			shape[i+1] = int64(s)
		}
		if a.Int64 != nil {
			data := make([]int64, 0, len(idx)*row)
			for _, i := range idx {
				data = append(data, a.Int64[i*row:(i+1)*row]...)
			}
			b[name] = runtime.Tensor{Shape: shape, Data: data}
		} else {
			data := make([]float32, 0, len(idx)*row)
			for _, i := range idx {
				data = append(data, a.Float32[i*row:(i+1)*row]...)
			}
			b[name] = runtime.Tensor{Shape: shape, Data: data}
		}
	}
	return b, nil
}
