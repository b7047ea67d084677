package train

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/runtime"
)

// Engine runs training steps: one ONNX Runtime session for the step graph
// (forward, loss, backward, accumulation, upstream clipping) and one for
// the optimizer graph (standard-loop clipping, AdamW). Parameters,
// accumulated gradients and Adam's moments live in Go-allocated buffers
// wrapped once as ONNX Runtime tensors; each run reads one set and writes
// the other (double buffering), so nothing is copied between steps: only
// the batch and a few scalars are made per run.
type Engine struct {
	params  []*Param
	unused  []string
	dropout []models.DropoutSite
	groups  []string // groups whose norms a step or update reports
	clipIn  string   // "step", "optimizer" or ""

	step, opt *ort.DynamicAdvancedSession
	stepIn    []string // data inputs, then the engine's own
	dataIn    []string
	optIn     []string

	// state[k][i]: buffer set k (0/1) of parameter i.
	p, m, v, acc [2][]*ort.Tensor[float32]
	cur, gcur    int

	scale, keep, stepSize, lrDecay *ort.Tensor[float32]
	loss                           *ort.Tensor[float32]
	stepNorms, optNorms            []*ort.Tensor[float32]
	stepNormNames, optNormNames    []string

	beta1, beta2, wd float64
	seed             uint64
	micro            int // micro-batches run (for dropout masks)
	updates          int
}

// EngineConfig configures NewEngine.
type EngineConfig struct {
	// Session are ONNX Runtime's options (threads, optimization, device).
	Session runtime.Options
	// ClipInStep clips after every micro-batch (upstream loop); otherwise
	// clipping (if MaxGradNorm > 0) happens once per update.
	ClipInStep bool
	// GroupOrder is the order of the clip groups; GroupOf names a key's.
	GroupOrder []string
	GroupOf    func(key string) string
	// MaxGradNorm is the clipping bound (0: none).
	MaxGradNorm float64
	// Beta1, Beta2, Eps and WeightDecay are AdamW's.
	Beta1, Beta2, Eps, WeightDecay float64
	// Seed drives the dropout masks.
	Seed uint64
	// SaveGraphs, when set, receives step.onnx and adamw.onnx.
	SaveGraphs string
}

// NewEngine builds the step and optimizer graphs of tg and opens their
// sessions with the parameters at their initial values and zero moments.
func NewEngine(tg *models.TrainGraph, c EngineConfig) (*Engine, error) {
	if err := runtime.Init(); err != nil {
		return nil, err
	}
	clip := c.MaxGradNorm > 0 && len(c.GroupOrder) > 0
	st, err := buildStep(tg, c.GroupOf, clip && c.ClipInStep, c.GroupOrder, c.MaxGradNorm)
	if err != nil {
		return nil, fmt.Errorf("training step graph: %w", err)
	}
	if len(st.params) == 0 {
		return nil, fmt.Errorf("nothing to train: no trained parameter gets a gradient")
	}
	og, optGroups, err := buildOptimizer(st.params, c.Beta1, c.Beta2, c.Eps, clip && !c.ClipInStep, c.GroupOrder, c.MaxGradNorm)
	if err != nil {
		return nil, fmt.Errorf("optimizer graph: %w", err)
	}
	e := &Engine{params: st.params, unused: st.unused, dropout: st.dropout, beta1: c.Beta1, beta2: c.Beta2,
		wd: c.WeightDecay, seed: c.Seed, dataIn: st.inputs}
	switch {
	case clip && c.ClipInStep:
		e.clipIn, e.groups = "step", st.groups
	case clip:
		e.clipIn, e.groups = "optimizer", optGroups
	}
	if err := e.allocate(); err != nil {
		e.Close()
		return nil, err
	}
	// Step session: inputs in a fixed order.
	e.stepIn = append([]string(nil), st.inputs...)
	for _, d := range st.dropout {
		e.stepIn = append(e.stepIn, d.Input.Name())
	}
	e.stepIn = append(e.stepIn, inLossScale, inAccKeep)
	for _, p := range e.params {
		e.stepIn = append(e.stepIn, p.Key, gradIn+p.Key)
	}
	stepOut := []string{outLoss}
	for _, name := range st.groups {
		stepOut = append(stepOut, normOut+name)
		e.stepNormNames = append(e.stepNormNames, name)
	}
	for _, p := range e.params {
		stepOut = append(stepOut, gradOut+p.Key)
	}
	if e.step, err = openSession(st.g, e.stepIn, stepOut, c.Session, c.SaveGraphs, "step.onnx"); err != nil {
		e.Close()
		return nil, fmt.Errorf("training step graph: %w", err)
	}
	e.optIn = []string{inStepSize, inLRDecay}
	for _, p := range e.params {
		e.optIn = append(e.optIn, gradOpt+p.Key, paramIn+p.Key, momIn+p.Key, velIn+p.Key)
	}
	var optOut []string
	for _, name := range optGroups {
		optOut = append(optOut, normOut+name)
		e.optNormNames = append(e.optNormNames, name)
	}
	for _, p := range e.params {
		optOut = append(optOut, paramOut+p.Key, momOut+p.Key, velOut+p.Key)
	}
	if e.opt, err = openSession(og, e.optIn, optOut, c.Session, c.SaveGraphs, "adamw.onnx"); err != nil {
		e.Close()
		return nil, fmt.Errorf("optimizer graph: %w", err)
	}
	return e, nil
}

