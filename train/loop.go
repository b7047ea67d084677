package train

import (
	"context"
	"fmt"
	"math"
	"time"
)

// LoopKind selects the training loop.
type LoopKind string

// The loops.
const (
	// LoopStandard clips once per update (after accumulation), steps the
	// scheduler before the optimizer (no lr-0 update) and stops after
	// exactly max_steps updates.
	LoopStandard LoopKind = "standard"
	// LoopUpstream reproduces each original script's own loop (see
	// tasks.Upstream and docs/train.md).
	LoopUpstream LoopKind = "upstream"
)

// ParseLoop accepts standard or upstream.
func ParseLoop(s string) (LoopKind, error) {
	switch LoopKind(s) {
	case LoopStandard, LoopUpstream:
		return LoopKind(s), nil
	case "":
		return LoopStandard, nil
	}
	return "", fmt.Errorf("bad --loop %q: want standard or upstream", s)
}

// Plan is how a run walks the data and updates.
type Plan struct {
	// Loop is the loop kind.
	Loop LoopKind
	// BatchSize is examples per micro-batch (forward pass).
	BatchSize int
	// Accumulation is micro-batches per update.
	Accumulation int
	// AccumulationOffset shifts the update test (CosmosQA upstream: 1).
	AccumulationOffset int
	// OptimizerFirst: update k uses the schedule at k (upstream TACRED,
	// OpenEntity); otherwise at k+1.
	OptimizerFirst bool
	// Epochs bounds the passes over the data (0: unbounded, MaxSteps
	// decides).
	Epochs int
	// MaxSteps stops after this many updates (upstream: one more, as the
	// scripts test global_step > max_steps); 0: no bound.
	MaxSteps int
	// LearningRate and Schedule give each update's lr.
	LearningRate float64
	Schedule     Schedule
	// Shuffle and Seed order the examples of each epoch.
	Shuffle bool
	Seed    uint64
	// Start is where a resumed run continues (zero: the beginning).
	Start Position
}

// Position is where a run stands at an update boundary: enough to resume
// it exactly (the example order of an epoch is a function of the seed
// and the epoch; dropout masks of the micro-batch count).
type Position struct {
	// Epoch is the current epoch (0-based); Offset the examples of its
	// order already consumed.
	Epoch  int `json:"epoch"`
	Offset int `json:"offset"`
	// Updates, MicroBatches and Examples done so far.
	Updates      int `json:"global_step"`
	MicroBatches int `json:"micro_batches"`
	Examples     int `json:"examples"`
}

// UpdateLog is one update as log.jsonl records it.
type UpdateLog struct {
	Step int `json:"step"`
	// LR is the learning rate this update used.
	LR float64 `json:"lr"`
	// Loss is the mean of the model's loss over the update's micro-batches.
	Loss float64 `json:"loss"`
	// MicroLosses are the backpropagated losses (model loss divided by the
	// accumulation when that is > 1), one per micro-batch.
	MicroLosses []float64 `json:"micro_losses"`
	// GradNorms are each clip group's norm before clipping (upstream: of
	// the last micro-batch of the update; MicroGradNorms has them all).
	GradNorms      map[string]float64   `json:"grad_norms,omitempty"`
	MicroGradNorms []map[string]float64 `json:"micro_grad_norms,omitempty"`
	// Epoch is the epoch (0-based) the update finished in.
	Epoch int `json:"epoch"`
	// Examples seen so far, and the rate of this update.
	Examples       int     `json:"examples"`
	ExamplesPerSec float64 `json:"examples_per_s"`
	// Seconds since the loop started.
	Seconds float64 `json:"elapsed_s"`
	// Dev holds the dev-set metrics when this update was followed by an
	// evaluation.
	Dev map[string]float64 `json:"dev,omitempty"`
	// Position is the run's position after this update.
	Position Position `json:"-"`
}

// Hooks observe a run. OnUpdate runs after every update; a non-nil error
// stops the loop with it.
type Hooks struct {
	OnUpdate func(u UpdateLog) error
}

// Summary is what a run did.
type Summary struct {
	Updates     int     `json:"updates"`
	MicroBatchs int     `json:"micro_batches"`
	Examples    int     `json:"examples"`
	Epochs      int     `json:"epochs"`
	Seconds     float64 `json:"seconds"`
	// StoppedBy is "max_steps", "epochs" or "context".
	StoppedBy string  `json:"stopped_by"`
	LastLoss  float64 `json:"last_loss"`
}

// LossError reports a NaN or infinite loss: the update and the
// micro-batch (both 1-based, the micro-batch counted over the run) and
// its examples.
type LossError struct {
	Step, MicroBatch int
	Examples         []int
	Data             string
	Loss             float64
}

