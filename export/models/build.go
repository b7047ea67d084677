package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/export/graph"
)

// Spec is everything Build needs besides the weights.
type Spec struct {
	// Task picks the registered graph (inputs and head).
	Task Task
	// Roberta is the base model's configuration.
	Roberta RobertaConfig
	// Adapter configures both chains (list, skip, heads, eps); sizes are
	// inferred per chain from the weights.
	Adapter AdapterConfig
	// Fusion is "concat" (default) or "add".
	Fusion string
	// ARate and BRate weigh RoBERTa's output and the adapter chain in
	// CosmosQA's AdapterModel (no upstream default; 0 means 1).
	ARate, BRate float64
	// Expose names intermediates to add as outputs after logits.
	Expose []string
	// AllPositions keeps every position through the last layers. By
	// default, when nothing is exposed, the heads that read only some
	// positions (the markers of tacred, trex-rc, openentity, figer;
	// position 0 of cosmosqa) get a graph that runs RoBERTa's last layer,
	// each chain's last adapter layer and the fusion on those rows only:
	// the same logits for less work.
	AllPositions bool
}

// Interface describes a built graph's inputs and outputs.
type Interface struct {
	// Inputs are the graph inputs in order.
	Inputs []IOSpec `json:"inputs"`
	// Outputs are the main output then the exposed intermediates.
	Outputs []IOSpec `json:"outputs"`
	// Exposable lists the intermediates --expose accepts.
	Exposable []string `json:"exposable"`
	// Adapters says which chains the model uses ("fac", "lin").
	Adapters []string `json:"adapters"`
}

// IOSpec is one graph input or output.
type IOSpec struct {
	// Name is the ONNX value name.
	Name string `json:"name"`
	// DType is "int64" or "float32".
	DType string `json:"dtype"`
	// Shape is symbolic, e.g. "[batch,seq]".
	Shape string `json:"shape"`
}

// Build constructs the graph of spec.Task from w. The main output is
// the task's TaskGraph.Output ("logits" unless set), followed by the exposed
// intermediates in the order asked. Build hands the transposed copies of
// Linear weights to the graph and drops w's references to the originals
// to bound export memory, so build once per Weights.
func Build(spec Spec, w *Weights) (*graph.Graph, Interface, error) {
	g, iface, logits, err := build(spec, w, nil)
	if err != nil {
		return nil, iface, err
	}
	tg, _ := Lookup(spec.Task) // build has checked it
	main := tg.Output
	if main == "" {
		main = "logits"
	}
	g.Output(main, logits)
	if err := g.ExposeOutputs(spec.Expose); err != nil {
		return nil, iface, err
	}
	for _, n := range g.Outputs() {
		v := g.OutputValue(n)
		iface.Outputs = append(iface.Outputs, IOSpec{n, v.DType.String(), v.Shape.String()})
	}
	return g, iface, nil
}