func openSession(g *graph.Graph, in, out []string, o runtime.Options, saveDir, name string) (*ort.DynamicAdvancedSession, error) {
	for _, name := range out {
		if g.OutputValue(name) == nil {
			return nil, fmt.Errorf("graph %s has no output %s", g.Name, name)
		}
	}
	m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-train"})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := graph.Encode(&buf, m); err != nil {
		return nil, err
	}
	if saveDir != "" {
		if err := os.MkdirAll(saveDir, 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(filepath.Join(saveDir, name), buf.Bytes()); err != nil {
			return nil, err
		}
	}
	so, err := runtime.SessionOptions(o)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	return ort.NewDynamicAdvancedSessionWithONNXData(buf.Bytes(), in, out, so)
}

func newTensor(dims []int64, data []float32) (*ort.Tensor[float32], error) {
	return ort.NewTensor(ort.NewShape(dims...), data)
}

func (e *Engine) allocate() error {
	var err error
	mk := func(dims []int64, data []float32) *ort.Tensor[float32] {
		if err != nil {
			return nil
		}
		var t *ort.Tensor[float32]
		t, err = newTensor(dims, data)
		return t
	}
	for _, p := range e.params {
		n := p.NumElements()
		for k := 0; k < 2; k++ {
			pd := make([]float32, n)
			if k == 0 {
				copy(pd, p.Initial)
			}
			e.p[k] = append(e.p[k], mk(p.Dims, pd))
			e.m[k] = append(e.m[k], mk(p.Dims, make([]float32, n)))
			e.v[k] = append(e.v[k], mk(p.Dims, make([]float32, n)))
			e.acc[k] = append(e.acc[k], mk(p.Dims, make([]float32, n)))
		}
	}
	one := []int64{1}
	e.scale = mk(one, []float32{1})
	e.keep = mk(one, []float32{0})
	e.stepSize = mk(one, []float32{0})
	e.lrDecay = mk(one, []float32{0})
	e.loss = mk(one, []float32{0})
	for range e.groups {
		e.stepNorms = append(e.stepNorms, mk(one, []float32{0}))
		e.optNorms = append(e.optNorms, mk(one, []float32{0}))
	}
	return err
}

// Batch is one micro-batch: a tensor per data input (the task's inputs and
// "labels"), row-major, examples on axis 0.
type Batch map[string]runtime.Tensor

// StepResult is what one micro-batch reports.
type StepResult struct {
	// Loss is the model's own loss (before division by the accumulation).
	Loss float64
	// Norms are the clip groups' norms of the accumulated gradient before
	// clipping (upstream loop only), by group.
	Norms map[string]float64
}