// Error implements error.
func (e *LossError) Error() string {
	return fmt.Sprintf("update %d, micro-batch %d (examples %v of %s): the loss is %v; training stopped", e.Step, e.MicroBatch, e.Examples, e.Data, e.Loss)
}

// Run trains e on d according to p.
func Run(ctx context.Context, e *Engine, d Data, p Plan, h Hooks) (Summary, error) {
	if p.BatchSize <= 0 || p.Accumulation <= 0 {
		return Summary{}, fmt.Errorf("batch size and accumulation must be positive")
	}
	if p.Epochs <= 0 && p.MaxSteps <= 0 {
		return Summary{}, fmt.Errorf("give --epochs or --max-steps")
	}
	maxUpdates := p.MaxSteps
	if p.Loop == LoopUpstream && p.MaxSteps > 0 {
		maxUpdates = p.MaxSteps + 1 // the scripts stop when global_step > max_steps
	}
	scale := 1.0
	if p.Accumulation > 1 {
		scale = 1 / float64(p.Accumulation)
	}
	s := Summary{Updates: p.Start.Updates, MicroBatchs: p.Start.MicroBatches, Examples: p.Start.Examples}
	if maxUpdates > 0 && s.Updates >= maxUpdates {
		s.StoppedBy = "max_steps"
		return s, nil
	}
	start := time.Now()
	last := start
	micro := 0 // micro-batches since the last update
	var losses []float64
	var norms []map[string]float64
	examplesAtLast := s.Examples
	for epoch := p.Start.Epoch; p.Epochs <= 0 || epoch < p.Epochs; epoch++ {
		s.Epochs = epoch + 1
		order := Order(d.Len(), epoch, p.Shuffle, p.Seed)
		first := 0
		if epoch == p.Start.Epoch {
			first = p.Start.Offset
		}
		for at := first; at < len(order); at += p.BatchSize {
			if err := ctx.Err(); err != nil {
				s.StoppedBy = "context"
				s.Seconds = time.Since(start).Seconds()
				return s, err
			}
			idx := order[at:min(at+p.BatchSize, len(order))]
			b, err := d.Batch(idx)
			if err != nil {
				return s, err
			}
			res, err := e.MicroStep(b, micro == 0, scale)
			if err != nil {
				return s, fmt.Errorf("update %d, micro-batch %d (examples %v of %s): %w", s.Updates+1, s.MicroBatchs+1, idx, d.Name(), err)
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				return s, &LossError{Step: s.Updates + 1, MicroBatch: s.MicroBatchs + 1, Examples: idx, Data: d.Name(), Loss: res.Loss}
			}
			s.MicroBatchs++
			s.Examples += len(idx)
			micro++
			losses = append(losses, res.Loss)
			if res.Norms != nil {
				norms = append(norms, res.Norms)
			}
			if (s.MicroBatchs+p.AccumulationOffset)%p.Accumulation != 0 {
				continue
			}
			k := s.Updates
			factor := p.Schedule.Factor(k + 1)
			if p.Loop == LoopUpstream && p.OptimizerFirst {
				factor = p.Schedule.Factor(k)
			}
			lr := p.LearningRate * factor
			optNorms, err := e.Update(lr)
			if err != nil {
				return s, fmt.Errorf("update %d: %w", k+1, err)
			}
			s.Updates++
			now := time.Now()
			u := UpdateLog{Step: s.Updates, LR: lr, Epoch: epoch, Examples: s.Examples, Seconds: now.Sub(start).Seconds(),
				Position: Position{Epoch: epoch, Offset: at + len(idx), Updates: s.Updates, MicroBatches: s.MicroBatchs, Examples: s.Examples}}
			if u.Position.Offset >= len(order) {
				u.Position.Epoch, u.Position.Offset = epoch+1, 0
			}
			var sum float64
			for _, l := range losses {
				sum += l
				u.MicroLosses = append(u.MicroLosses, l*scale)
			}
			u.Loss = sum / float64(len(losses))
			if dt := now.Sub(last).Seconds(); dt > 0 {
				u.ExamplesPerSec = float64(s.Examples-examplesAtLast) / dt
			}
			switch {
			case optNorms != nil:
				u.GradNorms = optNorms
			case len(norms) > 0:
				u.GradNorms = norms[len(norms)-1]
				u.MicroGradNorms = norms
			}
			s.LastLoss = u.Loss
			last, examplesAtLast = now, s.Examples
			micro, losses, norms = 0, nil, nil
			if h.OnUpdate != nil {
				if err := h.OnUpdate(u); err != nil {
					return s, err
				}
			}
			if maxUpdates > 0 && s.Updates >= maxUpdates {
				s.StoppedBy = "max_steps"
				s.Seconds = time.Since(start).Seconds()
				return s, nil
			}
		}
	}
	s.StoppedBy = "epochs"
	s.Seconds = time.Since(start).Seconds()
	return s, nil
}
