// Package train trains K-Adapter models on ONNX Runtime with graphs that
// kadapter generates: one step graph (forward, loss, backward, gradient
// accumulation; the upstream loop's per-micro-batch clipping) and one
// optimizer graph (clipping once per update in the standard loop, AdamW as
// pytorch_transformers 1.2.0 computes it). Engine keeps parameters,
// gradients and moments resident; Run is the loop with hooks; ckpt writes
// checkpoints; Train assembles them for one task (tasks.Definition).
package train

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train/ckpt"
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
	// Data is the folder of training arrays; Out receives checkpoints and
	// log.jsonl.
	Data, Out string
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
	// Shuffle and Seed order the examples; Seed also drives dropout.
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
	// Vocab is the tokenizer folder for original data files; Features
	// configures their conversion; Strict stops at a rejected record.
	Vocab    string
	Features features.Config
	Strict   bool
}

// Result is what Train did.
type Result struct {
	Summary
	// Checkpoint is the folder written at the end.
	Checkpoint string `json:"checkpoint"`
	// Trained, Frozen and NoGradient list canonical keys: what was
	// updated, what stayed constant, and what is trainable but unused by
	// the loss (RoBERTa's pooler: never updated, as in the original).
	Trained    []string `json:"trained"`
	Frozen     []string `json:"frozen"`
	NoGradient []string `json:"no_gradient"`
	// Data is what reading the training data did.
	Data SourceReport `json:"data"`
	// Initialized lists the keys InitMissing created (no file had them).
	Initialized []string `json:"initialized,omitempty"`
	// Log is log.jsonl's path.
	Log string `json:"log"`
	// TTotal is the schedule horizon used.
	TTotal int `json:"t_total"`
}

// Observer follows a run: Start once the plan is known (the number of
// updates it will make, 0 if unknown; the examples per epoch), Update
// after every update (a non-nil error stops the run).
type Observer struct {
	Start  func(updates, examples int)
	Update func(UpdateLog) error
}