// MicroStep runs forward and backward on b, accumulating gradients: the
// first micro-batch of an update (first) starts from zero. scale is the
// loss factor (1/accumulation).
func (e *Engine) MicroStep(b Batch, first bool, scale float64) (StepResult, error) {
	e.scale.GetData()[0] = float32(scale)
	if first {
		e.keep.GetData()[0] = 0
	} else {
		e.keep.GetData()[0] = 1
	}
	ins := make([]ort.Value, 0, len(e.stepIn))
	var made []ort.Value
	defer func() {
		for _, v := range made {
			v.Destroy()
		}
	}()
	for _, name := range e.dataIn {
		t, ok := b[name]
		if !ok {
			return StepResult{}, fmt.Errorf("batch has no %q (it has %v)", name, keys(b))
		}
		v, err := runtime.ToORT(t)
		if err != nil {
			return StepResult{}, fmt.Errorf("input %s: %w", name, err)
		}
		made = append(made, v)
		ins = append(ins, v)
	}
	if len(e.dropout) > 0 {
		dims, err := symbolSizes(b)
		if err != nil {
			return StepResult{}, err
		}
		for i, d := range e.dropout {
			v, err := e.mask(d, i, dims)
			if err != nil {
				return StepResult{}, err
			}
			made = append(made, v)
			ins = append(ins, v)
		}
	}
	ins = append(ins, e.scale, e.keep)
	src, dst := e.gcur, 1-e.gcur
	for i := range e.params {
		ins = append(ins, e.p[e.cur][i], e.acc[src][i])
	}
	outs := []ort.Value{e.loss}
	for _, t := range e.stepNorms[:len(e.stepNormNames)] {
		outs = append(outs, t)
	}
	for i := range e.params {
		outs = append(outs, e.acc[dst][i])
	}
	if err := e.step.Run(ins, outs); err != nil {
		return StepResult{}, fmt.Errorf("training step: %w", err)
	}
	e.gcur = dst
	e.micro++
	res := StepResult{Loss: float64(e.loss.GetData()[0])}
	if len(e.stepNormNames) > 0 {
		res.Norms = map[string]float64{}
		for i, name := range e.stepNormNames {
			res.Norms[name] = float64(e.stepNorms[i].GetData()[0])
		}
	}
	return res, nil
}

// Update applies AdamW with learning rate lr to the accumulated gradient
// (update number t is counted by the engine, starting at 1) and returns
// the clip groups' norms when the optimizer clips (standard loop).
func (e *Engine) Update(lr float64) (map[string]float64, error) {
	e.updates++
	ss, ld := adamScalars(lr, e.beta1, e.beta2, e.wd, e.updates)
	e.stepSize.GetData()[0], e.lrDecay.GetData()[0] = ss, ld
	src, dst := e.cur, 1-e.cur
	ins := []ort.Value{e.stepSize, e.lrDecay}
	for i := range e.params {
		ins = append(ins, e.acc[e.gcur][i], e.p[src][i], e.m[src][i], e.v[src][i])
	}
	var outs []ort.Value
	for _, t := range e.optNorms[:len(e.optNormNames)] {
		outs = append(outs, t)
	}
	for i := range e.params {
		outs = append(outs, e.p[dst][i], e.m[dst][i], e.v[dst][i])
	}
	if err := e.opt.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("optimizer: %w", err)
	}
	e.cur = dst
	if len(e.optNormNames) == 0 {
		return nil, nil
	}
	norms := map[string]float64{}
	for i, name := range e.optNormNames {
		norms[name] = float64(e.optNorms[i].GetData()[0])
	}
	return norms, nil
}

