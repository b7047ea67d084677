// Package tasks is the one home of each K-Adapter task: its graph (the
// export/models task it builds), its labels and loss, its headline metric,
// which modules train by default, and the facts of its original training
// script (the order of the scheduler and optimizer calls, clip groups,
// accumulation offset, batch rule, default hyper-parameters, the files a
// checkpoint holds, how a new model's head is initialized, its dev
// metrics), and how it is evaluated: the graph's inputs, its label list,
// how logits are reduced and scored with runtime/metrics, and the
// prediction lines it writes (Eval). Export, training, evaluation and
// prediction read a task from here: Register hands the task's graph to
// export/models and, for a task with a record format of its own making,
// its converter to builders/features. Adding a task means adding one file
// that calls Register from init (see docs/train.md, "Adding a task").
package tasks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/models"
)

// Definition describes one task.
type Definition struct {
	// Task is the task's name.
	Task models.Task
	// Graph is the task's network for export/models: its inputs beyond
	// RoBERTa's, head and training loss (Register fills its Positions from
	// Eval.Positions and its Adapter from Adapter).
	Graph models.TaskGraph
	// Script is the original training script.
	Script string
	// Loss says in words what the script minimises.
	Loss string
	// Metric is the headline score (the metric --metric defaults to).
	Metric string
	// Pretraining tasks train an adapter model on a frozen RoBERTa; the
	// others fine-tune RoBERTa and a task model.
	Pretraining bool
	// Adapter is the adapter a pre-training task trains ("fac" or "lin").
	Adapter string
	// Upstream are the facts of the original training loop.
	Upstream Upstream
	// Defaults are the original script's hyper-parameters (its run_*.sh).
	Defaults Hyper
	// Files are the weight files a checkpoint-N folder holds, in the
	// script's names.
	Files []File
	// ConfigExtra are the keys the script adds to the RoBERTa config.json
	// it writes into a checkpoint (nil: it writes none; CosmosQA writes no
	// config.json at all, see NoConfig).
	ConfigExtra map[string]any
	// NoConfig is set when the script writes no config.json.
	NoConfig bool
	// ConfigNumLabels: the config.json a checkpoint holds records the
	// head's class count as num_labels (FIGER).
	ConfigNumLabels bool
	// Features is the task's record format for builders/features; nil:
	// builders/features has the task's format built in.
	Features *features.Format
	// Init sizes the modules train.InitMissing draws for a new model.
	Init Init
	// Eval is how the task is evaluated and predicted (package evaluate,
	// krun eval, krun predict).
	Eval Eval
	// DevMetrics are krun train's dev-set metrics (besides the loss) of
	// the outputs a dev pass collects.
	DevMetrics func(d Dev) map[string]float64
}

// Init is what a new task model is initialized with (adapter chains come
// first, see train.InitMissing).
type Init struct {
	// ClassesFrom is the .npy array of a data folder whose second
	// dimension is the head's class count when nothing else gives it
	// (FIGER: labels.npy; find-head: input_ids.npy); "" when the head has
	// a fixed size.
	ClassesFrom string
	// PerAdapter are the layers drawn for each adapter chain before its
	// fusion layer (CosmosQA's per-adapter task_dense); nil: none.
	PerAdapter func(kind string, h int) []Layer
	// Head are the head's layers, drawn after the fusion; classes is the
	// class count where the task does not fix it (0: unknown).
	Head func(h, classes int) ([]Layer, error)
}

// Layer is one module InitMissing initializes.
type Layer struct {
	// Name is the key prefix.
	Name string
	// In and Out size a Linear (weight [Out,In]); for an attention block
	// In is its hidden size.
	In, Out int
	// Attention makes it a BertAttention (query, key, value, output.dense
	// and output.LayerNorm under Name).
	Attention bool
}

// linear is a Linear layer.
func linear(name string, in, out int) Layer { return Layer{Name: name, In: in, Out: out} }

// Dev is what a dev pass of krun train collects, in the data set's order.
type Dev struct {
	// Logits are the examples' logits, flattened per example.
	Logits [][]float32
	// Classes is the logits' last dimension.
	Classes int
	// Gold are class labels (int64 labels [batch]).
	Gold []int
	// Hot are multi-hot labels (float32 labels).
	Hot [][]float64
	// Heads and Masks are per-token labels and attention masks (int64
	// labels [batch,seq]).
	Heads, Masks [][]int
	// BatchLosses are the losses of the dev batches.
	BatchLosses []float64
}

