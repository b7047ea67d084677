package models

import (
	"fmt"
	"math"

	"github.com/kadapter/kadapter/export/graph"
)

// builder carries the graph, the weights and the first weight error.
type builder struct {
	g *graph.Graph
	w *Weights
	// train, when set, makes the trainable parameters graph inputs.
	train *trainParams
	// inits are the initializers already made, by name (a recomputed layer
	// is built twice from the same weights).
	inits map[string]*graph.Value
}

// initializer adds t under name once; later calls return the same value.
func (b *builder) initializer(name string, t *graph.Tensor) *graph.Value {
	if v, ok := b.inits[name]; ok {
		return v
	}
	v := b.g.Initializer(name, t)
	if b.inits == nil {
		b.inits = map[string]*graph.Value{}
	}
	b.inits[name] = v
	return v
}

// param adds the tensor under key (shape checked) as an initializer, or as
// a graph input when it is trained.
func (b *builder) param(key string, shape ...int) *graph.Value {
	if v, ok := b.inits[key]; ok {
		return v
	}
	if b.train != nil {
		if v, ok := b.train.inputs[key]; ok {
			return v
		}
	}
	t, err := b.w.Tensor(key, shape...)
	if err != nil {
		b.g.Fail(err)
		return b.g.Scalar(0)
	}
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	gt := &graph.Tensor{DType: graph.Float32, Dims: dims, Float32: t.Data}
	if v := b.train.input(b.g, key, gt); v != nil {
		return v
	}
	return b.initializer(key, gt)
}

// linear is PyTorch's Linear(in→out) under prefix: y = x·Wᵀ + b. The
// initializer "<prefix>.weight.T" holds Wᵀ ([in,out]) so MatMul needs no
// transpose at run time; the bias keeps its checkpoint name.
func (b *builder) linear(x *graph.Value, prefix string, in, out int) *graph.Value {
	key := prefix + ".weight"
	if wt, ok := b.inits[key+".T"]; ok { // a frozen Linear built before (recomputation)
		var y *graph.Value
		b.g.Within(prefix, func() { y = b.g.Add(b.g.MatMul(x, wt), b.param(prefix+".bias", out)) })
		return y
	}
	if b.train != nil {
		if w, ok := b.train.inputs[key]; ok {
			var y *graph.Value
			b.g.Within(prefix, func() {
				y = b.g.Add(b.g.MatMul(x, b.g.Transpose(w, 1, 0)), b.param(prefix+".bias", out))
			})
			return y
		}
	}
	t, err := b.w.Tensor(key, out, in)
	if err != nil {
		b.g.Fail(err)
		return x
	}
	if b.train.asInput(key) {
		// Weights made inputs keep the checkpoint layout [out,in], so the
		// state maps back to the file by name.
		var y *graph.Value
		b.g.Within(prefix, func() {
			w := b.train.input(b.g, key, &graph.Tensor{DType: graph.Float32, Dims: []int64{int64(out), int64(in)}, Float32: t.Data})
			y = b.g.Add(b.g.MatMul(x, b.g.Transpose(w, 1, 0)), b.param(prefix+".bias", out))
		})
		return y
	}
	wt := transpose(t.Data, out, in)
	b.w.release(key)
	var y *graph.Value
	b.g.Within(prefix, func() {
		w := b.initializer(key+".T", &graph.Tensor{DType: graph.Float32, Dims: []int64{int64(in), int64(out)}, Float32: wt})
		y = b.g.Add(b.g.MatMul(x, w), b.param(prefix+".bias", out))
	})
	return y
}

// layerNorm is LayerNorm over the last axis with weight and bias under
// prefix (biased variance, eps inside the square root).
func (b *builder) layerNorm(x *graph.Value, prefix string, h int, eps float64) *graph.Value {
	return b.g.LayerNorm(x, b.param(prefix+".weight", h), b.param(prefix+".bias", h), float32(eps))
}