// build constructs the network of spec.Task up to its main output (logits,
// or features), which it returns; tp non-nil builds a training forward
// pass (trained parameters as inputs, dropout masks).
func build(spec Spec, w *Weights, tp *trainParams) (*graph.Graph, Interface, *graph.Value, error) {
	var iface Interface
	tg, err := Lookup(spec.Task)
	if err != nil {
		return nil, iface, nil, err
	}
	c := spec.Roberta
	if err := c.Validate(); err != nil {
		return nil, iface, nil, err
	}
	if spec.Fusion == "" {
		spec.Fusion = "concat"
	}
	if spec.Fusion != "concat" && spec.Fusion != "add" {
		return nil, iface, nil, fmt.Errorf("fusion %q: want concat or add", spec.Fusion)
	}
	if spec.Adapter.Eps == 0 {
		spec.Adapter.Eps = 1e-5
	}
	if spec.ARate == 0 {
		spec.ARate = 1
	}
	if spec.BRate == 0 {
		spec.BRate = 1
	}
	if err := validateAdapter(spec.Adapter, c.NumHiddenLayers); err != nil {
		return nil, iface, nil, err
	}
	h := c.HiddenSize

	// Which chains exist, and their sizes.
	chains := map[string]AdapterConfig{}
	var kinds []string
	for _, kind := range []string{"fac", "lin"} {
		cfg := spec.Adapter
		k, err := w.inferAdapter(kind+"_adapter", h, &cfg)
		if err != nil {
			return nil, iface, nil, err
		}
		if k > 0 {
			chains[kind] = cfg
			kinds = append(kinds, kind)
		}
	}
	if kind := tg.Adapter; kind != "" {
		if _, ok := chains[kind]; !ok || len(chains) != 1 {
			return nil, iface, nil, fmt.Errorf("task %s needs exactly the %s adapter (found: %v)", spec.Task, kind, kinds)
		}
	} else {
		if len(chains) == 0 {
			return nil, iface, nil, fmt.Errorf("task %s needs at least one adapter (fac_adapter.adapter.* or lin_adapter.adapter.* keys)", spec.Task)
		}
	}
	iface.Adapters = kinds

	g := graph.New("kadapter_" + strings.ReplaceAll(string(spec.Task), "-", "_"))
	b := &builder{g: g, w: w, train: tp}
	batch, seq := graph.Sym("batch"), graph.Sym("seq")

	var ids, mask *graph.Value
	if tg.Choices > 0 {
		ids3 := g.Input("input_ids", graph.Int64, batch, graph.Known(int64(tg.Choices)), seq)
		mask3 := g.Input("attention_mask", graph.Int64, batch, graph.Known(int64(tg.Choices)), seq)
		g.Within("flatten_choices", func() {
			ids, mask = g.Flatten(ids3, 2), g.Flatten(mask3, 2)
		})
	} else {
		ids = g.Input("input_ids", graph.Int64, batch, seq)
		mask = g.Input("attention_mask", graph.Int64, batch, seq)
	}
	var posInputs []*graph.Value
	for _, name := range tg.Positions {
		posInputs = append(posInputs, g.Input(name, graph.Int64, batch))
	}

	// Marker-position pruning (see Spec.AllPositions): sel [B,P] holds the
	// positions the head reads; every value computed at sel is [B,P,H] and
	// the head indexes P. Exposure is then impossible (the intermediates
	// are partial), so the names are only listed.
	var sel *graph.Value
	if !spec.AllPositions && len(spec.Expose) == 0 {
		g.Within("positions", func() {
			switch {
			case len(posInputs) > 0:
				us := make([]*graph.Value, len(posInputs))
				for i, p := range posInputs {
					us[i] = g.Unsqueeze(p, 1)
				}
				sel = g.Concat(1, us...)
			case tg.ReadsFirst:
				sel = g.Mul(g.Gather(ids, g.ConstInts(0), 1), g.ScalarInt(0))
			}
		})
	}
	lastSel := sel // RoBERTa's last layer only when no adapter taps it
	for _, kind := range kinds {
		for _, t := range chains[kind].List {
			if t == c.NumHiddenLayers {
				lastSel = nil
			}
		}
	}
	var listed []string
	expose := func(name string, v func() *graph.Value) {
		if sel != nil {
			listed = append(listed, name)
			return
		}
		g.Expose(name, v())
	}

	var hs []*graph.Value
	b.inModule("roberta", func() { hs = b.roberta(c, ids, mask, lastSel) })
	seqOut := hs[len(hs)-1]
	if sel != nil && lastSel == nil {
		g.Within("positions", func() { seqOut = b.rowsAt(seqOut, sel, h) })
	}
	expose("roberta_sequence_output", func() *graph.Value { return seqOut })
	g.Within("expose", func() {
		expose("roberta_hidden_states", func() *graph.Value { return b.stack(hs) })
		expose("roberta_pooled_output", func() *graph.Value { return b.pooler(c, seqOut) })
	})

	outs := map[string]*graph.Value{}
	for _, kind := range kinds {
		var last *graph.Value
		var list []*graph.Value
		b.inModule("adapter", func() { last, list = b.chain(hs, kind+"_adapter", h, chains[kind], sel) })
		outs[kind] = last
		expose(kind+"_adapter_output", func() *graph.Value { return last })
		g.Within("expose", func() { expose(kind+"_adapter_outputs", func() *graph.Value { return b.stack(list) }) })
		if tg.Adapter != "" {
			expose("adapter_output", func() *graph.Value { return g.Identity(outs[kind]) })
			g.Within("expose", func() { expose("adapter_outputs", func() *graph.Value { return b.stack(list) }) })
		}
	}
	// at returns row i of the head's input: x[b, pos_i[b]] in full, or
	// x[b, i] when x holds the sel rows.
	at := func(x *graph.Value, i int) *graph.Value {
		if sel != nil {
			return g.Gather(x, g.ScalarInt(int64(i)), 1)
		}
		return b.pick(x, posInputs[i], h)
	}

	head := &Head{b: b, spec: spec, h: h, seq: seqOut, outs: outs, kinds: kinds, mask: mask, at: at, expose: expose}
	logits := tg.Head(head)
	if err := g.Err(); err != nil {
		return nil, iface, nil, err
	}
	for _, v := range g.Inputs() {
		iface.Inputs = append(iface.Inputs, IOSpec{v.Name(), v.DType.String(), v.Shape.String()})
	}
	iface.Exposable = append(g.Exposable(), listed...)
	sort.Strings(iface.Exposable)
	return g, iface, logits, nil
}

// rows returns the first dimension of a weight (the class count of a
// head), 0 (and a recorded error) when missing.
func (b *builder) rows(key string) int {
	t, err := b.w.Tensor(key, -1, -1)
	if err != nil {
		b.g.Fail(err)
		return 1
	}
	return t.Shape[0]
}

// fuse combines RoBERTa's output S with the adapter outputs (spec §4).
// concat: F' = task_dense_fac([S,F]), L' = task_dense_lin([S,L]),
// T = task_dense([F',L']) when both exist, else the single F' or L'
// (RobertaModelwithAdapter's rule, quirk 6 fixed for the task heads).
// add: T = S + F (+ L).
func (b *builder) fuse(mode string, s *graph.Value, outs map[string]*graph.Value, kinds []string, h int) *graph.Value {
	g := b.g
	var t *graph.Value
	g.Within("fusion", func() {
		if mode == "add" {
			t = s
			for _, k := range kinds {
				t = g.Add(t, outs[k])
			}
			return
		}
		var feats []*graph.Value
		for _, k := range kinds {
			f := b.linear(g.Concat(-1, s, outs[k]), "task_dense_"+k, 2*h, h)
			g.Expose(k+"_features", f)
			feats = append(feats, f)
		}
		if len(feats) == 1 {
			t = feats[0]
			return
		}
		t = b.linear(g.Concat(-1, feats...), "task_dense", 2*h, h)
	})
	g.Expose("task_features", t)
	return t
}
