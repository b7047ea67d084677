package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/export/graph"
)

// TrainSpec says how BuildTrain turns a task graph into a training
// forward pass: which parameters are trained (graph inputs under their
// canonical key names) and which dropout sites are active.
type TrainSpec struct {
	// Trainable reports whether the parameter under a canonical key
	// (roberta.*, fac_adapter.*, dense.*, ...) is trained.
	Trainable func(key string) bool
	// Dropout gives the drop probability of a site in a module ("roberta",
	// "adapter", "head") of kind "hidden" or "attention"; 0 disables the
	// site. nil: no dropout anywhere.
	Dropout func(module, kind string) float64
	// Recompute makes every transformer layer (RoBERTa's and the
	// adapters') a composite whose backward re-runs the layer's forward
	// from its input: only layer inputs are kept for the backward pass,
	// at the price of one more forward of each trained layer.
	Recompute bool
	// FrozenInputs makes the frozen weights graph inputs too (Frozen),
	// fed by the caller from its own buffers, instead of initializers:
	// ONNX Runtime then holds no copy of them (no initializer copy, no
	// pre-packed or transposed duplicates), and several sessions can
	// share one set. They get no gradient.
	FrozenInputs bool
}

// TrainGraph is a training forward pass: the graph (inputs: the task's
// inputs, the labels, the trained parameters, the dropout masks; outputs:
// none yet), the scalar loss as the original script computes it, and the
// trained parameters in creation order with their initial values.
type TrainGraph struct {
	// Graph is the graph under construction; the caller adds gradients
	// and outputs.
	Graph *graph.Graph
	// Loss is the model's own loss (before any division for accumulation).
	Loss *graph.Value
	// Logits is the head's output.
	Logits *graph.Value
	// Params are the trained parameters (graph inputs named by key).
	Params []*graph.Value
	// Frozen are the frozen weights made inputs (TrainSpec.FrozenInputs).
	Frozen []*graph.Value
	// Initial holds each parameter's (and frozen input's) starting tensor,
	// by key.
	Initial map[string]*graph.Tensor
	// Labels is the labels input.
	Labels *graph.Value
	// Dropout lists the mask inputs (values 0 or 1/(1-p)), with p.
	Dropout []DropoutSite
	// Interface is the graph's task interface.
	Interface Interface
}

// DropoutSite is one dropout mask input.
type DropoutSite struct {
	// Input is the mask's graph input (float32, the activation's shape).
	Input *graph.Value
	// P is the drop probability.
	P float64
}

// trainParams collects the trained parameters and dropout sites while a
// graph is built. A nil *trainParams means an inference graph.
type trainParams struct {
	spec    TrainSpec
	inputs  map[string]*graph.Value
	order   []*graph.Value
	frozen  []*graph.Value // frozen weights made inputs
	initial map[string]*graph.Tensor
	dropout []DropoutSite
	module  string // module whose layers are being built ("roberta", "adapter", "head")
	// replay, while a layer is rebuilt for recomputation, hands out the
	// dropout sites of its first build in order instead of new ones.
	replay    []DropoutSite
	replaying bool
}

func (t *trainParams) trains(key string) bool {
	return t != nil && t.spec.Trainable != nil && t.spec.Trainable(key)
}

// asInput reports whether key becomes a graph input: trained, or frozen
// with TrainSpec.FrozenInputs.
func (t *trainParams) asInput(key string) bool {
	return t != nil && (t.trains(key) || t.spec.FrozenInputs)
}

// input returns the graph input for a trained key, or a frozen one with
// FrozenInputs (creating it once); nil when key is neither.
func (t *trainParams) input(g *graph.Graph, key string, init *graph.Tensor) *graph.Value {
	if !t.asInput(key) {
		return nil
	}
	if v, ok := t.inputs[key]; ok {
		return v
	}
	dims := make([]graph.Dim, len(init.Dims))
	for i, d := range init.Dims {
		dims[i] = graph.Known(d)
	}
	v := g.Input(key, graph.Float32, dims...)
	t.inputs[key] = v
	if t.trains(key) {
		t.order = append(t.order, v)
	} else {
		t.frozen = append(t.frozen, v)
	}
	t.initial[key] = init
	return v
}

