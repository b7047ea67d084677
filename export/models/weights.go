package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/export/checkpoint"
)

// Weights is a set of tensors under canonical K-Adapter key names:
//
//	roberta.*                      RoBERTa (any file prefix roberta./model./none is mapped here)
//	fac_adapter.adapter.{i}.*      fac adapter chain; lin_adapter.adapter.{i}.* likewise
//	fac_adapter.task_dense.*       CosmosQA's per-adapter dense (lin_adapter.task_dense.*)
//	task_dense_fac.*, task_dense_lin.*, task_dense.*   fusion
//	dense.*, out_proj.*, classifier.*, com_dense.*, self_attention.*   heads
//
// Every tensor remembers the file it came from so errors can name it.
type Weights struct {
	tensors map[string]*checkpoint.Tensor
	source  map[string]string
	used    map[string]bool
}

// NewWeights returns an empty set.
func NewWeights() *Weights {
	return &Weights{tensors: map[string]*checkpoint.Tensor{}, source: map[string]string{}, used: map[string]bool{}}
}

// Set stores t under key, remembering file; a key set twice is an error.
func (w *Weights) Set(key, file string, t *checkpoint.Tensor) error {
	if old, dup := w.source[key]; dup {
		return fmt.Errorf("%s: key %s is also provided by %s", file, key, old)
	}
	w.tensors[key] = t
	w.source[key] = file
	return nil
}

// SetAll stores every tensor of ts under its key (in key order), all from
// file; a key already set is an error.
func (w *Weights) SetAll(file string, ts map[string]*checkpoint.Tensor) error {
	keys := make([]string, 0, len(ts))
	for k := range ts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := w.Set(k, file, ts[k]); err != nil {
			return err
		}
	}
	return nil
}

// Has reports whether key is present.
func (w *Weights) Has(key string) bool { _, ok := w.tensors[key]; return ok }

// Keys returns the keys in sorted order.
func (w *Weights) Keys() []string {
	ks := make([]string, 0, len(w.tensors))
	for k := range w.tensors {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Unused lists the keys no Build has read, sorted.
func (w *Weights) Unused() []string {
	var out []string
	for _, k := range w.Keys() {
		if !w.used[k] {
			out = append(out, k)
		}
	}
	return out
}

// Tensor returns the tensor under key after checking its shape (a -1
// entry in shape accepts any size), marking it used.
func (w *Weights) Tensor(key string, shape ...int) (*checkpoint.Tensor, error) {
	t, ok := w.tensors[key]
	if !ok {
		return nil, &checkpoint.Error{File: w.fileFor(key), Key: key, Kind: checkpoint.ErrMissingKey}
	}
	if len(t.Shape) != len(shape) || t.Data == nil {
		return nil, &checkpoint.Error{File: w.source[key], Key: key, Kind: checkpoint.ErrShape,
			Msg: fmt.Sprintf("shape %v (%s), want %v float", t.Shape, t.DType, shape)}
	}
	for i, d := range shape {
		if d >= 0 && t.Shape[i] != d {
			return nil, &checkpoint.Error{File: w.source[key], Key: key, Kind: checkpoint.ErrShape,
				Msg: fmt.Sprintf("shape %v, want %v", t.Shape, shape)}
		}
	}
	w.used[key] = true
	return t, nil
}

// fileFor names the file a missing key was expected in: the file that
// provides its siblings (same first component), else every file.
func (w *Weights) fileFor(key string) string {
	prefix := key
	if i := strings.IndexByte(key, '.'); i > 0 {
		prefix = key[:i+1]
	}
	files := map[string]bool{}
	for k, f := range w.source {
		if strings.HasPrefix(k, prefix) {
			files[f] = true
		}
	}
	if len(files) == 0 {
		for _, f := range w.source {
			files[f] = true
		}
	}
	var fs []string
	for f := range files {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return strings.Join(fs, ", ")
}

// count returns how many consecutive indices i give a key prefix+i+suffix.
func (w *Weights) count(prefix, suffix string) int {
	n := 0
	for w.Has(fmt.Sprintf("%s%d%s", prefix, n, suffix)) {
		n++
	}
	return n
}

// release drops the reference to a tensor Build has copied (a transposed
// Linear weight), so its memory can be reclaimed during export. The key
// stays marked used; a second Tensor call for it fails as missing.
func (w *Weights) release(key string) {
	if w.used[key] {
		delete(w.tensors, key)
	}
}

// Get returns the tensor under key without checking its shape or marking
// it used (nil when absent).
func (w *Weights) Get(key string) *checkpoint.Tensor { return w.tensors[key] }

// Source names the file key came from.
func (w *Weights) Source(key string) string { return w.source[key] }
