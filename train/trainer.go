// Package train trains K-Adapter models on ONNX Runtime with graphs that
// kadapter generates: one step graph (forward, loss, backward, gradient
// accumulation; the upstream loop's per-micro-batch clipping) and one
// optimizer graph (clipping once per update in the standard loop, AdamW as
// pytorch_transformers 1.2.0 computes it). Engine keeps parameters,
// gradients and moments resident; Run is the loop with hooks; ckpt writes
// checkpoints; Train assembles them for one task (tasks.Definition).
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

// Options are everything krun train takes.
type Options struct {
	// Task names the task (tasks.Get).
	Task string
	// Sources are the weight files (RoBERTa folder, task model, adapters).
	Sources models.Sources
	// Fusion, AdapterList, AdapterHeads, SkipLayers, ARate, BRate shape the
	// model as krun export's flags do.
	Fusion       string
	AdapterList  []int
	AdapterHeads int
	SkipLayers   int
	ARate, BRate float64
	// Data is the training data (OpenData); Out receives checkpoints,
	// log.jsonl, curves.svg and the data cache.
	Data, Out string
	// Dev is the dev data scored every EvalSteps updates and at the end
	// ("" = none); Metric picks the score that selects the best
	// checkpoint (default: the task's headline metric; "loss" minimises).
	Dev       string
	EvalSteps int
	Metric    string
	// SaveSteps writes a checkpoint every so many updates (0: only at the
	// end); SaveTotalLimit keeps the newest K (0: all) besides the best.
	SaveSteps, SaveTotalLimit int
	// Resume continues from a checkpoint folder ("last": the newest
	// checkpoint-N in Out).
	Resume string
	// Hyper are the hyper-parameters (the caller starts from the task's
	// Defaults and applies the flags).
	Hyper tasks.Hyper
	// TTotal is the schedule horizon (0: as the original computes it).
	TTotal int
	// Freeze is "roberta", "adapters" or "none" ("" = the task's default:
	// roberta for pre-training, adapters for fine-tuning).
	Freeze string
	// Dropout overrides every dropout probability when ≥ 0; < 0 keeps the
	// configuration's (RoBERTa config.json; 0.1 in adapters and heads).
	Dropout float64
	// Shuffle and Seed order the examples; Seed also drives dropout and
	// the initialization of new modules.
	Shuffle bool
	Seed    uint64
	// Loop is standard or upstream.
	Loop LoopKind
	// Session configures ONNX Runtime (threads, optimization, device).
	Session runtime.Options
	// Init sizes the modules no file provides (InitMissing); Init.Seed 0
	// takes Seed.
	Init InitSpec
	// SaveGraphs, when set, is a folder that receives step.onnx and
	// adamw.onnx (the training graphs, for inspection).
	SaveGraphs string
	// Recompute re-runs each trained transformer layer's forward in the
	// backward pass instead of keeping its activations.
	Recompute bool
	// Vocab is the tokenizer folder for original data files; Features
	// configures their conversion; Strict stops at a rejected record.
	Vocab    string
	Features features.Config
	Strict   bool
}

// Result is what Train did.
type Result struct {
	Summary
	// Checkpoint is the last folder written; Best the best one by Metric
	// (when a dev set was scored) and BestMetric its score.
	Checkpoint string  `json:"checkpoint"`
	Best       string  `json:"best_checkpoint,omitempty"`
	BestMetric float64 `json:"best_metric,omitempty"`
	Metric     string  `json:"metric,omitempty"`
	// Dev is the last dev evaluation.
	Dev map[string]float64 `json:"dev,omitempty"`
	// Trained, Frozen and NoGradient list canonical keys: what was
	// updated, what stayed constant, and what is trainable but unused by
	// the loss (RoBERTa's pooler: never updated, as in the original).
	Trained    []string `json:"trained"`
	Frozen     []string `json:"frozen"`
	NoGradient []string `json:"no_gradient"`
	// Data and DevData are what reading the data did.
	Data    SourceReport  `json:"data"`
	DevData *SourceReport `json:"dev_data,omitempty"`
	// Initialized lists the keys InitMissing created (no file had them).
	Initialized []string `json:"initialized,omitempty"`
	// ResumedFrom is the checkpoint a resumed run started from.
	ResumedFrom string `json:"resumed_from,omitempty"`
	// Log and Curves are log.jsonl's and curves.svg's paths.
	Log    string `json:"log"`
	Curves string `json:"curves"`
	// TTotal is the schedule horizon used.
	TTotal int `json:"t_total"`
	// StateBytes is the resident training state: the trained parameters,
	// their gradients and Adam's two moments.
	StateBytes int64 `json:"state_bytes"`
}