// gelu is the exact erf GELU of pytorch_transformers 1.2.0:
// x · 0.5 · (1 + erf(x / √2)).
func (b *builder) gelu(x *graph.Value) *graph.Value {
	g := b.g
	var y *graph.Value
	g.Scope("gelu", func() {
		e := g.Erf(g.Div(x, g.Scalar(float32(math.Sqrt(2)))))
		y = g.Mul(g.Mul(x, g.Scalar(0.5)), g.Add(g.Scalar(1), e))
		// Closed-form backward from x alone: Φ(x) + x·φ(x).
		g.Composite(y, []*graph.Value{x}, func(dy *graph.Value) []*graph.Value {
			cdf := g.Mul(g.Scalar(0.5), g.Add(g.Scalar(1), g.Erf(g.Div(x, g.Scalar(float32(math.Sqrt(2)))))))
			pdf := g.Mul(g.Exp(g.Mul(g.Mul(x, x), g.Scalar(-0.5))), g.Scalar(float32(1/math.Sqrt(2*math.Pi))))
			return []*graph.Value{g.Mul(dy, g.Add(cdf, g.Mul(x, pdf)))}
		})
	})
	return y
}

// attnSpec sizes a BertSelfAttention.
type attnSpec struct {
	hidden, heads int
}

// selfAttention is BertSelfAttention under prefix ("….attention.self"):
// per head softmax(Q·Kᵀ/√d + mask)·V, heads concatenated. mask is the
// additive [B,1,1,L] mask or nil for none (the adapters). It returns the
// context [B,L,H] and the probabilities [B,heads,L,L].
func (b *builder) selfAttention(x *graph.Value, prefix string, s attnSpec, mask *graph.Value) (*graph.Value, *graph.Value) {
	return b.selfAttentionAt(x, x, prefix, s, mask)
}

// selfAttentionAt is selfAttention with the queries taken from xq
// ([B,P,H], rows of x) and the keys and values from every row of x: the
// context comes back for the P query rows only ([B,P,H]).
func (b *builder) selfAttentionAt(x, xq *graph.Value, prefix string, s attnSpec, mask *graph.Value) (*graph.Value, *graph.Value) {
	g := b.g
	h, n := s.hidden, s.heads
	d := int64(h / n)
	var ctx, probs *graph.Value
	g.Within(prefix, func() {
		split := func(v *graph.Value) *graph.Value { return g.Reshape(v, 0, 0, int64(n), d) }
		q := g.Transpose(split(b.linear(xq, prefix+".query", h, h)), 0, 2, 1, 3)
		k := g.Transpose(split(b.linear(x, prefix+".key", h, h)), 0, 2, 3, 1)
		v := g.Transpose(split(b.linear(x, prefix+".value", h, h)), 0, 2, 1, 3)
		scores := g.Div(g.MatMul(q, k), g.Scalar(float32(math.Sqrt(float64(d)))))
		if mask != nil {
			scores = g.Add(scores, mask)
		}
		probs = g.Softmax(scores, -1)
		c := g.Transpose(g.MatMul(b.dropout(probs, "attention"), v), 0, 2, 1, 3)
		ctx = g.Reshape(c, 0, 0, int64(h))
	})
	return ctx, probs
}

// attention is BertAttention under prefix: self-attention, then
// LayerNorm(dense(context) + x). It also returns the probabilities.
func (b *builder) attention(x *graph.Value, prefix string, s attnSpec, mask *graph.Value, eps float64) (*graph.Value, *graph.Value) {
	ctx, probs := b.selfAttention(x, prefix+".self", s, mask)
	var y *graph.Value
	b.g.Within(prefix+".output", func() {
		o := b.dropout(b.linear(ctx, prefix+".output.dense", s.hidden, s.hidden), "hidden")
		y = b.layerNorm(b.g.Add(o, x), prefix+".output.LayerNorm", s.hidden, eps)
	})
	return y, probs
}

// bertLayer is one post-LayerNorm BERT layer under prefix
// ("….encoder.layer.i").
func (b *builder) bertLayer(x *graph.Value, prefix string, s attnSpec, inter int, mask *graph.Value, eps float64) *graph.Value {
	return b.bertLayerAt(x, nil, prefix, s, inter, mask, eps)
}

