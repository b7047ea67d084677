package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train"
)

func init() {
	program.Register(&cli.Command{
		Name:    "train",
		Summary: "pre-train an adapter or fine-tune a task model (ONNX training graphs on ONNX Runtime)",
		Run:     runTrain,
	})
}

// trainSummary is train's --json output.
type trainSummary struct {
	Task         string            `json:"task"`
	Loop         string            `json:"loop"`
	Hyper        tasks.Hyper       `json:"hyperparameters"`
	Result       *train.Result     `json:"result"`
	PeakRSSBytes int64             `json:"peak_rss_bytes"`
	SecondsPer   float64           `json:"seconds_per_update"`
	Last         *train.UpdateLog  `json:"last_update,omitempty"`
	Settings     map[string]string `json:"settings"`
}

func runTrain(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "train", "--task T --roberta DIR [--task-model FILE | --fac FILE | --lin FILE] --data DIR --out DIR [flags]", `
Trains a K-Adapter model with training graphs that kadapter generates and
runs on ONNX Runtime: a step graph (forward, the task's loss, backward,
gradient accumulation) and an AdamW graph. Parameters, gradients and Adam's
moments stay in memory between steps.

Pre-training tasks train the adapter model with RoBERTa frozen:
  trex-rc    fac-adapter.py (relation classification; --fac gives the start)
  find-head  lin-adapter.py (dependency heads; --lin gives the start)
Without --fac/--lin a new adapter model is initialized as the original
does (seeded: projections N(0, 2e-4), other layers PyTorch's defaults;
sizes from --adapter-size, --adapter-transformer-layers,
--adapter-intermediate); without --task-model a fine-tuning task gets new
fusion layers and head (PyTorch's defaults) on the --fac/--lin adapters.
Fine-tuning tasks train what the shipped scripts train by default: RoBERTa,
the fusion layers and the head, with the adapters frozen (--freeze):
  tacred, openentity, figer, cosmosqa (--task-model gives adapters, fusion
  and head, as krun export reads it)

--data is a folder of .npy arrays named after the graph inputs
(input_ids, attention_mask, subj_pos/obj_pos or entity_pos; the original
one-hot marker files subj_special_start_id.npy, obj_special_start_id.npy,
start_id.npy are accepted too) plus labels.npy, examples on axis 0.
--batch-size is examples per forward pass; one update accumulates
--gradient-accumulation-steps of them.

--loop upstream reproduces each original script's own loop (its order of
scheduler and optimizer calls, clipping after every micro-batch, CosmosQA's
accumulation offset, max_steps+1 updates); --loop standard (default) is the
corrected loop. Defaults of every hyper-parameter are the task's script's.
--out receives log.jsonl (one JSON object per update) and checkpoint-N/
with the files the original writes (torch legacy format), readable by
krun export and by the original code. See docs/train.md.`, env.Stderr)
	taskName := fs.String("task", "", "trex-rc, find-head, tacred, openentity, figer or cosmosqa (required)")
	roberta := fs.String("roberta", "", "RoBERTa folder (config.json + weights) (required)")
	taskModel := fs.String("task-model", "", "fine-tuning: task checkpoint (adapters + fusion + head)")
	fac := fs.String("fac", "", "pre-trained fac-adapter file (trex-rc: the adapter model to train)")
	lin := fs.String("lin", "", "pre-trained lin-adapter file (find-head: the adapter model to train)")
	fusion := fs.String("fusion", "concat", "fusion of RoBERTa and adapter outputs: concat or add")
	list := fs.String("adapter-list", "0,11,22", "hidden-state taps, one adapter each (0 = embeddings)")
	heads := fs.Int("adapter-heads", 12, "attention heads of the adapter encoder layers")
	skip := fs.Int("adapter-skip-layers", 0, "adapter_skip_layers as the original computes it (0 = off)")
	aRate := fs.Float64("a-rate", 0, "cosmosqa: weight of RoBERTa's output (required for cosmosqa)")
	bRate := fs.Float64("b-rate", 0, "cosmosqa: weight of the adapter chain output (required for cosmosqa)")
	data := fs.String("data", "", "training data: a folder of .npy arrays, kprep features' .arrow, kprep trex's train.arrow, or the task's original data file (required)")
	vocab := fs.String("vocab", "", "tokenizer folder (vocab.json + merges.txt) for original data files")
	labelsFile := fs.String("labels", "", "label list (JSON array of strings; figer: labels.json, or a train.json to build it from)")
	maxSeqLen := fs.Int("max-seq-length", 0, "original data files: max_seq_length (0 = the script's)")
	negSample := fs.Int("negative-sample", 0, "tacred/trex-rc original data: keep the first N-1 no_relation records (0 = off)")
	headMapping := fs.String("head-mapping", "original", "find-head original data: original or first-subtoken label mapping")
	strict := fs.Bool("strict", false, "stop at the first rejected record instead of skipping and counting it")
	out := fs.String("out", "", "output folder: log.jsonl, curves.svg, checkpoint-N/ (required)")
	dev := fs.String("dev", "", "dev data (same forms as --data), scored every --eval-steps updates and at the end")
	evalSteps := fs.Int("eval-steps", 0, "score --dev every N updates (0: only at the end)")
	metric := fs.String("metric", "", "dev score that picks the best checkpoint (default: the task's headline: micro_f1 or accuracy; loss minimises)")
	saveSteps := fs.Int("save-steps", 0, "write a checkpoint every N updates (0: only at the end, and at a new best)")
	saveLimit := fs.Int("save-total-limit", 0, "keep only the newest K checkpoints besides the best (0: all)")
	var resume resumeFlag
	fs.Var(&resume, "resume", "continue from the newest checkpoint in --out (--resume), or from a checkpoint folder (--resume=DIR)")
	epochs := fs.Int("epochs", 0, "passes over the data (default: the script's)")
	maxSteps := fs.Int("max-steps", 0, "stop after this many updates (upstream loop: one more, as the scripts do)")
	tTotal := fs.Int("t-total", 0, "schedule horizon in updates (default: as the original computes it)")
	batch := fs.Int("batch-size", 0, "examples per forward pass (default: the script's DataLoader batch)")
	accum := fs.Int("gradient-accumulation-steps", 0, "micro-batches per update (default: the script's)")
	lr := fs.Float64("learning-rate", 0, "peak learning rate (default: the script's)")
	warmup := fs.Int("warmup-steps", -1, "linear warm-up updates (default: the script's)")
	wd := fs.Float64("weight-decay", -1, "AdamW weight decay, not applied to bias and LayerNorm.weight (default: the script's)")
	eps := fs.Float64("adam-epsilon", 0, "AdamW epsilon (default: the script's)")
	clip := fs.Float64("max-grad-norm", -1, "gradient clipping bound, per clip group (0 = no clipping; default: the script's)")
	freeze := fs.String("freeze", "", "what stays constant: roberta, adapters or none (default: roberta for pre-training, adapters for fine-tuning)")
	dropout := fs.Float64("dropout", -1, "drop probability of every dropout site (default: config.json's, 0.1 in adapters)")
	shuffle := fs.Bool("shuffle", true, "shuffle the examples every epoch (seeded)")
	seed := fs.Uint64("seed", 42, "seed of the example order and the dropout masks")
	loopName := fs.String("loop", "standard", "standard (corrected loop) or upstream (each script's own loop)")
	threads := fs.Int("threads", 0, "ONNX Runtime intra-op threads (0 = one per core)")
	graphOpt := fs.String("graph-opt", "all", "ONNX Runtime graph optimization: disable, basic, extended or all")
	device := fs.String("device", "cpu", "cpu or cuda[:N]")
	adapterSize := fs.Int("adapter-size", 768, "width of a new adapter (when no --fac/--lin file gives one)")
	adapterLayers := fs.Int("adapter-transformer-layers", 2, "encoder layers of a new adapter")
	adapterInter := fs.Int("adapter-intermediate", 3072, "intermediate size of a new adapter's layers")
	numLabels := fs.Int("num-labels", 0, "figer: labels of a new head (default: labels.npy's width); find-head: max_seq_length (default: input_ids' width)")
	saveGraphs := fs.String("save-graphs", "", "also write the training graphs (step.onnx, adamw.onnx) to this folder")
	recompute := fs.Bool("recompute", false, "recompute each trained transformer layer's forward in the backward pass instead of storing its activations (less memory, about one more forward)")
	quiet := fs.Bool("quiet", false, "no progress output")
	asJSON := fs.Bool("json", false, "print a machine-readable summary on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 1 && resume == "last" {
		resume = resumeFlag(fs.Arg(0)) // --resume DIR
	} else if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *taskName == "" || *roberta == "" || *data == "" || *out == "" {
		return cli.Usagef("--task, --roberta, --data and --out are required")
	}
	def, err := tasks.Get(*taskName)
	if err != nil {
		return cli.Usagef("--task: %v", err)
	}
	loop, err := train.ParseLoop(*loopName)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	taps, err := models.ParseIntList(*list)
	if err != nil {
		return cli.Usagef("--adapter-list: %v", err)
	}
	if *skip == 1 || *skip < 0 {
		return cli.Usagef("--adapter-skip-layers must be 0 or at least 2 (1 makes the original raise IndexError)")
	}
	if def.Graph.Rates && (*aRate == 0 || *bRate == 0) {
		return cli.Usagef("%s needs --a-rate and --b-rate (the original defines no default)", def.Task)
	}
	if *dropout >= 1 {
		return cli.Usagef("--dropout must be below 1")
	}
	opt, err := krt.ParseOptLevel(*graphOpt)
	if err != nil {
		return cli.Usagef("--graph-opt: %v", err)
	}
	deviceOpt, err := krt.ParseDevice(*device)
	if err != nil {
		return cli.Usagef("--device: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	h := def.Defaults
	if set["epochs"] || set["max-steps"] {
		h.Epochs, h.MaxSteps = *epochs, *maxSteps
	}
	if set["gradient-accumulation-steps"] {
		h.Accumulation = *accum
	}
	if set["batch-size"] {
		h.BatchSize = *batch
	} else if !def.Upstream.UndividedBatch && h.Accumulation > 1 {
		// The scripts' DataLoader batch is the per-GPU batch divided by the
		// accumulation steps (fac-adapter.py excepted).
		h.BatchSize = max(1, h.BatchSize/h.Accumulation)
	}
	if set["learning-rate"] {
		h.LearningRate = *lr
	}
	if set["warmup-steps"] {
		h.WarmupSteps = *warmup
	}
	if set["weight-decay"] {
		h.WeightDecay = *wd
	}
	if set["adam-epsilon"] {
		h.AdamEpsilon = *eps
	}
	if set["max-grad-norm"] {
		h.MaxGradNorm = *clip
	}
	if *maxSeqLen > 0 {
		// The summary reports the length the converters used.
		h.MaxSeqLength = *maxSeqLen
	}
	for name, bad := range map[string]bool{
		"--batch-size": h.BatchSize <= 0, "--gradient-accumulation-steps": h.Accumulation <= 0,
		"--learning-rate": h.LearningRate <= 0, "--warmup-steps": h.WarmupSteps < 0,
		"--weight-decay": h.WeightDecay < 0, "--adam-epsilon": h.AdamEpsilon <= 0,
		"--max-grad-norm": h.MaxGradNorm < 0, "--epochs/--max-steps": h.Epochs < 0 || h.MaxSteps < 0 || (h.Epochs == 0 && h.MaxSteps == 0),
	} {
		if bad {
			return cli.Usagef("%s: bad value", name)
		}
	}
	fcfg := features.Config{MaxSeqLength: *maxSeqLen, NegativeSample: *negSample}
	switch *headMapping {
	case "original":
	case "first-subtoken":
		fcfg.HeadMapping = features.HeadMappingFirstSubToken
	default:
		return cli.Usagef("--head-mapping must be original or first-subtoken")
	}
	if *labelsFile != "" {
		ls, err := features.ReadLabels(*labelsFile)
		if err != nil {
			return err
		}
		fcfg.Labels = ls
	}
	if *evalSteps < 0 || *saveSteps < 0 || *saveLimit < 0 {
		return cli.Usagef("--eval-steps, --save-steps and --save-total-limit must be >= 0")
	}
	if *evalSteps > 0 && *dev == "" {
		return cli.Usagef("--eval-steps needs --dev")
	}
	o := train.Options{Dev: *dev, EvalSteps: *evalSteps, Metric: *metric, SaveSteps: *saveSteps,
		SaveTotalLimit: *saveLimit, Resume: string(resume),
		Vocab: *vocab, Features: fcfg, Strict: *strict, Task: string(def.Task), Sources: models.Sources{Roberta: *roberta, TaskModel: *taskModel, Fac: *fac, Lin: *lin},
		Fusion: *fusion, AdapterList: taps, AdapterHeads: *heads, SkipLayers: *skip, ARate: *aRate, BRate: *bRate,
		Data: *data, Out: *out, Hyper: h, TTotal: *tTotal, Freeze: *freeze, Dropout: *dropout,
		Shuffle: *shuffle, Seed: *seed, Loop: loop,
		Session:    krt.Options{Device: deviceOpt, IntraOpThreads: *threads, Optimization: opt},
		SaveGraphs: *saveGraphs, Recompute: *recompute,
		Init: train.InitSpec{AdapterSize: *adapterSize, AdapterLayers: *adapterLayers,
			AdapterIntermediate: *adapterInter, Labels: *numLabels}}

	prog := newTrainProgress(env.Stderr, *quiet)
	var last train.UpdateLog
	res, err := train.Train(ctx, o, train.Observer{
		Start: prog.start,
		Update: func(u train.UpdateLog) error {
			last = u
			prog.update(u)
			return nil
		},
		Saved: prog.saved,
	})
	prog.finish()
	if err != nil {
		var ie *train.InterruptedError
		if errors.As(err, &ie) {
			if ie.Checkpoint == "" {
				return cli.Interrupted(ie.Err, "no update was complete, nothing saved; run again to start over")
			}
			return cli.Interrupted(ie.Err, fmt.Sprintf("saved %s after %d updates; run the same command with --resume to continue", ie.Checkpoint, ie.Updates))
		}
		return err
	}
	sum := trainSummary{Task: string(def.Task), Loop: string(loop), Hyper: h, Result: res, PeakRSSBytes: peakRSS(),
		Settings: map[string]string{"freeze": *freeze, "device": deviceOpt.String(), "graph_opt": string(opt), "data": *data}}
	if res.Updates > 0 {
		sum.SecondsPer = res.Seconds / float64(res.Updates)
		sum.Last = &last
	}
	if *asJSON {
		return rtWriteJSON(env.Stdout, sum)
	}
	fmt.Fprintf(env.Stdout, "krun train: %s, %s loop\n", def.Task, loop)
	fmt.Fprintf(env.Stdout, "  %d updates (%d micro-batches, %d examples, %d epochs) in %.1f s (%.3f s/update), stopped by %s\n",
		res.Updates, res.MicroBatchs, res.Examples, res.Epochs, res.Seconds, sum.SecondsPer, res.StoppedBy)
	if res.Updates > 0 {
		var gn []string
		for _, g := range sortedNames(last.GradNorms) {
			gn = append(gn, fmt.Sprintf("%s %.4g", g, last.GradNorms[g]))
		}
		fmt.Fprintf(env.Stdout, "  last update: loss %.6g, lr %.3g%s\n", last.Loss, last.LR, joinPrefixed(", grad norm ", gn))
	}
	fmt.Fprintf(env.Stdout, "  trained %d tensors, %d frozen, %d without gradient%s\n", len(res.Trained), len(res.Frozen), len(res.NoGradient), joinPrefixed(" (", res.NoGradient, ")"))
	if len(res.Initialized) > 0 {
		fmt.Fprintf(env.Stdout, "  initialized %d tensors no file provided (seed %d)\n", len(res.Initialized), *seed)
	}
	fmt.Fprintf(env.Stdout, "  peak RSS %.0f MiB (training state: parameters, gradients, moments %.0f MiB)\n",
		float64(sum.PeakRSSBytes)/(1<<20), float64(res.StateBytes)/(1<<20))
	if res.Dev != nil {
		var ds []string
		for _, k := range sortedNames(res.Dev) {
			ds = append(ds, fmt.Sprintf("%s %.4f", k, res.Dev[k]))
		}
		fmt.Fprintf(env.Stdout, "  dev (%d examples): %s\n", res.DevData.Examples, strings.Join(ds, ", "))
		if res.Best != "" {
			fmt.Fprintf(env.Stdout, "  best %s %.4f: %s\n", res.Metric, res.BestMetric, res.Best)
		}
	}
	if d := res.Data; d.Cache != "" {
		fmt.Fprintf(env.Stdout, "  data: %d records, %d examples, dropped %v (cache %s)\n", d.Records, d.Examples, d.Dropped, d.Cache)
	}
	if res.ResumedFrom != "" {
		fmt.Fprintf(env.Stdout, "  resumed from %s\n", res.ResumedFrom)
	}
	fmt.Fprintf(env.Stdout, "  checkpoint: %s\n  log: %s\n  curves: %s\n", res.Checkpoint, res.Log, res.Curves)
	return nil
}

// resumeFlag is --resume: alone it means the newest checkpoint ("last"),
// --resume=DIR names one.
type resumeFlag string

func (r *resumeFlag) String() string { return string(*r) }

func (r *resumeFlag) Set(v string) error {
	switch v {
	case "true":
		*r = "last"
	case "false":
		*r = ""
	default:
		*r = resumeFlag(v)
	}
	return nil
}

// IsBoolFlag lets --resume stand alone.
func (r *resumeFlag) IsBoolFlag() bool { return true }

func sortedNames(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func joinPrefixed(prefix string, xs []string, suffix ...string) string {
	if len(xs) == 0 {
		return ""
	}
	return prefix + strings.Join(xs, ", ") + strings.Join(suffix, "")
}

// peakRSS is the process's peak resident set (ru_maxrss, KiB on Linux).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// trainProgress shows updates: a bar with loss, lr and examples/s on a
// terminal, a log line every 10 s (and at the end) otherwise.
type trainProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	last  time.Time
}

func newTrainProgress(w io.Writer, quiet bool) *trainProgress {
	if quiet {
		return &trainProgress{}
	}
	return &trainProgress{w: w, last: time.Now()}
}

func (p *trainProgress) start(updates, examples int) {
	if p.w == nil {
		return
	}
	p.total = updates
	fmt.Fprintf(p.w, "krun train: %d examples, %d updates planned\n", examples, updates)
	if pipeline.IsTerminal(p.w) && updates > 0 {
		p.bar = progressbar.NewOptions(updates,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("train"),
			progressbar.OptionSetWidth(20),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
}

func (p *trainProgress) update(u train.UpdateLog) {
	if p.w == nil {
		return
	}
	line := fmt.Sprintf("update %d loss %.4f lr %.2e %.1f ex/s", u.Step, u.Loss, u.LR, u.ExamplesPerSec)
	if p.bar != nil {
		p.bar.Describe(line)
		p.bar.Set(u.Step)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 10*time.Second || u.Step == p.total || u.Step == 1 {
		p.last = now
		of := ""
		if p.total > 0 {
			of = fmt.Sprintf("/%d", p.total)
		}
		fmt.Fprintf(p.w, "train: update %d%s, loss %.6g, lr %.3g, %.1f examples/s, %.0f s\n", u.Step, of, u.Loss, u.LR, u.ExamplesPerSec, u.Seconds)
	}
}

func (p *trainProgress) saved(dir string) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.w, "train: saved %s\n", dir)
}

func (p *trainProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