// Observer follows a run: Start once the plan is known (the number of
// updates it will make, 0 if unknown; the examples per epoch), Update
// after every update (a non-nil error stops the run), Saved after each
// checkpoint.
type Observer struct {
	Start  func(updates, examples int)
	Update func(UpdateLog) error
	Saved  func(dir string)
}

// InterruptedError is returned when the context is cancelled: the run
// saved the last completed update (Checkpoint, "" if none was complete).
type InterruptedError struct {
	Checkpoint string
	Updates    int
	Err        error
}

// Error implements error.
func (e *InterruptedError) Error() string {
	if e.Checkpoint == "" {
		return fmt.Sprintf("interrupted before the first update: nothing saved (%v)", e.Err)
	}
	return fmt.Sprintf("interrupted: saved %s after %d updates; --resume continues from it", e.Checkpoint, e.Updates)
}

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// Train runs one training job.
func Train(ctx context.Context, o Options, obs Observer) (*Result, error) {
	j, err := newJob(o)
	if err != nil {
		return nil, err
	}
	defer j.close()
	return j.run(ctx, obs)
}

// frozenModules returns the modules that stay constant.
func frozenModules(def *tasks.Definition, freeze string) (map[string]bool, error) {
	if freeze == "" {
		if def.Pretraining {
			freeze = "roberta"
		} else {
			freeze = "adapters"
		}
	}
	switch freeze {
	case "roberta":
		return map[string]bool{"roberta": true}, nil
	case "adapters":
		if def.Pretraining {
			return nil, fmt.Errorf("task %s trains its adapter with RoBERTa frozen: --freeze adapters does not apply", def.Task)
		}
		return map[string]bool{"adapters": true}, nil
	case "none":
		if def.Pretraining {
			return nil, fmt.Errorf("task %s trains its adapter with RoBERTa frozen: --freeze none does not apply", def.Task)
		}
		return map[string]bool{}, nil
	}
	return nil, fmt.Errorf("bad --freeze %q: want roberta, adapters or none", freeze)
}

// trainingSession sets the session options of training graphs: no memory
// pattern (runtime.Options.NoMemPattern), and, with more than one
// intra-op thread, ONNX Runtime's spinning off unless o.Config sets it:
// idle workers then sleep between kernels instead of taking CPU from the
// working ones, as PyTorch's threads do with OMP_WAIT_POLICY=PASSIVE
// (docs/train.md, Benchmark).
func trainingSession(o runtime.Options) runtime.Options {
	o.NoMemPattern = true
	if o.IntraOpThreads == 1 {
		return o
	}
	if _, set := o.Config[runtime.ConfigAllowSpinning]; set {
		return o
	}
	c := map[string]string{runtime.ConfigAllowSpinning: "0"}
	for k, v := range o.Config {
		c[k] = v
	}
	o.Config = c
	return o
}

// clipGroups returns the clip groups in order and each key's group:
// the script's groups; the standard loop clips a task without groups
// (CosmosQA) as one group when --max-grad-norm asks for it.
func clipGroups(def *tasks.Definition, loop LoopKind) ([]string, func(string) string) {
	groups := def.Upstream.ClipGroups
	if len(groups) == 0 && loop == LoopStandard {
		groups = []string{"model"}
	}
	return groups, func(key string) string {
		if len(groups) == 1 {
			return groups[0]
		}
		if models.ModuleOf(key) == "roberta" {
			return "roberta"
		}
		return "task"
	}
}

// labelCount guesses a head's size from the data when no file gives it:
// the width of the array def.Init.ClassesFrom names (FIGER's label count
// in labels.npy, find-head's max_seq_length in input_ids.npy).
func labelCount(def *tasks.Definition, dir string) int {
	if def.Init.ClassesFrom == "" {
		return 0
	}
	a, err := npy.ReadFile(filepath.Join(dir, def.Init.ClassesFrom))
	if err != nil || len(a.Shape) != 2 {
		return 0
	}
	return a.Shape[1]
}

func configPath(roberta string) string {
	if st, err := os.Stat(roberta); err == nil && !st.IsDir() {
		return filepath.Join(filepath.Dir(roberta), "config.json")
	}
	return filepath.Join(roberta, "config.json")
}

func readJSON(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func number(v any, def float64) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return def
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
