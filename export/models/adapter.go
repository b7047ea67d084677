package models

import (
	"fmt"

	"github.com/kadapter/kadapter/export/graph"
)

// inferAdapter fills Size, Layers and Intermediate of cfg from the weights
// of the chain under prefix ("fac_adapter") and returns the number of
// adapters K found. It checks K against the tap list.
func (w *Weights) inferAdapter(prefix string, hidden int, cfg *AdapterConfig) (int, error) {
	k := w.count(prefix+".adapter.", ".down_project.weight")
	if k == 0 {
		return 0, nil
	}
	down, err := w.Tensor(prefix+".adapter.0.down_project.weight", -1, hidden)
	if err != nil {
		return 0, err
	}
	cfg.Size = down.Shape[0]
	cfg.Layers = w.count(prefix+".adapter.0.encoder.layer.", ".attention.self.query.weight")
	if cfg.Layers == 0 {
		return 0, fmt.Errorf("%s: adapter 0 has no encoder layers (key %s.adapter.0.encoder.layer.0.attention.self.query.weight missing)", w.source[prefix+".adapter.0.down_project.weight"], prefix)
	}
	inter, err := w.Tensor(prefix+".adapter.0.encoder.layer.0.intermediate.dense.weight", -1, cfg.Size)
	if err != nil {
		return 0, err
	}
	cfg.Intermediate = inter.Shape[0]
	if cfg.Heads <= 0 || cfg.Size%cfg.Heads != 0 {
		return 0, fmt.Errorf("adapter width %d (from %s) is not a multiple of --adapter-heads %d", cfg.Size, prefix, cfg.Heads)
	}
	if len(cfg.List) != k {
		return 0, fmt.Errorf("%s has %d adapters but the adapter list %v has %d entries", prefix, k, cfg.List, len(cfg.List))
	}
	return k, nil
}

// adapter is one Adapter under prefix ("fac_adapter.adapter.0"):
// x + up(encoder(down(x))), the encoder attending to every position
// (all-zero mask: the input padding mask is never passed, spec §2).
//
// sel non-nil ([B,P] int64 positions) computes the last encoder layer,
// the up-projection and the residual for those rows only ([B,P,hidden]).
func (b *builder) adapter(x *graph.Value, prefix string, hidden int, cfg AdapterConfig, sel *graph.Value) *graph.Value {
	d := b.linear(x, prefix+".down_project", hidden, cfg.Size)
	for j := 0; j < cfg.Layers; j++ {
		var at *graph.Value
		if j == cfg.Layers-1 {
			at = sel
		}
		d = b.bertLayerAt(d, at, fmt.Sprintf("%s.encoder.layer.%d", prefix, j), attnSpec{cfg.Size, cfg.Heads}, cfg.Intermediate, nil, cfg.Eps)
	}
	u := b.linear(d, prefix+".up_project", cfg.Size, hidden)
	var y *graph.Value
	b.g.Within(prefix, func() {
		if sel != nil {
			x = b.rowsAt(x, sel, hidden)
		}
		y = b.g.Add(x, u)
	})
	return y
}

// chain runs the adapters of one knowledge type over the hidden-state
// list exactly as AdapterModel.forward (spec §3) and returns the final
// output and the list of each adapter's output. sel non-nil ([B,P] int64
// positions) computes the last adapter's final layer for those rows only,
// so the final output is [B,P,hidden] (and so is the list's last entry).
func (b *builder) chain(hs []*graph.Value, prefix string, hidden int, cfg AdapterConfig, sel *graph.Value) (*graph.Value, []*graph.Value) {
	var last *graph.Value // nil stands for the zero tensor upstream starts from
	var outs []*graph.Value
	for k, tap := range cfg.List {
		in := hs[tap]
		if last != nil {
			b.g.Within(fmt.Sprintf("%s.adapter.%d", prefix, k), func() { in = b.g.Add(in, last) })
		}
		var at *graph.Value
		if k == len(cfg.List)-1 {
			at = sel
		}
		last = b.adapter(in, fmt.Sprintf("%s.adapter.%d", prefix, k), hidden, cfg, at)
		outs = append(outs, last)
		if s := cfg.SkipLayers; s >= 1 && len(outs)%s == 0 {
			skip := outs[len(outs)/s] // IndexError upstream when s == 1; rejected earlier
			b.g.Within(fmt.Sprintf("%s.skip.%d", prefix, k), func() {
				if at != nil && skip != last {
					skip = b.rowsAt(skip, at, hidden)
				}
				last = b.g.Add(last, skip)
			})
		}
	}
	return last, outs
}

// validateAdapter checks the tap list and skip setting against RoBERTa.
func validateAdapter(cfg AdapterConfig, layers int) error {
	for _, t := range cfg.List {
		if t < 0 || t > layers {
			return fmt.Errorf("adapter list entry %d is outside the hidden-state list 0..%d", t, layers)
		}
	}
	switch {
	case cfg.SkipLayers == 1:
		return fmt.Errorf("adapter_skip_layers 1 is rejected: the original raises IndexError (it would add outs[len(outs)], spec §3)")
	case cfg.SkipLayers < 0:
		return fmt.Errorf("adapter_skip_layers must be 0 (off) or at least 2, got %d", cfg.SkipLayers)
	}
	return nil
}
