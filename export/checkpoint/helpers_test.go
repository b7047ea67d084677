package checkpoint

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// synth builds named random float32 tensors.
type synth struct {
	rng *rand.Rand
	out []*Tensor
}

func newSynth(seed uint64) *synth { return &synth{rng: rand.New(rand.NewPCG(seed, 7))} }

func (s *synth) add(name string, shape ...int) {
	t := &Tensor{Name: name, Shape: shape, DType: Float32}
	t.Data = make([]float32, t.NumElements())
	for i := range t.Data {
		if s.rng != nil {
			t.Data[i] = float32(s.rng.NormFloat64())
		}
	}
	s.out = append(s.out, t)
}

func (s *synth) linear(name string, out, in int) {
	s.add(name+".weight", out, in)
	s.add(name+".bias", out)
}

func (s *synth) norm(name string, n int) {
	s.add(name+".weight", n)
	s.add(name+".bias", n)
}

func (s *synth) bertLayer(p string, w, inter int) {
	for _, q := range []string{"query", "key", "value"} {
		s.linear(p+".attention.self."+q, w, w)
	}
	s.linear(p+".attention.output.dense", w, w)
	s.norm(p+".attention.output.LayerNorm", w)
	s.linear(p+".intermediate.dense", inter, w)
	s.linear(p+".output.dense", w, inter)
	s.norm(p+".output.LayerNorm", w)
}

// roberta adds a RobertaModel under prefix.
func (s *synth) roberta(prefix string, vocab, h, layers, inter int) {
	s.add(prefix+"embeddings.word_embeddings.weight", vocab, h)
	s.add(prefix+"embeddings.position_embeddings.weight", 514, h)
	s.add(prefix+"embeddings.token_type_embeddings.weight", 1, h)
	s.norm(prefix+"embeddings.LayerNorm", h)
	for i := 0; i < layers; i++ {
		s.bertLayer(fmt.Sprintf("%sencoder.layer.%d", prefix, i), h, inter)
	}
	s.linear(prefix+"pooler.dense", h, h)
}

// adapters adds a chain of k adapters under prefix.
func (s *synth) adapters(prefix string, k, a, h, layers, inter int) {
	for i := 0; i < k; i++ {
		p := fmt.Sprintf("%s%d.", prefix, i)
		s.linear(p+"down_project", a, h)
		for j := 0; j < layers; j++ {
			s.bertLayer(fmt.Sprintf("%sencoder.layer.%d", p, j), a, inter)
		}
		s.linear(p+"up_project", h, a)
	}
}

func (s *synth) tensorMap() map[string]*Tensor {
	m := make(map[string]*Tensor, len(s.out))
	for _, t := range s.out {
		m[t.Name] = t
	}
	return m
}

// oldNameMap is tensorMap with the LayerNorm parameters under the old
// names gamma and beta (pre-1.0 checkpoints).
func (s *synth) oldNameMap() map[string]*Tensor {
	m := make(map[string]*Tensor, len(s.out))
	for _, t := range s.out {
		k := strings.Replace(strings.Replace(t.Name, "LayerNorm.weight", "LayerNorm.gamma", 1), "LayerNorm.bias", "LayerNorm.beta", 1)
		m[k] = t
	}
	return m
}

// encode writes tensors in format to memory.
func encode(t testing.TB, format Format, ts []*Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch format {
	case FormatSafetensors:
		dir := t.TempDir()
		p := dir + "/x.safetensors"
		if err := WriteSafetensors(p, ts, nil); err != nil {
			t.Fatal(err)
		}
		c, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	default:
		storages := make([]torchStorage, len(ts))
		entries := make([]torchEntry, len(ts))
		for i, x := range ts {
			storages[i] = torchStorage{key: fmt.Sprint(i), dtype: Float32, numel: len(x.Data), raw: float32Bytes(x.Data)}
			entries[i] = torchEntry{name: x.Name, storage: i, size: x.Shape, stride: rowMajorStrides(x.Shape)}
		}
		if err := writeTorch(&buf, format, "archive", storages, entries); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// small returns a few tensors for error and fuzz tests.
func small() []*Tensor {
	s := newSynth(1)
	s.add("a.weight", 3, 4)
	s.add("a.bias", 3)
	s.add("scalar")
	return s.out
}

func readBytes(name string, b []byte) (*Checkpoint, error) {
	return Read(name, bytes.NewReader(b), int64(len(b)))
}
