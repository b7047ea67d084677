package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train/ckpt"
	"github.com/kadapter/kadapter/train/curves"
)

// Files kadapter adds to a checkpoint folder besides the original's.
const (
	modelFile     = "model.safetensors"     // every tensor, canonical keys
	optimizerFile = "optimizer.safetensors" // exp_avg/<key>, exp_avg_sq/<key>
	stateFile     = "trainer_state.json"
)

// trainerState is trainer_state.json: where the run stands and what it
// saw, without timings, so a resumed run writes the same bytes as an
// uninterrupted one.
type trainerState struct {
	Task           string      `json:"task"`
	Loop           string      `json:"loop"`
	Seed           uint64      `json:"seed"`
	Position       Position    `json:"position"`
	AdamSteps      int         `json:"adam_steps"`
	Metric         string      `json:"metric,omitempty"`
	BestMetric     *float64    `json:"best_metric,omitempty"`
	BestCheckpoint string      `json:"best_checkpoint,omitempty"`
	LogHistory     []stateLine `json:"log_history"`
}

// stateLine is one update in trainer_state.json's history.
type stateLine struct {
	Step      int                `json:"step"`
	LR        float64            `json:"lr"`
	Loss      float64            `json:"loss"`
	GradNorms map[string]float64 `json:"grad_norms,omitempty"`
	Dev       map[string]float64 `json:"dev,omitempty"`
}

// job is one training run being assembled and executed.
type job struct {
	o      Options
	def    *tasks.Definition
	frozen map[string]bool
	all    map[string]*checkpoint.Tensor // every tensor checkpoints hold, canonical keys
	// fromSource are frozen tensors no checkpoint file holds (RoBERTa in
	// pre-training): read from the sources, then dropped once the graphs
	// are built.
	fromSource []string
	roberta    map[string]any // RoBERTa's config.json
	dropout    func(module, kind string) float64
	logits     *graph.Value
	e          *Engine
	data       Data
	dev        *evaluator
	plan       Plan
	res        *Result
	state      trainerState
	saved      []string // checkpoint folders written by this run or found, oldest first
}

