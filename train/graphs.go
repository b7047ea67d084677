package train

import (
	"math"
	"strings"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
)

// Names of the step and optimizer graphs' own inputs and outputs (the
// task's inputs, labels and dropout masks keep their names).
const (
	inLossScale = "loss_scale"  // [1] d(objective)/d(loss): 1/accumulation
	inAccKeep   = "acc_keep"    // [1] 0 on the first micro-batch of an update, else 1
	outLoss     = "loss"        // [1] the model's own loss
	gradIn      = "grad_in/"    // accumulated gradient so far, by key
	gradOut     = "grad_out/"   // accumulated gradient after this micro-batch
	normOut     = "grad_norm/"  // [1] norm of a clip group, before clipping
	paramIn     = "param_in/"   // optimizer: parameter, by key
	paramOut    = "param_out/"  // optimizer: updated parameter
	momIn       = "exp_avg_in/" // Adam's first moment
	momOut      = "exp_avg_out/"
	velIn       = "exp_avg_sq_in/" // Adam's second moment
	velOut      = "exp_avg_sq_out/"
	gradOpt     = "grad/"      // optimizer: the gradient
	inStepSize  = "step_size"  // [1] lr·√(1−β₂ᵗ)/(1−β₁ᵗ)
	inLRDecay   = "lr_decay"   // [1] lr·weight_decay (0 for undecayed chunks)
	inClip      = "clip"       // [1] the chunk's clip factor (1: none)
	coefOut     = "clip_coef/" // [1] a clip group's factor
)

// Param is one trained parameter: its canonical key, shape, whether it is
// decayed and the clip group it belongs to.
type Param struct {
	Key   string
	Dims  []int64
	Decay bool
	Group string
	// Initial is the starting value (the checkpoint's tensor).
	Initial []float32
}

// NumElements is the parameter's size.
func (p *Param) NumElements() int {
	n := 1
	for _, d := range p.Dims {
		n *= int(d)
	}
	return n
}

// noDecay is pytorch_transformers' rule: names containing "bias" or
// "LayerNorm.weight" get no weight decay.
func noDecay(key string) bool {
	return strings.Contains(key, "bias") || strings.Contains(key, "LayerNorm.weight")
}

// stepGraph is forward + loss + backward (+ gradient accumulation, and,
// for the upstream loop, clipping after the micro-batch) as one graph.
type stepGraph struct {
	g       *graph.Graph
	params  []*Param
	dropout []models.DropoutSite
	// unused are trained parameters the loss does not reach (RoBERTa's
	// pooler): they get no gradient, like torch's grad None.
	unused []string
	groups []string // clip groups, in order, when the step clips
	inputs []string // task inputs + labels (data fed per micro-batch)
	// accumulate: the graph reads the gradient accumulated so far
	// (grad_in/*, scaled by acc_keep) and adds this micro-batch's to it.
	accumulate bool
}