// Upstream are the loop facts --loop upstream reproduces.
type Upstream struct {
	// OptimizerFirst: optimizer.step() before scheduler.step(), so update
	// k uses the schedule's factor at k (0 for the first update with
	// warm-up); otherwise at k+1.
	OptimizerFirst bool
	// ClipGroups are the groups clip_grad_norm_ is called on after every
	// micro-batch, in order ("roberta", "task", or "adapter_model"); none:
	// no clipping.
	ClipGroups []string
	// AccumulationOffset shifts the update test: an update follows
	// micro-batch i when (i + 1 + offset) % accumulation == 0 (CosmosQA: 1).
	AccumulationOffset int
	// UndividedBatch: the DataLoader batch is not divided by the
	// accumulation steps (fac-adapter.py).
	UndividedBatch bool
}

// Hyper are training hyper-parameters. BatchSize in Defaults is the
// script's per-GPU batch (run_*.sh); krun train divides it by the
// accumulation steps as the scripts do (fac-adapter.py excepted).
type Hyper struct {
	LearningRate  float64 `json:"learning_rate"`
	WarmupSteps   int     `json:"warmup_steps"`
	WeightDecay   float64 `json:"weight_decay"`
	AdamEpsilon   float64 `json:"adam_epsilon"`
	MaxGradNorm   float64 `json:"max_grad_norm"`
	BatchSize     int     `json:"batch_size"`
	Accumulation  int     `json:"gradient_accumulation_steps"`
	Epochs        int     `json:"epochs"`
	MaxSteps      int     `json:"max_steps"`
	MaxSeqLength  int     `json:"max_seq_length"`
	AdamBeta1     float64 `json:"adam_beta1"`
	AdamBeta2     float64 `json:"adam_beta2"`
	DropoutConfig float64 `json:"dropout"`
}

// File is one weight file of a checkpoint: which modules it holds and
// how canonical keys are named in it.
type File struct {
	// Name is the file name (pytorch_model.bin, ...).
	Name string
	// Modules are the module names (models.ModuleOf) it holds.
	Modules []string
	// Rename maps a canonical key to the file's key.
	Rename func(key string) string
}

var registry = map[models.Task]*Definition{}

// Register adds a definition and its graph (models.Register); each task
// file calls it from init.
func Register(d *Definition) {
	if _, dup := registry[d.Task]; dup {
		panic("tasks: " + string(d.Task) + " registered twice")
	}
	if d.Pretraining {
		d.Graph.Adapter = d.Adapter
	}
	if d.Graph.Positions == nil {
		for _, p := range d.Eval.Positions {
			d.Graph.Positions = append(d.Graph.Positions, p.Input)
		}
	}
	models.Register(d.Task, d.Graph)
	if d.Features != nil {
		features.Register(string(d.Task), *d.Features)
	}
	registry[d.Task] = d
}

// Get returns the definition of a task (names and aliases as
// models.ParseTask accepts them).
func Get(name string) (*Definition, error) {
	t, err := models.ParseTask(name)
	if err != nil {
		return nil, err
	}
	d, ok := registry[t]
	if !ok {
		return nil, fmt.Errorf("task %s cannot be trained (trainable: %s)", t, strings.Join(Names(), ", "))
	}
	return d, nil
}

// Pretraining returns the pre-training task that trains the adapter kind
// ("fac" or "lin").
func Pretraining(kind string) (*Definition, error) {
	for _, d := range registry {
		if d.Pretraining && d.Adapter == kind {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no pre-training task trains a %s adapter", kind)
}

// Names lists the registered tasks.
func Names() []string {
	var out []string
	for t := range registry {
		out = append(out, string(t))
	}
	sort.Strings(out)
	return out
}

// robertaKey names a RoBERTa key in pytorch_pretrained_model.bin
// (PretrainedModel stores RoBERTa as attribute model).
func robertaKey(key string) string { return "model." + strings.TrimPrefix(key, "roberta.") }

// adapterModelKey names a key in a pre-training adapter model file
// (adapter.i.* and the head keys, no chain prefix).
func adapterModelKey(key string) string {
	for _, p := range []string{"fac_adapter.", "lin_adapter."} {
		if strings.HasPrefix(key, p) {
			return strings.TrimPrefix(key, p)
		}
	}
	return key
}

func same(key string) string { return key }

// freezeAdapterConfig is the RoBERTa-config extra every fine-tuning script
// writes.
var freezeAdapterConfig = map[string]any{"freeze_adapter": "True"}