// dropout multiplies x by a mask input when the site is active.
func (b *builder) dropout(x *graph.Value, kind string) *graph.Value {
	t := b.train
	if t == nil || t.spec.Dropout == nil {
		return x
	}
	p := t.spec.Dropout(t.module, kind)
	if p <= 0 {
		return x
	}
	if t.replaying {
		if len(t.replay) == 0 {
			b.g.Failf("recompute: the rebuilt layer has more dropout sites than the original")
			return x
		}
		d := t.replay[0]
		t.replay = t.replay[1:]
		return b.g.Mul(x, d.Input)
	}
	name := fmt.Sprintf("dropout/%s/%d", t.module, len(t.dropout))
	m := b.g.Input(name, x.DType, x.Shape...)
	t.dropout = append(t.dropout, DropoutSite{Input: m, P: p})
	return b.g.Mul(x, m)
}

// inModule runs f with the dropout module set.
func (b *builder) inModule(module string, f func()) {
	if b.train == nil {
		f()
		return
	}
	saved := b.train.module
	b.train.module = module
	defer func() { b.train.module = saved }()
	f()
}

// BuildTrain builds the forward pass and loss of spec.Task with the
// parameters ts.Trainable selects as graph inputs; the graph's other
// weights stay initializers (frozen). The loss is the task's
// TaskGraph.Loss (the original script's) of the logits against a labels
// input shaped by TaskGraph.Labels.
// Marker-row pruning is kept (it changes no arithmetic; gradients flow
// back through the gathers).
func BuildTrain(spec Spec, w *Weights, ts TrainSpec) (*TrainGraph, error) {
	if len(spec.Expose) > 0 {
		return nil, fmt.Errorf("training graphs expose no intermediates")
	}
	tp := &trainParams{spec: ts, inputs: map[string]*graph.Value{}, initial: map[string]*graph.Tensor{}, module: "head"}
	g, iface, logits, err := build(spec, w, tp)
	if err != nil {
		return nil, err
	}
	ls, err := Labels(spec.Task)
	if err != nil {
		return nil, err
	}
	tg, _ := Lookup(spec.Task) // Labels has checked it
	in := LossInput{Graph: g, Logits: logits}
	for _, v := range g.Inputs() {
		if v.Name() == "attention_mask" {
			in.AttentionMask = v
		}
	}
	dims := []graph.Dim{graph.Sym("batch")}
	switch {
	case ls.Rank == 2 && ls.DType == graph.Int64:
		dims = append(dims, graph.Sym("seq"))
	case ls.Rank == 2:
		dims = append(dims, logits.Shape[1])
	}
	var loss *graph.Value
	g.Within("loss", func() {
		in.Labels = g.Input("labels", ls.DType, dims...)
		loss = tg.Loss(in)
	})
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &TrainGraph{Graph: g, Loss: loss, Logits: logits, Params: tp.order, Frozen: tp.frozen, Initial: tp.initial,
		Labels: in.Labels, Dropout: tp.dropout, Interface: iface}, nil
}

// TrainableKeys lists the canonical keys of w that a module selection
// covers: "roberta" (roberta.*), "adapters" (fac_adapter.*/lin_adapter.*,
// including CosmosQA's per-adapter task_dense), "fusion" (task_dense*),
// "head" (dense, out_proj, classifier, com_dense, self_attention).
func TrainableKeys(w *Weights, modules ...string) []string {
	want := map[string]bool{}
	for _, m := range modules {
		want[m] = true
	}
	var out []string
	for _, k := range w.Keys() {
		if want[ModuleOf(k)] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ModuleOf names the module a canonical key belongs to: roberta, adapters,
// fusion or head.
func ModuleOf(key string) string {
	switch {
	case strings.HasPrefix(key, "roberta."):
		return "roberta"
	case strings.HasPrefix(key, "fac_adapter.") || strings.HasPrefix(key, "lin_adapter."):
		return "adapters"
	case strings.HasPrefix(key, "task_dense"):
		return "fusion"
	}
	return "head"
}