// Train runs one training job.
func Train(ctx context.Context, o Options, obs Observer) (*Result, error) {
	def, err := tasks.Get(o.Task)
	if err != nil {
		return nil, err
	}
	h := o.Hyper
	if h.BatchSize <= 0 || h.Accumulation <= 0 {
		return nil, fmt.Errorf("--batch-size and --gradient-accumulation-steps must be positive")
	}
	load := def.Task
	if def.Pretraining && o.Sources.Fac == "" && o.Sources.Lin == "" {
		load = models.TaskFeatures // RoBERTa only; the adapter model is initialized
	}
	w, cfg, err := models.LoadWeights(load, o.Sources)
	if err != nil {
		return nil, err
	}
	is := o.Init
	if is.Seed == 0 {
		is.Seed = o.Seed
	}
	if len(is.AdapterList) == 0 {
		is.AdapterList = o.AdapterList
	}
	if is.Labels == 0 {
		is.Labels = labelCount(def, o.Data)
	}
	initialized, err := InitMissing(def, w, cfg.HiddenSize, is)
	if err != nil {
		return nil, err
	}
	// Keep every tensor for the checkpoint: building hands transposed
	// copies of frozen Linear weights to the graph and drops the originals.
	all := map[string]*checkpoint.Tensor{}
	for _, k := range w.Keys() {
		all[k] = w.Get(k)
	}
	frozen, err := frozenModules(def, o.Freeze)
	if err != nil {
		return nil, err
	}
	roberta, err := readJSON(configPath(o.Sources.Roberta))
	if err != nil {
		return nil, err
	}
	dropout := func(module, kind string) float64 {
		if def.Pretraining && module == "roberta" {
			return 0 // RoBERTa runs in eval() during pre-training
		}
		if o.Dropout >= 0 {
			return o.Dropout
		}
		switch module {
		case "roberta":
			if kind == "attention" {
				return number(roberta["attention_probs_dropout_prob"], 0.1)
			}
			return number(roberta["hidden_dropout_prob"], 0.1)
		case "head":
			return number(roberta["hidden_dropout_prob"], 0.1)
		}
		return 0.1 // AdapterConfig's hard-coded probabilities
	}
	spec := models.Spec{Task: def.Task, Roberta: cfg, Fusion: o.Fusion, ARate: o.ARate, BRate: o.BRate,
		Adapter: models.AdapterConfig{List: o.AdapterList, SkipLayers: o.SkipLayers, Heads: o.AdapterHeads}}
	tg, err := models.BuildTrain(spec, w, models.TrainSpec{
		Trainable: func(key string) bool { return !frozen[models.ModuleOf(key)] },
		Dropout:   dropout,
	})
	if err != nil {
		return nil, err
	}
	groups, groupOf := clipGroups(def, o.Loop)
	e, err := NewEngine(tg, EngineConfig{
		SaveGraphs: o.SaveGraphs, Session: o.Session, ClipInStep: o.Loop == LoopUpstream, GroupOrder: groups, GroupOf: groupOf,
		MaxGradNorm: h.MaxGradNorm, Beta1: h.AdamBeta1, Beta2: h.AdamBeta2, Eps: h.AdamEpsilon,
		WeightDecay: h.WeightDecay, Seed: o.Seed,
	})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	lf := tg.Labels.DType == graph.Float32
	classes := 0
	if tg.Labels.DType == graph.Int64 {
		classes = int(tg.Logits.Shape[tg.Logits.Rank()-1].Coef)
	}
	so := SourceOptions{Task: def.Task, Vocab: o.Vocab, Features: o.Features, CacheDir: filepath.Join(o.Out, "data"),
		Strict: o.Strict, VocabSize: cfg.VocabSize, Classes: classes}
	data, srep, err := OpenData(o.Data, e.dataIn, lf, so)
	if err != nil {
		return nil, err
	}
	plan := Plan{Loop: o.Loop, BatchSize: h.BatchSize, Accumulation: h.Accumulation, Epochs: h.Epochs,
		MaxSteps: h.MaxSteps, LearningRate: h.LearningRate, Shuffle: o.Shuffle, Seed: o.Seed}
	if o.Loop == LoopUpstream {
		plan.AccumulationOffset = def.Upstream.AccumulationOffset
		plan.OptimizerFirst = def.Upstream.OptimizerFirst
	}
	tTotal := o.TTotal
	if tTotal <= 0 {
		if h.MaxSteps > 0 {
			tTotal = h.MaxSteps
		} else {
			batches := (data.Len() + h.BatchSize - 1) / h.BatchSize
			tTotal = batches / h.Accumulation * max(h.Epochs, 1)
		}
	}
	plan.Schedule = Schedule{Warmup: h.WarmupSteps, Total: tTotal}

	if obs.Start != nil {
		batches := (data.Len() + h.BatchSize - 1) / h.BatchSize
		total := 0
		if h.Epochs > 0 {
			total = (batches*h.Epochs + plan.AccumulationOffset) / h.Accumulation
		}
		if h.MaxSteps > 0 {
			m := h.MaxSteps
			if o.Loop == LoopUpstream {
				m++
			}
			if total == 0 || m < total {
				total = m
			}
		}
		obs.Start(total, data.Len())
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Out, "log.jsonl")
	lf2, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf2.Close()
	bw := bufio.NewWriter(lf2)
	sum, runErr := Run(ctx, e, data, plan, Hooks{OnUpdate: func(u UpdateLog) error {
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		bw.Write(append(b, '\n'))
		if err := bw.Flush(); err != nil {
			return err
		}
		if obs.Update != nil {
			return obs.Update(u)
		}
		return nil
	}})
	if runErr != nil {
		return nil, runErr
	}
	if err := lf2.Sync(); err != nil {
		return nil, err
	}
	res := &Result{Summary: sum, Log: logPath, TTotal: tTotal, Initialized: initialized, Data: srep}
	trained := map[string][]float32{}
	for i, p := range e.Params() {
		trained[p.Key] = e.Value(i)
		res.Trained = append(res.Trained, p.Key)
	}
	// A trainable parameter the loss never reaches (RoBERTa's pooler: not
	// in the training graph at all, or an input without a gradient) keeps
	// its value, as torch skips parameters whose grad is None.
	for _, k := range sortedKeys(all) {
		if _, ok := trained[k]; ok {
			continue
		}
		if frozen[models.ModuleOf(k)] {
			res.Frozen = append(res.Frozen, k)
		} else {
			res.NoGradient = append(res.NoGradient, k)
		}
	}
	dir := filepath.Join(o.Out, fmt.Sprintf("checkpoint-%d", sum.Updates))
	folder := ckpt.Folder{Torch: map[string][]*checkpoint.Tensor{}, JSON: map[string]any{}}
	for _, f := range def.Files {
		mods := map[string]bool{}
		for _, m := range f.Modules {
			mods[m] = true
		}
		var ts []*checkpoint.Tensor
		for _, k := range sortedKeys(all) {
			if !mods[models.ModuleOf(k)] {
				continue
			}
			src := all[k]
			t := &checkpoint.Tensor{Name: f.Rename(k), Shape: src.Shape, DType: checkpoint.Float32, Data: src.Data}
			if v, ok := trained[k]; ok {
				t.Data = append([]float32(nil), v...)
			}
			ts = append(ts, t)
		}
		folder.Torch[f.Name] = ts
	}
	if !def.NoConfig {
		c := map[string]any{}
		for k, v := range roberta {
			c[k] = v
		}
		c["output_hidden_states"] = true
		if def.Task == models.TaskPretrainLin {
			c["output_attentions"] = true
		}
		if !def.Pretraining {
			c["hidden_dropout_prob"] = dropout("roberta", "hidden")
			c["attention_probs_dropout_prob"] = dropout("roberta", "attention")
		} else if o.Dropout >= 0 {
			c["hidden_dropout_prob"], c["attention_probs_dropout_prob"] = o.Dropout, o.Dropout
		}
		for k, v := range def.ConfigExtra {
			c[k] = v
		}
		if !def.Pretraining {
			c["freeze_adapter"] = map[bool]string{true: "True", false: "False"}[frozen["adapters"]]
		}
		if def.Task == models.TaskFIGER {
			c["num_labels"] = tg.Logits.Shape[1].Coef
		}
		folder.JSON["config.json"] = c
	}
	if err := ckpt.Write(dir, folder); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	res.Checkpoint = dir
	return res, nil
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
// FIGER's label count (labels.npy's width), find-head's max_seq_length
// (input_ids' width).
func labelCount(def *tasks.Definition, dir string) int {
	name := ""
	switch def.Task {
	case models.TaskFIGER:
		name = "labels.npy"
	case models.TaskPretrainLin:
		name = "input_ids.npy"
	default:
		return 0
	}
	a, err := npy.ReadFile(filepath.Join(dir, name))
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
