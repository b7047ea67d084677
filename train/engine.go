package train

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/runtime"
)

// Engine runs training steps with three ONNX Runtime sessions: the step
// graph (forward, loss, backward, accumulation, upstream clipping), the
// standard loop's clip graph (group norms and factors, once per update)
// and AdamW over one flat chunk of parameters.
//
// The trained state lives in four flat Go-allocated buffers (parameters,
// accumulated gradients and Adam's two moments) laid out parameter after
// parameter, grouped by clip group and weight decay so that AdamW sees a
// few contiguous segments. The buffers are wrapped once as ONNX Runtime
// tensors: one view per parameter (the step graph's parameter inputs and
// gradient outputs) and one view per optimizer chunk. Every run writes in
// place — the step adds into the gradient it reads, AdamW writes the
// parameter and moments it reads — so the state is held once (four
// copies of the trained parameters' size, as torch holds parameter,
// gradient and two moments) and nothing is copied between steps: only the
// batch and a few scalars are made per run.
type Engine struct {
	params     []*Param
	unused     []string
	dropout    []models.DropoutSite
	groups     []string // clip groups, in order, whose norms a step or update reports
	accumulate bool
	// perMicro: norms are reported by MicroStep (upstream loop); else by
	// Update. normsAtUpdate: the step clips (standard loop, one
	// micro-batch per update) and Update reports its norms.
	perMicro, normsAtUpdate bool
	lastNorms               map[string]float64

	step, clip, opt *ort.DynamicAdvancedSession
	stepIn          []string // data inputs, then the engine's own
	dataIn          []string

	// state[k]: flat buffer k (statePar, stateGrad, stateAvg, stateAvgSq);
	// param i occupies [off[i], off[i]+n).
	state  [4][]float32
	off    []int
	pT, gT []*ort.Tensor[float32] // per-parameter views of the state
	// frozen are the frozen weights, graph inputs of the step and dev
	// graphs wrapped once over the caller's tensors (no copy).
	frozen     []*ort.Tensor[float32]
	frozenKeys []string
	chunks     []chunk

	scale, keep, stepSize, loss *ort.Tensor[float32]
	decayOn, decayOff, one      *ort.Tensor[float32]
	coef                        map[string]*ort.Tensor[float32] // clip factor per group (standard loop)
	stepNorms, clipNorms        []*ort.Tensor[float32]
	clipGrads                   []int // the clip graph's inputs: parameter indices

	beta1, beta2, wd float64
	seed             uint64
	micro            int // micro-batches run (for dropout masks)
	updates          int
}

// The flat state buffers.
const (
	statePar = iota
	stateGrad
	stateAvg
	stateAvgSq
)

// chunkElems bounds an optimizer chunk (256 KiB of float32 per array):
// the AdamW graph's temporaries are of this size whatever the model's,
// small enough to stay in the core's caches, so that the optimizer's
// memory traffic is one read of the gradient, parameters and moments and
// one write of the last three. Measured on 32M parameters, one thread:
// 0.309 s per update with 2²⁰-value chunks, 0.214 s with 2¹⁸, 0.120 s
// with 2¹⁶, 0.121 s with 2¹⁵, 0.161 s with 2¹⁴ (per-run overhead).
const chunkElems = 1 << 16

// align pads each parameter's offset in the flat buffers (64 bytes).
const align = 16

// chunk is one AdamW run: views of the four state buffers over a range
// of parameters sharing a clip group and a weight-decay rule.
type chunk struct {
	p, g, m, v *ort.Tensor[float32]
	decay      bool
	group      string
}

// EngineConfig configures NewEngine.
type EngineConfig struct {
	// Session are ONNX Runtime's options (threads, optimization, device).
	Session runtime.Options
	// Accumulation is the number of micro-batches per update: above 1 the
	// step graph adds each micro-batch's gradient to the accumulated one;
	// at 1 it writes the gradient alone (no extra pass over it).
	Accumulation int
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
	// SaveGraphs, when set, receives step.onnx, clip.onnx and adamw.onnx
	// (large initializers in a .data file beside them).
	SaveGraphs string
	// ScratchDir holds a graph's files while its session opens, when the
	// graph has large initializers ("": the system's temporary folder).
	ScratchDir string
}