func newJob(o Options) (*job, error) {
	def, err := tasks.Get(o.Task)
	if err != nil {
		return nil, err
	}
	h := o.Hyper
	if h.BatchSize <= 0 || h.Accumulation <= 0 {
		return nil, fmt.Errorf("--batch-size and --gradient-accumulation-steps must be positive")
	}
	o.Session = trainingSession(o.Session)
	j := &job{o: o, def: def, res: &Result{}}
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
	if is.Labels == 0 && def.Graph.SeqClasses {
		// The head has max_seq_length classes.
		is.Labels = o.Features.MaxSeqLength
		if is.Labels == 0 {
			is.Labels = features.DefaultMaxSeqLength(string(def.Task))
		}
	}
	if j.res.Initialized, err = InitMissing(def, w, cfg.HiddenSize, is); err != nil {
		return nil, err
	}
	if j.frozen, err = frozenModules(def, o.Freeze); err != nil {
		return nil, err
	}
	// Resuming: every tensor and the moments come from the checkpoint
	// (frozen tensors no checkpoint file holds come from the sources).
	var resumeDir string
	var moments map[string]*checkpoint.Tensor
	if o.Resume != "" {
		if resumeDir, err = findResume(o.Out, o.Resume); err != nil {
			return nil, err
		}
		if err := j.readState(resumeDir); err != nil {
			return nil, err
		}
		saved, err := checkpoint.Load(filepath.Join(resumeDir, modelFile))
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		for _, k := range w.Keys() {
			t, ok := saved[k]
			if !ok && j.sourceOnly(k) {
				continue
			}
			if !ok {
				return nil, fmt.Errorf("resume: %s has no %s", filepath.Join(resumeDir, modelFile), k)
			}
			if err := replaceTensor(w, k, t); err != nil {
				return nil, err
			}
		}
		if moments, err = checkpoint.Load(filepath.Join(resumeDir, optimizerFile)); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		j.res.ResumedFrom = resumeDir
	}
	// Keep every tensor for the checkpoints: building hands transposed
	// copies of frozen Linear weights to the graph and drops the originals.
	j.all = map[string]*checkpoint.Tensor{}
	for _, k := range w.Keys() {
		j.all[k] = w.Get(k)
	}
	if j.roberta, err = readJSON(configPath(o.Sources.Roberta)); err != nil {
		return nil, err
	}
	j.dropout = func(module, kind string) float64 {
		if def.Pretraining && module == "roberta" {
			return 0 // RoBERTa runs in eval() during pre-training
		}
		if o.Dropout >= 0 {
			return o.Dropout
		}
		switch module {
		case "roberta":
			if kind == "attention" {
				return number(j.roberta["attention_probs_dropout_prob"], 0.1)
			}
			return number(j.roberta["hidden_dropout_prob"], 0.1)
		case "head":
			return number(j.roberta["hidden_dropout_prob"], 0.1)
		}
		return 0.1 // AdapterConfig's hard-coded probabilities
	}
	spec := models.Spec{Task: def.Task, Roberta: cfg, Fusion: o.Fusion, ARate: o.ARate, BRate: o.BRate,
		Adapter: models.AdapterConfig{List: o.AdapterList, SkipLayers: o.SkipLayers, Heads: o.AdapterHeads}}
	trainable := func(key string) bool { return !j.frozen[models.ModuleOf(key)] }
	// Frozen weights: a frozen RoBERTa in front of the trained adapters
	// (pre-training) runs forward only and stays an initializer, which
	// ONNX Runtime maps and pre-packs (measured 8% faster per update than
	// as an input on bench/train trex-rc); frozen adapters between a
	// trained RoBERTa and the loss (fine-tuning) are read by the forward
	// and the backward pass, where initializers get transposed and
	// pre-packed copies, so they are inputs over the loaded tensors.
	frozenInputs := !def.Pretraining
	tg, err := models.BuildTrain(spec, j.weights(), models.TrainSpec{Trainable: trainable, Dropout: j.dropout, Recompute: o.Recompute, FrozenInputs: frozenInputs})
	if err != nil {
		return nil, err
	}
	j.logits = tg.Logits
	groups, groupOf := clipGroups(def, o.Loop)
	j.e, err = NewEngine(tg, EngineConfig{
		SaveGraphs: o.SaveGraphs, Session: o.Session, ScratchDir: o.Out, Accumulation: h.Accumulation, ClipInStep: o.Loop == LoopUpstream, GroupOrder: groups,
		GroupOf: groupOf, MaxGradNorm: h.MaxGradNorm, Beta1: h.AdamBeta1, Beta2: h.AdamBeta2, Eps: h.AdamEpsilon,
		WeightDecay: h.WeightDecay, Seed: o.Seed,
	})
	if err != nil {
		return nil, err
	}
	lf := tg.Labels.DType == graph.Float32
	classes := 0
	if tg.Labels.DType == graph.Int64 {
		classes = int(tg.Logits.Shape[tg.Logits.Rank()-1].Coef)
	}
	so := SourceOptions{Task: def.Task, Vocab: o.Vocab, Features: o.Features, CacheDir: filepath.Join(o.Out, "data"),
		Strict: o.Strict, VocabSize: cfg.VocabSize, Classes: classes}
	if j.data, j.res.Data, err = OpenData(o.Data, j.e.dataIn, lf, so); err != nil {
		j.close()
		return nil, err
	}
	if o.Dev != "" {
		dev, rep, err := OpenData(o.Dev, j.e.dataIn, lf, so)
		if err != nil {
			j.close()
			return nil, fmt.Errorf("--dev: %w", err)
		}
		j.res.DevData = &rep
		dg, err := models.BuildTrain(spec, j.weights(), models.TrainSpec{Trainable: trainable, FrozenInputs: frozenInputs})
		if err != nil {
			j.close()
			return nil, err
		}
		if j.dev, err = newEvaluator(dg, j.e, dev, max(h.BatchSize, 8), o.Session, o.Out); err != nil {
			j.close()
			return nil, err
		}
	}
	if resumeDir != "" {
		values := map[string][]float32{}
		m, v := map[string][]float32{}, map[string][]float32{}
		for _, p := range j.e.Params() {
			values[p.Key] = j.all[p.Key].Data
			mt, vt := moments["exp_avg/"+p.Key], moments["exp_avg_sq/"+p.Key]
			if mt == nil || vt == nil {
				j.close()
				return nil, fmt.Errorf("resume: %s has no moments of %s", filepath.Join(resumeDir, optimizerFile), p.Key)
			}
			m[p.Key], v[p.Key] = mt.Data, vt.Data
		}
		if err := j.e.Restore(values, m, v, j.state.AdamSteps, j.state.Position.MicroBatches); err != nil {
			j.close()
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	j.release()
	j.res.StateBytes = j.e.StateBytes()
	j.plan = Plan{Loop: o.Loop, BatchSize: h.BatchSize, Accumulation: h.Accumulation, Epochs: h.Epochs,
		MaxSteps: h.MaxSteps, LearningRate: h.LearningRate, Shuffle: o.Shuffle, Seed: o.Seed, Start: j.state.Position}
	if o.Loop == LoopUpstream {
		j.plan.AccumulationOffset = def.Upstream.AccumulationOffset
		j.plan.OptimizerFirst = def.Upstream.OptimizerFirst
	}
	tTotal := o.TTotal
	if tTotal <= 0 {
		if h.MaxSteps > 0 {
			tTotal = h.MaxSteps
		} else {
			batches := (j.data.Len() + h.BatchSize - 1) / h.BatchSize
			tTotal = batches / h.Accumulation * max(h.Epochs, 1)
		}
	}
	j.plan.Schedule = Schedule{Warmup: h.WarmupSteps, Total: tTotal}
	j.res.TTotal = tTotal
	j.res.Metric = o.Metric
	if j.res.Metric == "" {
		j.res.Metric = def.Metric
	}
	j.state.Task, j.state.Loop, j.state.Seed, j.state.Metric = string(def.Task), string(o.Loop), o.Seed, j.res.Metric
	return j, nil
}

// sourceOnly reports whether key is frozen and written by no file of the
// task's checkpoints (RoBERTa in pre-training).
func (j *job) sourceOnly(key string) bool {
	mod := models.ModuleOf(key)
	if !j.frozen[mod] {
		return false
	}
	for _, f := range j.def.Files {
		for _, m := range f.Modules {
			if m == mod {
				return false
			}
		}
	}
	return true
}

// release runs once the sessions are open: the trained tensors of j.all
// become views of the engine's parameters (a checkpoint writes them
// without a copy; the loaded originals are freed), and the frozen tensors
// no checkpoint holds leave j.all (the engine feeds them to the graphs),
// and the freed heap goes back to the system.
func (j *job) release() {
	for i, p := range j.e.Params() {
		if t := j.all[p.Key]; t != nil {
			t.Data = j.e.Value(i)
		}
	}
	for _, k := range sortedKeys(j.all) {
		if j.sourceOnly(k) {
			j.fromSource = append(j.fromSource, k)
			delete(j.all, k)
		}
	}
	debug.FreeOSMemory()
}

// weights returns a fresh Weights holding every tensor (each graph build
// consumes its own).
func (j *job) weights() *models.Weights {
	w := models.NewWeights()
	for _, k := range sortedKeys(j.all) {
		w.Set(k, "(training)", j.all[k])
	}
	return w
}

func (j *job) close() {
	j.dev.close()
	if j.e != nil {
		j.e.Close()
	}
}

func (j *job) run(ctx context.Context, obs Observer) (*Result, error) {
	o, h := j.o, j.o.Hyper
	if obs.Start != nil {
		batches := (j.data.Len() + h.BatchSize - 1) / h.BatchSize
		total := 0
		if h.Epochs > 0 {
			total = (batches*h.Epochs + j.plan.AccumulationOffset) / h.Accumulation
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
		obs.Start(total, j.data.Len())
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	j.res.Log = filepath.Join(o.Out, "log.jsonl")
	j.res.Curves = filepath.Join(o.Out, "curves.svg")
	logf, history, err := j.openLog()
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	bw := bufio.NewWriter(logf)
	lastSaved := j.state.Position.Updates
	var lastPos *Position
	sum, runErr := Run(ctx, j.e, j.data, j.plan, Hooks{OnUpdate: func(u UpdateLog) error {
		pos := u.Position
		lastPos = &pos
		evaluated := j.dev != nil && o.EvalSteps > 0 && u.Step%o.EvalSteps == 0
		if evaluated {
			dev, err := j.dev.run(ctx, j.e, j.def)
			if err != nil {
				return err
			}
			u.Dev = dev
			j.res.Dev = dev
		}
		j.state.Position, j.state.AdamSteps = pos, j.e.Updates()
		j.state.LogHistory = append(j.state.LogHistory, stateLine{Step: u.Step, LR: u.LR, Loss: u.Loss, GradNorms: u.GradNorms, Dev: u.Dev})
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		bw.Write(append(b, '\n'))
		if err := bw.Flush(); err != nil {
			return err
		}
		history = append(history, u)
		better := evaluated && j.improves(u.Dev)
		if better || (o.SaveSteps > 0 && u.Step%o.SaveSteps == 0) {
			if err := j.save(u.Step, better, obs); err != nil {
				return err
			}
			lastSaved = u.Step
		}
		if evaluated {
			j.drawCurves(history)
		}
		if obs.Update != nil {
			return obs.Update(u)
		}
		return nil
	}})
	j.res.Summary = sum
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			ie := &InterruptedError{Err: runErr, Updates: sum.Updates}
			// Save the last completed update (the partial accumulation
			// after it is redone on resume).
			if lastPos != nil && lastSaved != lastPos.Updates {
				if err := j.save(lastPos.Updates, false, obs); err != nil {
					return nil, fmt.Errorf("%v; saving the last update failed: %w", ie, err)
				}
			}
			if len(j.saved) > 0 {
				ie.Checkpoint = j.saved[len(j.saved)-1]
			}
			return nil, ie
		}
		return nil, runErr
	}
	if err := logf.Sync(); err != nil {
		return nil, err
	}
	if j.dev != nil && (o.EvalSteps <= 0 || sum.Updates%o.EvalSteps != 0) {
		dev, err := j.dev.run(ctx, j.e, j.def)
		if err != nil {
			return nil, err
		}
		j.res.Dev = dev
		if len(j.state.LogHistory) > 0 {
			j.state.LogHistory[len(j.state.LogHistory)-1].Dev = dev
		}
		if len(history) > 0 {
			history[len(history)-1].Dev = dev
		}
		if j.improves(dev) {
			lastSaved = -1
			if err := j.save(sum.Updates, true, obs); err != nil {
				return nil, err
			}
		}
	}
	if lastSaved != sum.Updates {
		if err := j.save(sum.Updates, false, obs); err != nil {
			return nil, err
		}
	}
	j.drawCurves(history)
	j.res.Checkpoint = filepath.Join(o.Out, fmt.Sprintf("checkpoint-%d", sum.Updates))
	if j.state.BestCheckpoint != "" {
		j.res.Best = filepath.Join(o.Out, j.state.BestCheckpoint)
	}
	if j.state.BestMetric != nil {
		j.res.BestMetric = *j.state.BestMetric
	}
	trained := map[string]bool{}
	for _, p := range j.e.Params() {
		trained[p.Key] = true
		j.res.Trained = append(j.res.Trained, p.Key)
	}
	// A trainable parameter the loss never reaches (RoBERTa's pooler) keeps
	// its value, as torch skips parameters whose grad is None.
	for _, k := range sortedKeys(j.all) {
		switch {
		case trained[k]:
		case j.frozen[models.ModuleOf(k)]:
			j.res.Frozen = append(j.res.Frozen, k)
		default:
			j.res.NoGradient = append(j.res.NoGradient, k)
		}
	}
	j.res.Frozen = append(j.res.Frozen, j.fromSource...)
	sort.Strings(j.res.Frozen)
	return j.res, nil
}

// improves reports whether dev beats the best so far (recording it).
func (j *job) improves(dev map[string]float64) bool {
	v, ok := dev[j.res.Metric]
	if !ok || math.IsNaN(v) {
		return false
	}
	better := j.state.BestMetric == nil
	if !better {
		if j.res.Metric == "loss" {
			better = v < *j.state.BestMetric
		} else {
			better = v > *j.state.BestMetric
		}
	}
	if better {
		j.state.BestMetric = &v
	}
	return better
}

// save writes checkpoint-step: the original's files, model.safetensors,
// optimizer.safetensors and trainer_state.json, atomically, then prunes
// old checkpoints beyond SaveTotalLimit (never the best).
func (j *job) save(step int, best bool, obs Observer) error {
	dir := filepath.Join(j.o.Out, fmt.Sprintf("checkpoint-%d", step))
	if best {
		j.state.BestCheckpoint = filepath.Base(dir) // relative to --out: the bytes do not depend on the path
	}
	folder := ckpt.Folder{Torch: map[string][]*checkpoint.Tensor{}, JSON: map[string]any{},
		Safetensors: map[string][]*checkpoint.Tensor{}}
	var moments []*checkpoint.Tensor
	for i, p := range j.e.Params() {
		m, v := j.e.Moments(i)
		shape := j.all[p.Key].Shape
		moments = append(moments,
			&checkpoint.Tensor{Name: "exp_avg/" + p.Key, Shape: shape, DType: checkpoint.Float32, Data: m},
			&checkpoint.Tensor{Name: "exp_avg_sq/" + p.Key, Shape: shape, DType: checkpoint.Float32, Data: v})
	}
	// Trained tensors are views of the engine's parameters (see release).
	tensor := func(k, name string) *checkpoint.Tensor {
		src := j.all[k]
		return &checkpoint.Tensor{Name: name, Shape: src.Shape, DType: checkpoint.Float32, Data: src.Data}
	}
	for _, f := range j.def.Files {
		mods := map[string]bool{}
		for _, m := range f.Modules {
			mods[m] = true
		}
		var ts []*checkpoint.Tensor
		for _, k := range sortedKeys(j.all) {
			if mods[models.ModuleOf(k)] {
				ts = append(ts, tensor(k, f.Rename(k)))
			}
		}
		folder.Torch[f.Name] = ts
	}
	var everything []*checkpoint.Tensor
	for _, k := range sortedKeys(j.all) {
		everything = append(everything, tensor(k, k))
	}
	folder.Safetensors[modelFile] = everything
	folder.Safetensors[optimizerFile] = moments
	if !j.def.NoConfig {
		folder.JSON["config.json"] = j.config()
	}
	folder.JSON[stateFile] = j.state
	if err := ckpt.Write(dir, folder); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	j.saved = append(j.saved, dir)
	if obs.Saved != nil {
		obs.Saved(dir)
	}
	return j.prune()
}

// prune removes the oldest checkpoints beyond the limit, keeping the best.
func (j *job) prune() error {
	limit := j.o.SaveTotalLimit
	if limit <= 0 {
		return nil
	}
	all, err := checkpoints(j.o.Out)
	if err != nil {
		return err
	}
	var keep []string
	for i := len(all) - 1; i >= 0; i-- {
		d := all[i]
		if filepath.Base(d) == j.state.BestCheckpoint {
			continue
		}
		if len(keep) < limit {
			keep = append(keep, d)
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// config is the config.json the script writes: RoBERTa's config with the
// dropout used, output_hidden_states, and the task's additions.
func (j *job) config() map[string]any {
	c := map[string]any{}
	for k, v := range j.roberta {
		c[k] = v
	}
	c["output_hidden_states"] = true
	if !j.def.Pretraining {
		c["hidden_dropout_prob"] = j.dropout("roberta", "hidden")
		c["attention_probs_dropout_prob"] = j.dropout("roberta", "attention")
	} else if j.o.Dropout >= 0 {
		c["hidden_dropout_prob"], c["attention_probs_dropout_prob"] = j.o.Dropout, j.o.Dropout
	}
	for k, v := range j.def.ConfigExtra {
		c[k] = v
	}
	if !j.def.Pretraining {
		c["freeze_adapter"] = map[bool]string{true: "True", false: "False"}[j.frozen["adapters"]]
	}
	if j.def.ConfigNumLabels {
		c["num_labels"] = j.logits.Shape[1].Coef
	}
	return c
}

// drawCurves writes curves.svg: training loss (and dev loss), dev metric.
func (j *job) drawCurves(history []UpdateLog) {
	var xs, ys, dx, dl, dm []float64
	for _, u := range history {
		xs, ys = append(xs, float64(u.Step)), append(ys, u.Loss)
		if u.Dev != nil {
			dx = append(dx, float64(u.Step))
			dl = append(dl, u.Dev["loss"])
			dm = append(dm, u.Dev[j.res.Metric])
		}
	}
	panels := []curves.Panel{{Title: "loss", YLabel: "loss", Series: []curves.Series{{Name: "train", X: xs, Y: ys}}}}
	if len(dx) > 0 {
		panels[0].Series = append(panels[0].Series, curves.Series{Name: "dev", X: dx, Y: dl, Points: len(dx) < 3})
		panels = append(panels, curves.Panel{Title: "dev " + j.res.Metric, YLabel: j.res.Metric,
			Series: []curves.Series{{Name: j.res.Metric, X: dx, Y: dm, Color: "#2ca02c", Points: len(dx) < 3}}})
	}
	atomicfile.WriteFile(j.res.Curves, curves.SVG(fmt.Sprintf("krun train %s", j.def.Task), panels))
}

// openLog opens log.jsonl: truncated for a new run, cut after the resumed
// update for a resumed one, whose kept updates it returns (for the curves).
func (j *job) openLog() (*os.File, []UpdateLog, error) {
	path := j.res.Log
	if j.o.Resume == "" {
		f, err := os.Create(path)
		return f, nil, err
	}
	var keep []byte
	var history []UpdateLog
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var u UpdateLog
			if json.Unmarshal(sc.Bytes(), &u) == nil && u.Step <= j.state.Position.Updates {
				keep = append(append(keep, sc.Bytes()...), '\n')
				history = append(history, u)
			}
		}
		f.Close()
	}
	if err := atomicfile.WriteFile(path, keep); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	return f, history, err
}

func (j *job) readState(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := json.Unmarshal(b, &j.state); err != nil {
		return fmt.Errorf("resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if j.state.Task != "" && j.state.Task != string(j.def.Task) {
		return fmt.Errorf("resume: %s is a %s checkpoint, not %s", dir, j.state.Task, j.def.Task)
	}
	if j.state.Loop != "" && j.state.Loop != string(j.o.Loop) {
		return fmt.Errorf("resume: %s was trained with --loop %s", dir, j.state.Loop)
	}
	if j.state.Seed != j.o.Seed {
		return fmt.Errorf("resume: %s was trained with --seed %d (the data order and dropout depend on it)", dir, j.state.Seed)
	}
	return nil
}

var checkpointName = regexp.MustCompile(`^checkpoint-(\d+)$`)

// checkpoints lists out's checkpoint-N folders by N.
func checkpoints(out string) ([]string, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	type cp struct {
		n   int
		dir string
	}
	var cps []cp
	for _, e := range ents {
		if m := checkpointName.FindStringSubmatch(e.Name()); m != nil && e.IsDir() {
			n, _ := strconv.Atoi(m[1])
			cps = append(cps, cp{n, filepath.Join(out, e.Name())})
		}
	}
	sort.Slice(cps, func(a, b int) bool { return cps[a].n < cps[b].n })
	out2 := make([]string, len(cps))
	for i, c := range cps {
		out2[i] = c.dir
	}
	return out2, nil
}

// findResume resolves --resume: "last" (the newest checkpoint-N of out
// with a trainer_state.json) or a folder.
func findResume(out, resume string) (string, error) {
	if resume != "last" {
		if _, err := os.Stat(filepath.Join(resume, stateFile)); err != nil {
			return "", fmt.Errorf("--resume %s: not a kadapter checkpoint (%v)", resume, err)
		}
		return resume, nil
	}
	all, err := checkpoints(out)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(all[i], stateFile)); err == nil {
			return all[i], nil
		}
	}
	return "", fmt.Errorf("--resume: no checkpoint-N with %s in %s", stateFile, out)
}

// replaceTensor puts t's data under key (shapes must agree).
func replaceTensor(w *models.Weights, key string, t *checkpoint.Tensor) error {
	old := w.Get(key)
	if old == nil {
		return fmt.Errorf("resume: the model has no %s", key)
	}
	if !slices.Equal(old.Shape, t.Shape) {
		return fmt.Errorf("resume: %s has shape %v in the checkpoint, %v in the model", key, t.Shape, old.Shape)
	}
	old.Data = t.Data
	return nil
}