// buildStep differentiates tg's loss with respect to its parameters. With
// accumulate, grad_out = acc_keep·grad_in + ∂(loss·loss_scale) (the engine
// binds grad_in and grad_out to the same buffer: the update is in place);
// without, grad_out is the micro-batch's gradient. When clip is set, each
// group in groupOrder is clipped to maxNorm after the micro-batch.
func buildStep(tg *models.TrainGraph, groupOf func(key string) string, accumulate, clip bool, groupOrder []string, maxNorm float64) (*stepGraph, error) {
	g := tg.Graph
	scale := g.Input(inLossScale, graph.Float32, graph.Known(1))
	var keep *graph.Value
	if accumulate {
		keep = g.Input(inAccKeep, graph.Float32, graph.Known(1))
	}
	var seed *graph.Value
	g.Within("loss", func() { seed = g.Squeeze(scale, 0) })
	grads, err := g.Gradients(tg.Loss, tg.Params, graph.GradOptions{Seed: seed})
	if err != nil {
		return nil, err
	}
	s := &stepGraph{g: g, dropout: tg.Dropout, accumulate: accumulate}
	for _, in := range tg.Interface.Inputs {
		if !strings.HasPrefix(in.Name, "dropout/") && tg.Initial[in.Name] == nil {
			s.inputs = append(s.inputs, in.Name)
		}
	}
	s.inputs = append(s.inputs, "labels")
	type acc struct {
		p *Param
		v *graph.Value
	}
	var accs []acc
	for i, v := range tg.Params {
		key := v.Name()
		init := tg.Initial[key]
		if grads[i] == nil {
			if err := g.InputToInitializer(v, init); err != nil {
				return nil, err
			}
			s.unused = append(s.unused, key)
			continue
		}
		p := &Param{Key: key, Dims: init.Dims, Decay: !noDecay(key), Group: groupOf(key), Initial: init.Float32}
		s.params = append(s.params, p)
		a := grads[i]
		if accumulate {
			g.Within("accumulate/"+key, func() {
				prev := g.Input(gradIn+key, graph.Float32, knownDims(p.Dims)...)
				a = g.Add(g.Mul(prev, keep), grads[i])
			})
		}
		accs = append(accs, acc{p, a})
	}
	g.Output(outLoss, g.Unsqueeze(tg.Loss, 0))
	if clip {
		byGroup := map[string][]*graph.Value{}
		for _, a := range accs {
			byGroup[a.p.Group] = append(byGroup[a.p.Group], a.v)
		}
		var coef map[string]*graph.Value
		s.groups, coef = clipGroupNorms(g, byGroup, groupOrder, maxNorm)
		for i, a := range accs {
			if c := coef[a.p.Group]; c != nil {
				g.Within("clip/"+a.p.Key, func() { accs[i].v = g.Mul(a.v, c) })
			}
		}
	}
	for _, a := range accs {
		g.Output(gradOut+a.p.Key, a.v)
	}
	return s, g.Err()
}

func knownDims(ds []int64) []graph.Dim {
	dims := make([]graph.Dim, len(ds))
	for j, d := range ds {
		dims[j] = graph.Known(d)
	}
	return dims
}

// clipCoef is torch.nn.utils.clip_grad_norm_ (torch 1.13): the total norm
// ‖(‖g₁‖, ‖g₂‖, …)‖ and the factor min(max/(norm + 1e-6), 1) the
// gradients are multiplied by.
func clipCoef(g *graph.Graph, vs []*graph.Value, maxNorm float64) (norm, coef *graph.Value) {
	var sq *graph.Value
	for _, v := range vs {
		axes := make([]int64, v.Rank())
		for i := range axes {
			axes[i] = int64(i)
		}
		n := g.Sqrt(g.ReduceSum(g.Mul(v, v), false, axes...))
		n2 := g.Mul(n, n)
		if sq == nil {
			sq = n2
		} else {
			sq = g.Add(sq, n2)
		}
	}
	norm = g.Sqrt(sq)
	coef = g.Min(g.Div(g.Scalar(float32(maxNorm)), g.Add(norm, g.Scalar(1e-6))), g.Scalar(1))
	return norm, coef
}

// clipGroupNorms adds, for each group of groupOrder that has gradients in
// byGroup, its norm as the output norm/<group> and its clip factor, and
// returns those groups in order with their factors.
func clipGroupNorms(g *graph.Graph, byGroup map[string][]*graph.Value, groupOrder []string, maxNorm float64) ([]string, map[string]*graph.Value) {
	var groups []string
	coef := map[string]*graph.Value{}
	for _, name := range groupOrder {
		vs := byGroup[name]
		if len(vs) == 0 {
			continue
		}
		var norm, c *graph.Value
		g.Within("clip/"+name, func() { norm, c = clipCoef(g, vs, maxNorm) })
		g.Output(normOut+name, g.Unsqueeze(norm, 0))
		coef[name] = c
		groups = append(groups, name)
	}
	return groups, coef
}