// NewEngine builds the step, clip and optimizer graphs of tg and opens
// their sessions with the parameters at their initial values and zero
// moments.
func NewEngine(tg *models.TrainGraph, c EngineConfig) (*Engine, error) {
	if err := runtime.Init(); err != nil {
		return nil, err
	}
	clip := c.MaxGradNorm > 0 && len(c.GroupOrder) > 0
	// With one micro-batch per update, clipping once per update is
	// clipping after the micro-batch: the step does it (one pass fewer
	// over the gradients, and both loops round alike).
	stepClips := clip && (c.ClipInStep || c.Accumulation <= 1)
	st, err := buildStep(tg, c.GroupOf, c.Accumulation > 1, stepClips, c.GroupOrder, c.MaxGradNorm)
	if err != nil {
		return nil, fmt.Errorf("training step graph: %w", err)
	}
	if len(st.params) == 0 {
		return nil, fmt.Errorf("nothing to train: no trained parameter gets a gradient")
	}
	e := &Engine{unused: st.unused, dropout: st.dropout, beta1: c.Beta1, beta2: c.Beta2,
		wd: c.WeightDecay, seed: c.Seed, dataIn: st.inputs, accumulate: st.accumulate}
	e.params = flatOrder(st.params, c.GroupOrder)
	if err := e.allocate(); err != nil {
		e.Close()
		return nil, err
	}
	// Step session: inputs in a fixed order.
	e.stepIn = append([]string(nil), st.inputs...)
	for _, d := range st.dropout {
		e.stepIn = append(e.stepIn, d.Input.Name())
	}
	e.stepIn = append(e.stepIn, inLossScale)
	if e.accumulate {
		e.stepIn = append(e.stepIn, inAccKeep)
	}
	for _, p := range e.params {
		e.stepIn = append(e.stepIn, p.Key)
		if e.accumulate {
			e.stepIn = append(e.stepIn, gradIn+p.Key)
		}
	}
	for _, v := range tg.Frozen {
		t, err := newTensor(tg.Initial[v.Name()].Dims, tg.Initial[v.Name()].Float32)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.frozen = append(e.frozen, t)
		e.frozenKeys = append(e.frozenKeys, v.Name())
		e.stepIn = append(e.stepIn, v.Name())
	}
	stepOut := []string{outLoss}
	for _, name := range st.groups {
		stepOut = append(stepOut, normOut+name)
		t, err := newTensor([]int64{1}, []float32{0})
		if err != nil {
			e.Close()
			return nil, err
		}
		e.stepNorms = append(e.stepNorms, t)
	}
	for _, p := range e.params {
		stepOut = append(stepOut, gradOut+p.Key)
	}
	if e.step, err = openSession(st.g, e.stepIn, stepOut, c.Session, c.SaveGraphs, c.ScratchDir, "step.onnx"); err != nil {
		e.Close()
		return nil, fmt.Errorf("training step graph: %w", err)
	}
	switch {
	case clip && c.ClipInStep:
		e.perMicro, e.groups = true, st.groups
	case stepClips:
		e.groups, e.normsAtUpdate = st.groups, true
	case clip:
		// The clip graph reads the gradients in the step's order (the
		// order of the norm's sum).
		cg, groups, err := buildClip(st.params, c.GroupOrder, c.MaxGradNorm)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("clip graph: %w", err)
		}
		e.groups = groups
		var in, out []string
		for _, p := range st.params {
			in = append(in, gradOpt+p.Key)
		}
		for _, name := range groups {
			out = append(out, normOut+name, coefOut+name)
		}
		if e.clip, err = openSession(cg, in, out, c.Session, c.SaveGraphs, c.ScratchDir, "clip.onnx"); err != nil {
			e.Close()
			return nil, fmt.Errorf("clip graph: %w", err)
		}
		if err := e.clipTensors(st.params); err != nil {
			e.Close()
			return nil, err
		}
	}
	if e.opt, err = openAdamW(c.Beta1, c.Beta2, c.Eps, c.Session, c.SaveGraphs); err != nil {
		e.Close()
		return nil, fmt.Errorf("optimizer graph: %w", err)
	}
	return e, nil
}