// bertLayerAt is bertLayer computed for the rows sel ([B,P] int64
// positions) only: keys and values still come from every row of x, the
// queries, the residuals and the feed-forward part from the selected rows,
// so the result is rows sel of bertLayer's ([B,P,H]) with the same
// arithmetic per row. sel nil is bertLayer.
func (b *builder) bertLayerAt(x, sel *graph.Value, prefix string, s attnSpec, inter int, mask *graph.Value, eps float64) *graph.Value {
	t := b.train
	if t == nil || !t.spec.Recompute || t.replaying {
		return b.bertLayerOnce(x, sel, prefix, s, inter, mask, eps)
	}
	params0, sites0 := len(t.order), len(t.dropout)
	y := b.bertLayerOnce(x, sel, prefix, s, inter, mask, eps)
	params := append([]*graph.Value(nil), t.order[params0:]...)
	sites := append([]DropoutSite(nil), t.dropout[sites0:]...)
	module := t.module
	inputs := append([]*graph.Value{x}, params...)
	b.g.Composite(y, inputs, func(dy *graph.Value) []*graph.Value {
		// Rebuild the layer from x (same weights, same dropout masks) and
		// differentiate the copy: the first build's activations are not
		// needed by the backward pass.
		savedModule := t.module
		t.replaying, t.replay, t.module = true, sites, module
		y2 := b.bertLayerOnce(x, sel, prefix, s, inter, mask, eps)
		t.replaying, t.replay, t.module = false, nil, savedModule
		grads, err := b.g.Gradients(y2, inputs, graph.GradOptions{Seed: dy})
		if err != nil {
			b.g.Fail(err)
			return nil
		}
		return grads
	})
	return y
}

// bertLayerOnce builds one BERT layer (bertLayerAt without recomputation).
func (b *builder) bertLayerOnce(x, sel *graph.Value, prefix string, s attnSpec, inter int, mask *graph.Value, eps float64) *graph.Value {
	var a *graph.Value
	if sel == nil {
		a, _ = b.attention(x, prefix+".attention", s, mask, eps)
	} else {
		xq := b.rowsAt(x, sel, s.hidden)
		ctx, _ := b.selfAttentionAt(x, xq, prefix+".attention.self", s, mask)
		b.g.Within(prefix+".attention.output", func() {
			o := b.dropout(b.linear(ctx, prefix+".attention.output.dense", s.hidden, s.hidden), "hidden")
			a = b.layerNorm(b.g.Add(o, xq), prefix+".attention.output.LayerNorm", s.hidden, eps)
		})
	}
	var y *graph.Value
	b.g.Within(prefix, func() {
		i := b.gelu(b.linear(a, prefix+".intermediate.dense", s.hidden, inter))
		o := b.dropout(b.linear(i, prefix+".output.dense", inter, s.hidden), "hidden")
		y = b.layerNorm(b.g.Add(o, a), prefix+".output.LayerNorm", s.hidden, eps)
	})
	return y
}