// buildClip is the standard loop's clipping, once per update: for each
// group of groupOrder that has parameters, its norm (norm/<group>) and the
// factor its gradients are multiplied by (coef/<group>), computed from
// the accumulated gradients (grad/<key>) exactly as clipCoef does in the
// step. It returns the graph and the groups, in order.
func buildClip(params []*Param, groupOrder []string, maxNorm float64) (*graph.Graph, []string, error) {
	g := graph.New("kadapter_clip")
	byGroup := map[string][]*graph.Value{}
	for _, p := range params {
		byGroup[p.Group] = append(byGroup[p.Group], g.Input(gradOpt+p.Key, graph.Float32, knownDims(p.Dims)...))
	}
	groups, coef := clipGroupNorms(g, byGroup, groupOrder, maxNorm)
	for _, name := range groups {
		g.Output(coefOut+name, g.Unsqueeze(coef[name], 0))
	}
	return g, groups, g.Err()
}

// buildAdamW is AdamW as pytorch_transformers 1.2.0 computes it, on one
// flat chunk of parameters (param_in [n], its gradient, moments): the
// engine runs it chunk by chunk with the outputs bound to the inputs'
// own buffers, so the update is in place and its temporaries are of chunk
// size. clip multiplies the gradient first (1: no clipping); lr_decay is
// lr·weight_decay for decayed chunks and 0 for the others (w − w·0 = w
// exactly, as if no decay were applied).
func buildAdamW(beta1, beta2, eps float64) (*graph.Graph, error) {
	g := graph.New("kadapter_adamw")
	n := graph.Sym("n")
	gr := g.Input(gradOpt+"chunk", graph.Float32, n)
	w := g.Input(paramIn+"chunk", graph.Float32, n)
	m := g.Input(momIn+"chunk", graph.Float32, n)
	v := g.Input(velIn+"chunk", graph.Float32, n)
	stepSize := g.Input(inStepSize, graph.Float32, graph.Known(1))
	lrDecay := g.Input(inLRDecay, graph.Float32, graph.Known(1))
	clip := g.Input(inClip, graph.Float32, graph.Known(1))
	b1, b2 := g.Scalar(float32(beta1)), g.Scalar(float32(beta2))
	omb1, omb2 := g.Scalar(float32(1-beta1)), g.Scalar(float32(1-beta2))
	e := g.Scalar(float32(eps))
	g.Within("adamw", func() {
		gc := g.Mul(gr, clip)
		// exp_avg.mul_(β₁).add_(1−β₁, grad); exp_avg_sq.mul_(β₂).addcmul_(1−β₂, grad, grad)
		m2 := g.Add(g.Mul(m, b1), g.Mul(gc, omb1))
		v2 := g.Add(g.Mul(v, b2), g.Mul(g.Mul(gc, gc), omb2))
		// p.addcdiv_(−step_size, exp_avg, exp_avg_sq.sqrt() + eps)
		w2 := g.Sub(w, g.Mul(g.Div(m2, g.Add(g.Sqrt(v2), e)), stepSize))
		// p.add_(−lr·wd, p) after the step (decoupled decay)
		w3 := g.Sub(w2, g.Mul(w2, lrDecay))
		g.Output(paramOut+"chunk", w3)
		g.Output(momOut+"chunk", m2)
		g.Output(velOut+"chunk", v2)
	})
	return g, g.Err()
}

// Schedule is WarmupLinearSchedule: the factor step/max(1,warmup) while
// step < warmup, then max(0, (t_total−step)/max(1, t_total−warmup)).
type Schedule struct {
	Warmup, Total int
}

// Factor returns the learning-rate factor at a scheduler step.
func (s Schedule) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step) / math.Max(1, float64(s.Warmup))
	}
	return math.Max(0, float64(s.Total-step)/math.Max(1, float64(s.Total-s.Warmup)))
}

// adamScalars returns step_size and lr·wd for update t (1-based) at lr.
func adamScalars(lr, beta1, beta2, wd float64, t int) (stepSize, lrDecay float32) {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	return float32(lr * math.Sqrt(bc2) / bc1), float32(lr * wd)
}