// Restore sets the trained parameters and Adam's moments (by key: every
// parameter must be present, with its size), the number of updates done
// and of micro-batches run, as a resumed run continues from a checkpoint.
func (e *Engine) Restore(values, m, v map[string][]float32, updates, micro int) error {
	for i, p := range e.params {
		n := p.NumElements()
		for _, src := range []struct {
			name string
			m    map[string][]float32
			dst  []float32
		}{{"parameter", values, e.p[e.cur][i].GetData()}, {"exp_avg", m, e.m[e.cur][i].GetData()}, {"exp_avg_sq", v, e.v[e.cur][i].GetData()}} {
			d, ok := src.m[p.Key]
			if !ok || len(d) != n {
				return fmt.Errorf("%s of %s: missing or of the wrong size (%d values, want %d)", src.name, p.Key, len(d), n)
			}
			copy(src.dst, d)
		}
	}
	e.updates, e.micro = updates, micro
	return nil
}

// Params returns the trained parameters (their current values, shared
// with the engine: copy before the next update).
func (e *Engine) Params() []*Param { return e.params }

// Value returns the current value of parameter i.
func (e *Engine) Value(i int) []float32 { return e.p[e.cur][i].GetData() }

// Moments returns Adam's moments of parameter i.
func (e *Engine) Moments(i int) (m, v []float32) {
	return e.m[e.cur][i].GetData(), e.v[e.cur][i].GetData()
}

// Unused lists trained parameters that get no gradient (kept unchanged).
func (e *Engine) Unused() []string { return e.unused }

// Groups lists the clip groups whose norms are reported.
func (e *Engine) Groups() []string { return e.groups }

// ClipsPerMicroBatch reports whether norms come from MicroStep (upstream
// loop) rather than Update.
func (e *Engine) ClipsPerMicroBatch() bool { return e.clipIn == "step" }

// Updates is the number of optimizer updates done.
func (e *Engine) Updates() int { return e.updates }

// Close releases the sessions and tensors.
func (e *Engine) Close() {
	if e.step != nil {
		e.step.Destroy()
	}
	if e.opt != nil {
		e.opt.Destroy()
	}
	for k := 0; k < 2; k++ {
		for _, set := range [][]*ort.Tensor[float32]{e.p[k], e.m[k], e.v[k], e.acc[k]} {
			for _, t := range set {
				if t != nil {
					t.Destroy()
				}
			}
		}
	}
	for _, t := range append(append([]*ort.Tensor[float32]{e.scale, e.keep, e.stepSize, e.lrDecay, e.loss}, e.stepNorms...), e.optNorms...) {
		if t != nil {
			t.Destroy()
		}
	}
}

func keys(b Batch) []string {
	var out []string
	for k := range b {
		out = append(out, k)
	}
	return out
}

// symbolSizes reads batch and seq from the batch's input_ids ([B,L] or
// CosmosQA's [B,4,L]).
func symbolSizes(b Batch) (map[string]int64, error) {
	ids, ok := b["input_ids"]
	if !ok || len(ids.Shape) < 2 {
		return nil, fmt.Errorf("batch has no input_ids of rank >= 2")
	}
	return map[string]int64{"batch": ids.Shape[0], "seq": ids.Shape[len(ids.Shape)-1]}, nil
}

// mask draws dropout site i's mask for this micro-batch: 0 with
// probability p, else 1/(1-p), from a PCG stream keyed by the seed, the
// micro-batch number and the site, so a resumed run draws the same masks.
func (e *Engine) mask(d models.DropoutSite, site int, dims map[string]int64) (ort.Value, error) {
	shape := make([]int64, len(d.Input.Shape))
	n := 1
	for i, dim := range d.Input.Shape {
		s := dim.Coef
		for _, sym := range dim.Syms {
			s *= dims[sym]
		}
		shape[i] = s
		n *= int(s)
	}
	rng := rand.New(rand.NewPCG(e.seed, uint64(e.micro)<<16|uint64(site)))
	keep := float32(1 / (1 - d.P))
	data := make([]float32, n)
	for i := range data {
		if rng.Float64() >= d.P {
			data[i] = keep
		}
	}
	return ort.NewTensor(ort.NewShape(shape...), data)
}