// openAdamW builds the chunk AdamW graph and opens its session, inputs
// and outputs in the order Update binds them.
func openAdamW(beta1, beta2, eps float64, o runtime.Options, saveDir string) (*ort.DynamicAdvancedSession, error) {
	og, err := buildAdamW(beta1, beta2, eps)
	if err != nil {
		return nil, err
	}
	in := []string{gradOpt + "chunk", paramIn + "chunk", momIn + "chunk", velIn + "chunk", inStepSize, inLRDecay, inClip}
	out := []string{paramOut + "chunk", momOut + "chunk", velOut + "chunk"}
	return openSession(og, in, out, o, saveDir, "", "adamw.onnx")
}

// flatOrder returns params grouped by clip group (in groupOrder, unknown
// groups last) and, within a group, decayed before undecayed, otherwise
// in their order: each (group, decay) run is one contiguous segment of
// the flat buffers.
func flatOrder(params []*Param, groupOrder []string) []*Param {
	rank := map[string]int{}
	for i, g := range groupOrder {
		rank[g] = i
	}
	key := func(p *Param) int {
		r, ok := rank[p.Group]
		if !ok {
			r = len(groupOrder)
		}
		if !p.Decay {
			return 2*r + 1
		}
		return 2 * r
	}
	out := append([]*Param(nil), params...)
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// openSession opens a session on g. A graph carrying large initializers
// (a frozen RoBERTa in pre-training) is written to a file with its
// tensors in a 4 KiB aligned side file, which ONNX Runtime maps rather
// than copies (and pre-packs for its matrix products); the graph's
// references to the data are released and the Go heap returned to the
// system before the session opens, so the weights are not held twice
// while it does. The files are saveDir/name(.data) when saveDir is set,
// else a temporary folder under scratch ("" or missing: the system's),
// removed once the session is open. Other graphs go through memory.
func openSession(g *graph.Graph, in, out []string, o runtime.Options, saveDir, scratch, name string) (*ort.DynamicAdvancedSession, error) {
	for _, name := range out {
		if g.OutputValue(name) == nil {
			return nil, fmt.Errorf("graph %s has no output %s", g.Name, name)
		}
	}
	m, err := g.Model(graph.ModelInfo{ProducerName: "kadapter-train"})
	if err != nil {
		return nil, err
	}
	var size int64
	for _, t := range m.GetGraph().GetInitializer() {
		size += int64(len(t.RawData))
	}
	so, err := runtime.SessionOptions(o)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if size < mapThreshold {
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
		return ort.NewDynamicAdvancedSessionWithONNXData(buf.Bytes(), in, out, so)
	}
	dir := saveDir
	if dir == "" {
		if _, err := os.Stat(scratch); err != nil {
			scratch = ""
		}
		if dir, err = os.MkdirTemp(scratch, ".kadapter-graph-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	if _, err := graph.Save(path, m, graph.SaveOptions{ExternalData: true}); err != nil {
		return nil, err
	}
	m = nil
	g.ReleaseInitializers()
	debug.FreeOSMemory()
	return ort.NewDynamicAdvancedSession(path, in, out, so)
}

// mapThreshold is the initializer size from which a graph goes through a
// mapped file (16 MiB; a variable for tests).
var mapThreshold int64 = 16 << 20

func newTensor(dims []int64, data []float32) (*ort.Tensor[float32], error) {
	return ort.NewTensor(ort.NewShape(dims...), data)
}

// allocate lays the parameters out in the flat buffers, copies their
// initial values in (dropping the engine's reference to them) and makes
// the views.
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
	total := 0
	e.off = make([]int, len(e.params))
	for i, p := range e.params {
		e.off[i] = total
		total += (p.NumElements() + align - 1) / align * align
	}
	for k := range e.state {
		e.state[k] = make([]float32, total)
	}
	for i, p := range e.params {
		n := p.NumElements()
		copy(e.state[statePar][e.off[i]:e.off[i]+n], p.Initial)
		p.Initial = nil
		e.pT = append(e.pT, mk(p.Dims, e.state[statePar][e.off[i]:e.off[i]+n]))
		e.gT = append(e.gT, mk(p.Dims, e.state[stateGrad][e.off[i]:e.off[i]+n]))
	}
	// Chunks: each segment of equal (group, decay), cut at chunkElems.
	for i := 0; i < len(e.params); {
		j := i
		for j < len(e.params) && e.params[j].Group == e.params[i].Group && e.params[j].Decay == e.params[i].Decay {
			j++
		}
		start, end := e.off[i], e.off[j-1]+e.params[j-1].NumElements()
		for a := start; a < end; a += chunkElems {
			b := min(a+chunkElems, end)
			view := func(k int) *ort.Tensor[float32] { return mk([]int64{int64(b - a)}, e.state[k][a:b]) }
			e.chunks = append(e.chunks, chunk{p: view(statePar), g: view(stateGrad), m: view(stateAvg), v: view(stateAvgSq),
				decay: e.params[i].Decay, group: e.params[i].Group})
		}
		i = j
	}
	one := []int64{1}
	e.scale = mk(one, []float32{1})
	e.keep = mk(one, []float32{0})
	e.stepSize = mk(one, []float32{0})
	e.decayOn = mk(one, []float32{0})
	e.decayOff = mk(one, []float32{0})
	e.one = mk(one, []float32{1})
	e.loss = mk(one, []float32{0})
	return err
}

// clipTensors makes the standard loop's per-group norm and factor
// tensors and records the clip graph's inputs (stepOrder) as parameter
// indices.
func (e *Engine) clipTensors(stepOrder []*Param) error {
	e.coef = map[string]*ort.Tensor[float32]{}
	for _, name := range e.groups {
		n, err := newTensor([]int64{1}, []float32{0})
		if err != nil {
			return err
		}
		e.clipNorms = append(e.clipNorms, n)
		c, err := newTensor([]int64{1}, []float32{1})
		if err != nil {
			return err
		}
		e.coef[name] = c
	}
	byKey := map[string]int{}
	for i, p := range e.params {
		byKey[p.Key] = i
	}
	e.clipGrads = make([]int, len(stepOrder))
	for i, p := range stepOrder {
		e.clipGrads[i] = byKey[p.Key]
	}
	return nil
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
	if !first && !e.accumulate {
		return StepResult{}, fmt.Errorf("engine built for one micro-batch per update (EngineConfig.Accumulation)")
	}
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
	ins = append(ins, e.scale)
	if e.accumulate {
		ins = append(ins, e.keep)
	}
	for i := range e.params {
		ins = append(ins, e.pT[i])
		if e.accumulate {
			ins = append(ins, e.gT[i]) // read and written in place
		}
	}
	for _, t := range e.frozen {
		ins = append(ins, t)
	}
	outs := []ort.Value{e.loss}
	for _, t := range e.stepNorms {
		outs = append(outs, t)
	}
	for i := range e.params {
		outs = append(outs, e.gT[i])
	}
	if err := e.step.Run(ins, outs); err != nil {
		return StepResult{}, fmt.Errorf("training step: %w", err)
	}
	e.micro++
	res := StepResult{Loss: float64(e.loss.GetData()[0])}
	if len(e.stepNorms) > 0 {
		res.Norms = map[string]float64{}
		for i, name := range e.groups {
			res.Norms[name] = float64(e.stepNorms[i].GetData()[0])
		}
	}
	if e.normsAtUpdate {
		e.lastNorms, res.Norms = res.Norms, nil
	}
	return res, nil
}

// Update applies AdamW with learning rate lr to the accumulated gradient
// (update number t is counted by the engine, starting at 1), chunk by
// chunk and in place, and returns the clip groups' norms when the
// optimizer clips (standard loop).
func (e *Engine) Update(lr float64) (map[string]float64, error) {
	e.updates++
	ss, ld := adamScalars(lr, e.beta1, e.beta2, e.wd, e.updates)
	e.stepSize.GetData()[0], e.decayOn.GetData()[0] = ss, ld
	var norms map[string]float64
	if e.normsAtUpdate {
		norms, e.lastNorms = e.lastNorms, nil
	}
	if e.clip != nil {
		ins := make([]ort.Value, len(e.clipGrads))
		for i, k := range e.clipGrads {
			ins[i] = e.gT[k]
		}
		var outs []ort.Value
		for i, name := range e.groups {
			outs = append(outs, e.clipNorms[i], e.coef[name])
		}
		if err := e.clip.Run(ins, outs); err != nil {
			return nil, fmt.Errorf("gradient clipping: %w", err)
		}
		norms = map[string]float64{}
		for i, name := range e.groups {
			norms[name] = float64(e.clipNorms[i].GetData()[0])
		}
	}
	for _, c := range e.chunks {
		decay, coef := e.decayOff, e.one
		if c.decay {
			decay = e.decayOn
		}
		if t := e.coef[c.group]; t != nil {
			coef = t
		}
		if err := e.opt.Run([]ort.Value{c.g, c.p, c.m, c.v, e.stepSize, decay, coef}, []ort.Value{c.p, c.m, c.v}); err != nil {
			return nil, fmt.Errorf("optimizer: %w", err)
		}
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
		}{{"parameter", values, e.Value(i)}, {"exp_avg", m, e.slice(stateAvg, i)}, {"exp_avg_sq", v, e.slice(stateAvgSq, i)}} {
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

func (e *Engine) slice(k, i int) []float32 {
	return e.state[k][e.off[i] : e.off[i]+e.params[i].NumElements()]
}

// Params returns the trained parameters, in the engine's order.
func (e *Engine) Params() []*Param { return e.params }

// Value returns the current value of parameter i (the engine's own
// buffer: it changes with the next update).
func (e *Engine) Value(i int) []float32 { return e.slice(statePar, i) }

// Moments returns Adam's moments of parameter i (the engine's buffers).
func (e *Engine) Moments(i int) (m, v []float32) {
	return e.slice(stateAvg, i), e.slice(stateAvgSq, i)
}

// StateBytes is the size of the resident training state (parameters,
// gradients, moments).
func (e *Engine) StateBytes() int64 { return int64(4 * 4 * len(e.state[statePar])) }

// Unused lists trained parameters that get no gradient (kept unchanged).
func (e *Engine) Unused() []string { return e.unused }

// Groups lists the clip groups whose norms are reported.
func (e *Engine) Groups() []string { return e.groups }

// ClipsPerMicroBatch reports whether norms come from MicroStep (upstream
// loop) rather than Update.
func (e *Engine) ClipsPerMicroBatch() bool { return e.perMicro }

// Updates is the number of optimizer updates done.
func (e *Engine) Updates() int { return e.updates }

// Close releases the sessions and tensors.
func (e *Engine) Close() {
	for _, s := range []*ort.DynamicAdvancedSession{e.step, e.clip, e.opt} {
		if s != nil {
			s.Destroy()
		}
	}
	ts := append(append([]*ort.Tensor[float32]{e.scale, e.keep, e.stepSize, e.loss, e.decayOn, e.decayOff, e.one}, e.pT...), e.gT...)
	ts = append(ts, e.frozen...)
	ts = append(append(ts, e.stepNorms...), e.clipNorms...)
	for _, c := range e.chunks {
		ts = append(ts, c.p, c.g, c.m, c.v)
	}
	for _, t := range e.coef {
		ts = append(ts, t)
	}
	for _, t := range ts {
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
