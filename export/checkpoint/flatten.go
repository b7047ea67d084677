package checkpoint

import "fmt"

// The Flatten methods turn the typed views back into flat key maps. A graph
// builder addresses parameters by state-dict name; these maps give every
// extracted (shape-checked) tensor its name under a prefix of the caller's
// choice, so the key rules (prefixes, gamma/beta renames, ignored and strict
// keys) live in the Extract functions alone. The maps hold the loaded
// tensors, not copies.

// flat collects tensors by key.
type flat map[string]*Tensor

// linear adds name.weight and name.bias; a nil l adds nothing.
func (f flat) linear(name string, l *Linear) {
	if l == nil {
		return
	}
	f[name+".weight"] = l.Weight
	f[name+".bias"] = l.Bias
}

// layerNorm adds name.weight and name.bias.
func (f flat) layerNorm(name string, n LayerNorm) {
	f[name+".weight"] = n.Weight
	f[name+".bias"] = n.Bias
}

// attention adds a BertAttention under name (self.{query,key,value},
// output.dense, output.LayerNorm); a nil a adds nothing.
func (f flat) attention(name string, a *Attention) {
	if a == nil {
		return
	}
	f.linear(name+".self.query", &a.Query)
	f.linear(name+".self.key", &a.Key)
	f.linear(name+".self.value", &a.Value)
	f.linear(name+".output.dense", &a.Output)
	f.layerNorm(name+".output.LayerNorm", a.Norm)
}

// bertLayer adds a transformer layer under name (attention.*,
// intermediate.dense, output.dense, output.LayerNorm).
func (f flat) bertLayer(name string, l *BertLayer) {
	f.attention(name+".attention", &l.Attention)
	f.linear(name+".intermediate.dense", &l.Intermediate)
	f.linear(name+".output.dense", &l.Output)
	f.layerNorm(name+".output.LayerNorm", l.Norm)
}

// roberta adds a RobertaModel's parameters under prefix.
func (f flat) roberta(prefix string, w *RobertaWeights) {
	f[prefix+"embeddings.word_embeddings.weight"] = w.Word
	f[prefix+"embeddings.position_embeddings.weight"] = w.Position
	f[prefix+"embeddings.token_type_embeddings.weight"] = w.TokenType
	f.layerNorm(prefix+"embeddings.LayerNorm", w.EmbedNorm)
	for i := range w.Layers {
		f.bertLayer(fmt.Sprintf("%sencoder.layer.%d", prefix, i), &w.Layers[i])
	}
	f.linear(prefix+"pooler.dense", w.Pooler)
}

// adapters adds an adapter chain under prefix (prefix{k}.down_project,
// prefix{k}.encoder.layer.{j}.*, prefix{k}.up_project).
func (f flat) adapters(prefix string, aw *AdapterWeights) {
	for i := range aw.Adapters {
		a := &aw.Adapters[i]
		p := fmt.Sprintf("%s%d.", prefix, i)
		f.linear(p+"down_project", &a.Down)
		for j := range a.Layers {
			f.bertLayer(fmt.Sprintf("%sencoder.layer.%d", p, j), &a.Layers[j])
		}
		f.linear(p+"up_project", &a.Up)
	}
}

// Flatten returns the RoBERTa parameters keyed by state-dict name under
// prefix (e.g. "roberta."; w.Prefix gives the file's own names), with
// gamma/beta already renamed; the pooler is included when present.
func (w *RobertaWeights) Flatten(prefix string) map[string]*Tensor {
	f := flat{}
	f.roberta(prefix, w)
	return f
}

// Flatten returns the chain's parameters keyed by state-dict name under
// prefix (e.g. "fac_adapter.adapter."; aw.Prefix gives the file's own
// names).
func (aw *AdapterWeights) Flatten(prefix string) map[string]*Tensor {
	f := flat{}
	f.adapters(prefix, aw)
	return f
}

// Flatten returns the head's parameters under their file names
// (com_dense.*, self_attention.*, dense.*, out_proj.*); absent parts are
// left out.
func (h *PretrainHead) Flatten() map[string]*Tensor {
	f := flat{}
	f.linear("com_dense", h.ComDense)
	f.attention("self_attention", h.SelfAttention)
	f.linear("dense", h.Dense)
	f.linear("out_proj", h.OutProj)
	return f
}

// Flatten returns every parameter of the task checkpoint under its file
// name (adapters under their Prefix), except RoBERTa's (model.* in the
// file), which go under robertaPrefix.
func (tw *TaskWeights) Flatten(robertaPrefix string) map[string]*Tensor {
	f := flat{}
	if tw.Roberta != nil {
		f.roberta(robertaPrefix, tw.Roberta)
	}
	for _, a := range []*AdapterWeights{tw.Fac, tw.Lin} {
		if a != nil {
			f.adapters(a.Prefix, a)
		}
	}
	for _, l := range tw.linears(0) {
		f.linear(l.name, *l.dst)
	}
	return f
}
