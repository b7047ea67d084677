package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/tasks"
)

// InitSpec sizes modules that the given files do not provide.
type InitSpec struct {
	// AdapterList gives the number of adapters.
	AdapterList []int
	// AdapterSize, AdapterLayers, AdapterIntermediate size each adapter
	// (AdapterConfig: 768, 2, 3072 upstream).
	AdapterSize, AdapterLayers, AdapterIntermediate int
	// Labels is the head's class count where the task does not fix it
	// (FIGER: the label list's size; find-head: max_seq_length).
	Labels int
	// Seed draws the values.
	Seed uint64
}

// initSource names the "file" of initialized tensors in errors and
// summaries.
const initSource = "(initialized)"

// InitMissing adds to w, for task def, the modules that no file provided,
// initialized as the original code does (seeded): a pre-training adapter
// model (down/up projections N(0, 2e-4) with zero biases, the encoder
// layers and the head with PyTorch's defaults: Linear U(±1/√fan_in) for
// weight and bias, LayerNorm 1/0), and a fine-tuning task's fusion
// (task_dense*, CosmosQA's per-adapter task_dense) and head with PyTorch's
// defaults. It returns the keys it created.
func InitMissing(def *tasks.Definition, w *models.Weights, h int, s InitSpec) ([]string, error) {
	rng := rand.New(rand.NewPCG(s.Seed, 0x6b616461707465)) // "kadapte"
	var made []string
	put := func(key string, shape []int, data []float32) error {
		if w.Has(key) {
			return nil
		}
		made = append(made, key)
		return w.Set(key, initSource, &checkpoint.Tensor{Name: key, Shape: shape, DType: checkpoint.Float32, Data: data})
	}
	uniform := func(n int, bound float64) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32((2*rng.Float64() - 1) * bound)
		}
		return d
	}
	// linear is torch.nn.Linear's reset_parameters: kaiming_uniform(a=√5)
	// gives U(±1/√fan_in) for the weight; the bias is U(±1/√fan_in).
	linear := func(prefix string, in, out int) error {
		b := 1 / math.Sqrt(float64(in))
		if err := put(prefix+".weight", []int{out, in}, uniform(out*in, b)); err != nil {
			return err
		}
		return put(prefix+".bias", []int{out}, uniform(out, b))
	}
	layerNorm := func(prefix string, n int) error {
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		if err := put(prefix+".weight", []int{n}, ones); err != nil {
			return err
		}
		return put(prefix+".bias", []int{n}, make([]float32, n))
	}
	attention := func(prefix string, n int) error {
		for _, p := range []string{"self.query", "self.key", "self.value", "output.dense"} {
			if err := linear(prefix+"."+p, n, n); err != nil {
				return err
			}
		}
		return layerNorm(prefix+".output.LayerNorm", n)
	}
	layer := func(l tasks.Layer) error {
		if l.Attention {
			return attention(l.Name, l.In)
		}
		return linear(l.Name, l.In, l.Out)
	}
	// head draws the head's layers and returns the keys made.
	head := func() ([]string, error) {
		ls, err := def.Init.Head(h, s.Labels)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if err := layer(l); err != nil {
				return nil, err
			}
		}
		return made, nil
	}
	hasPrefix := func(p string) bool {
		for _, k := range w.Keys() {
			if len(k) >= len(p) && k[:len(p)] == p {
				return true
			}
		}
		return false
	}
	if def.Pretraining {
		chain := def.Adapter + "_adapter.adapter."
		if !hasPrefix(chain) {
			if len(s.AdapterList) == 0 || s.AdapterSize <= 0 || s.AdapterLayers <= 0 || s.AdapterIntermediate <= 0 {
				return nil, fmt.Errorf("no --%s file: give the adapter sizes to initialize one", def.Adapter)
			}
			a := s.AdapterSize
			for k := range s.AdapterList {
				p := fmt.Sprintf("%s%d", chain, k)
				std := 2e-4 // adapter_initializer_range
				down := make([]float32, a*h)
				for i := range down {
					down[i] = float32(rng.NormFloat64() * std)
				}
				if err := put(p+".down_project.weight", []int{a, h}, down); err != nil {
					return nil, err
				}
				if err := put(p+".down_project.bias", []int{a}, make([]float32, a)); err != nil {
					return nil, err
				}
				for j := 0; j < s.AdapterLayers; j++ {
					l := fmt.Sprintf("%s.encoder.layer.%d", p, j)
					if err := attention(l+".attention", a); err != nil {
						return nil, err
					}
					if err := linear(l+".intermediate.dense", a, s.AdapterIntermediate); err != nil {
						return nil, err
					}
					if err := linear(l+".output.dense", s.AdapterIntermediate, a); err != nil {
						return nil, err
					}
					if err := layerNorm(l+".output.LayerNorm", a); err != nil {
						return nil, err
					}
				}
				up := make([]float32, h*a)
				for i := range up {
					up[i] = float32(rng.NormFloat64() * std)
				}
				if err := put(p+".up_project.weight", []int{h, a}, up); err != nil {
					return nil, err
				}
				if err := put(p+".up_project.bias", []int{h}, make([]float32, h)); err != nil {
					return nil, err
				}
			}
		}
		return head()
	}
	var kinds []string
	for _, k := range []string{"fac", "lin"} {
		if hasPrefix(k + "_adapter.adapter.") {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("task %s needs adapters: give --task-model, or --fac/--lin", def.Task)
	}
	for _, k := range kinds {
		if def.Init.PerAdapter != nil {
			for _, l := range def.Init.PerAdapter(k, h) {
				if err := layer(l); err != nil {
					return nil, err
				}
			}
		}
		if err := linear("task_dense_"+k, 2*h, h); err != nil {
			return nil, err
		}
	}
	if len(kinds) == 2 {
		if err := linear("task_dense", 2*h, h); err != nil {
			return nil, err
		}
	}
	return head()
}