// roberta runs the RoBERTa encoder on ids/mask ([B,L] int64) and returns
// the hidden-state list: index 0 the embeddings (after LayerNorm), index i
// the output of layer i.
//
// sel non-nil ([B,P] int64 positions) computes the last layer for those
// rows only: the last hidden state is then [B,P,H] (rows sel of the full
// one); the caller must not tap it for an adapter.
func (b *builder) roberta(c RobertaConfig, ids, mask, sel *graph.Value) []*graph.Value {
	g := b.g
	h := c.HiddenSize
	var hs []*graph.Value
	g.Scope("roberta", func() {
		var emb *graph.Value
		g.Within("roberta.embeddings", func() {
			// nn.Embedding(padding_idx=0) (BertEmbeddings): row 0 gets no
			// gradient.
			word := g.GatherSkip(b.param("roberta.embeddings.word_embeddings.weight", -1, h), ids, 0, 0)
			// Position ids 2..L+1 for every row, padding included
			// (pytorch_transformers 1.2.0): cumsum of ones along the
			// sequence, plus one.
			ones := g.Add(g.Mul(ids, g.ScalarInt(0)), g.ScalarInt(1))
			pos := g.Add(g.CumSum(ones, 1), g.ScalarInt(1))
			posEmb := g.Gather(b.param("roberta.embeddings.position_embeddings.weight", -1, h), pos, 0)
			// token_type_ids are never passed: every token uses row 0.
			tt := g.Gather(b.param("roberta.embeddings.token_type_embeddings.weight", -1, h), g.ScalarInt(0), 0)
			sum := g.Add(g.Add(word, posEmb), tt)
			emb = b.dropout(b.layerNorm(sum, "roberta.embeddings.LayerNorm", h, c.LayerNormEps), "hidden")
		})
		hs = append(hs, emb)
		var ext *graph.Value
		g.Within("roberta.mask", func() {
			ext = g.Unsqueeze(b.additiveMask(mask), 1, 2)
		})
		x := emb
		for i := 0; i < c.NumHiddenLayers; i++ {
			var at *graph.Value
			if i == c.NumHiddenLayers-1 {
				at = sel
			}
			x = b.bertLayerAt(x, at, fmt.Sprintf("roberta.encoder.layer.%d", i),
				attnSpec{h, c.NumAttentionHeads}, c.IntermediateSize, ext, c.LayerNormEps)
			hs = append(hs, x)
		}
	})
	return hs
}

// additiveMask is (1 - mask) · -10000 as float32 ([B,L]).
func (b *builder) additiveMask(mask *graph.Value) *graph.Value {
	g := b.g
	m := g.Cast(mask, graph.Float32)
	return g.Mul(g.Sub(g.Scalar(1), m), g.Scalar(-10000))
}

// pooler is tanh(dense(h[:,0])).
func (b *builder) pooler(c RobertaConfig, seq *graph.Value) *graph.Value {
	g := b.g
	var y *graph.Value
	g.Within("roberta.pooler", func() {
		first := g.Gather(seq, g.ScalarInt(0), 1)
		y = g.Tanh(b.linear(first, "roberta.pooler.dense", c.HiddenSize, c.HiddenSize))
	})
	return y
}

// stack joins equally shaped values along a new leading axis.
func (b *builder) stack(vs []*graph.Value) *graph.Value {
	us := make([]*graph.Value, len(vs))
	for i, v := range vs {
		us[i] = b.g.Unsqueeze(v, 0)
	}
	return b.g.Concat(0, us...)
}

// pick returns x[b, pos[b], :] for x [B,L,H] and pos int64 [B].
func (b *builder) pick(x, pos *graph.Value, h int) *graph.Value {
	g := b.g
	idx := g.Expand(g.Unsqueeze(pos, 1, 2), 1, 1, int64(h))
	return g.Squeeze(g.GatherElements(x, idx, 1), 1)
}

// rowsAt returns x[b, sel[b, p], :] for x [B,L,H] and sel int64 [B,P].
func (b *builder) rowsAt(x, sel *graph.Value, h int) *graph.Value {
	g := b.g
	return g.GatherElements(x, g.Expand(g.Unsqueeze(sel, 2), 1, 1, int64(h)), 1)
}

// transpose returns the [cols,rows] transpose of a row-major [rows,cols]
// matrix, in cache-sized blocks.
func transpose(a []float32, rows, cols int) []float32 {
	const blk = 32
	t := make([]float32, rows*cols)
	for r0 := 0; r0 < rows; r0 += blk {
		r1 := min(r0+blk, rows)
		for c0 := 0; c0 < cols; c0 += blk {
			c1 := min(c0+blk, cols)
			for r := r0; r < r1; r++ {
				row := a[r*cols : (r+1)*cols]
				for c := c0; c < c1; c++ {
					t[c*rows+r] = row[c]
				}
			}
		}
	}
	return t
}
