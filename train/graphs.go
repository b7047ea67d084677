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
	gradOpt     = "grad/"     // optimizer: the gradient
	inStepSize  = "step_size" // [1] lr·√(1−β₂ᵗ)/(1−β₁ᵗ)
	inLRDecay   = "lr_decay"  // [1] lr·weight_decay
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

// stepGraph is forward + loss + backward + gradient accumulation (and,
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
}

// buildStep differentiates tg's loss with respect to its parameters and
// adds accumulation (grad_out = acc_keep·grad_in + ∂(loss·loss_scale)) and,
// when clip is set, clipping of each group in groupOrder to maxNorm.
func buildStep(tg *models.TrainGraph, groupOf func(key string) string, clip bool, groupOrder []string, maxNorm float64) (*stepGraph, error) {
	g := tg.Graph
	scale := g.Input(inLossScale, graph.Float32, graph.Known(1))
	keep := g.Input(inAccKeep, graph.Float32, graph.Known(1))
	var seed *graph.Value
	g.Within("loss", func() { seed = g.Squeeze(scale, 0) })
	grads, err := g.Gradients(tg.Loss, tg.Params, graph.GradOptions{Seed: seed})
	if err != nil {
		return nil, err
	}
	s := &stepGraph{g: g, dropout: tg.Dropout}
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
		var a *graph.Value
		g.Within("accumulate/"+key, func() {
			dims := make([]graph.Dim, len(p.Dims))
			for j, d := range p.Dims {
				dims[j] = graph.Known(d)
			}
			prev := g.Input(gradIn+key, graph.Float32, dims...)
			a = g.Add(g.Mul(prev, keep), grads[i])
		})
		accs = append(accs, acc{p, a})
	}
	g.Output(outLoss, g.Unsqueeze(tg.Loss, 0))
	if clip {
		byGroup := map[string][]*graph.Value{}
		for _, a := range accs {
			byGroup[a.p.Group] = append(byGroup[a.p.Group], a.v)
		}
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
			s.groups = append(s.groups, name)
		}
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

// optimizerGraph is AdamW as pytorch_transformers 1.2.0 computes it, for
// every trained parameter, optionally clipping the gradients first (the
// standard loop clips once per update).
func buildOptimizer(params []*Param, beta1, beta2, eps float64, clip bool, groupOrder []string, maxNorm float64) (*graph.Graph, []string, error) {
	g := graph.New("kadapter_adamw")
	stepSize := g.Input(inStepSize, graph.Float32, graph.Known(1))
	lrDecay := g.Input(inLRDecay, graph.Float32, graph.Known(1))
	b1, b2 := g.Scalar(float32(beta1)), g.Scalar(float32(beta2))
	omb1, omb2 := g.Scalar(float32(1-beta1)), g.Scalar(float32(1-beta2))
	e := g.Scalar(float32(eps))
	grads := make([]*graph.Value, len(params))
	for i, p := range params {
		dims := make([]graph.Dim, len(p.Dims))
		for j, d := range p.Dims {
			dims[j] = graph.Known(d)
		}
		grads[i] = g.Input(gradOpt+p.Key, graph.Float32, dims...)
	}
	var groups []string
	if clip {
		byGroup := map[string][]int{}
		for i, p := range params {
			byGroup[p.Group] = append(byGroup[p.Group], i)
		}
		for _, name := range groupOrder {
			idx := byGroup[name]
			if len(idx) == 0 {
				continue
			}
			vs := make([]*graph.Value, len(idx))
			for j, i := range idx {
				vs[j] = grads[i]
			}
			var norm, c *graph.Value
			g.Within("clip/"+name, func() { norm, c = clipCoef(g, vs, maxNorm) })
			g.Output(normOut+name, g.Unsqueeze(norm, 0))
			groups = append(groups, name)
			for _, i := range idx {
				grads[i] = g.Mul(grads[i], c)
			}
		}
	}
	for i, p := range params {
		dims := make([]graph.Dim, len(p.Dims))
		for j, d := range p.Dims {
			dims[j] = graph.Known(d)
		}
		w := g.Input(paramIn+p.Key, graph.Float32, dims...)
		m := g.Input(momIn+p.Key, graph.Float32, dims...)
		v := g.Input(velIn+p.Key, graph.Float32, dims...)
		gr := grads[i]
		g.Within("adamw/"+p.Key, func() {
			// exp_avg.mul_(β₁).add_(1−β₁, grad); exp_avg_sq.mul_(β₂).addcmul_(1−β₂, grad, grad)
			m2 := g.Add(g.Mul(m, b1), g.Mul(gr, omb1))
			v2 := g.Add(g.Mul(v, b2), g.Mul(g.Mul(gr, gr), omb2))
			// p.addcdiv_(−step_size, exp_avg, exp_avg_sq.sqrt() + eps)
			w2 := g.Sub(w, g.Mul(g.Div(m2, g.Add(g.Sqrt(v2), e)), stepSize))
			if p.Decay {
				// p.add_(−lr·wd, p) after the step (decoupled decay)
				w2 = g.Sub(w2, g.Mul(w2, lrDecay))
			}
			g.Output(paramOut+p.Key, w2)
			g.Output(momOut+p.Key, m2)
			g.Output(velOut+p.Key, v2)
		})
	}
	return g, groups, g.Err()
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