// NewRoberta returns the tensors of a randomly initialized RoBERTa of
// configuration c (canonical keys roberta.*), as BertPreTrainedModel's
// init_weights draws them: Linear weights and embeddings N(0, 0.02),
// biases 0, LayerNorm 1/0; seeded.
func NewRoberta(c models.RobertaConfig, seed uint64) []*checkpoint.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x726f6265727461)) // "roberta"
	var out []*checkpoint.Tensor
	normal := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 0.02)
		}
		out = append(out, &checkpoint.Tensor{Name: name, Shape: shape, DType: checkpoint.Float32, Data: d})
	}
	fill := func(name string, v float32, n int) {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		out = append(out, &checkpoint.Tensor{Name: name, Shape: []int{n}, DType: checkpoint.Float32, Data: d})
	}
	h := c.HiddenSize
	linear := func(prefix string, in, o int) {
		normal(prefix+".weight", o, in)
		fill(prefix+".bias", 0, o)
	}
	ln := func(prefix string) {
		fill(prefix+".weight", 1, h)
		fill(prefix+".bias", 0, h)
	}
	normal("roberta.embeddings.word_embeddings.weight", c.VocabSize, h)
	normal("roberta.embeddings.position_embeddings.weight", c.MaxPositionEmbeddings, h)
	normal("roberta.embeddings.token_type_embeddings.weight", max(c.TypeVocabSize, 1), h)
	ln("roberta.embeddings.LayerNorm")
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("roberta.encoder.layer.%d.", i)
		for _, q := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			linear(p+q, h, h)
		}
		ln(p + "attention.output.LayerNorm")
		linear(p+"intermediate.dense", h, c.IntermediateSize)
		linear(p+"output.dense", c.IntermediateSize, h)
		ln(p + "output.LayerNorm")
	}
	linear("roberta.pooler.dense", h, h)
	return out
}
