package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/export/graph"
)

// Task names a registered task graph.
type Task string

// The built-in tasks' names; package tasks registers their graphs.
const (
	// TaskPretrainFac is fac-adapter.py's relation classifier (T-REx, 410
	// relations); inputs include subj_pos and obj_pos.
	TaskPretrainFac Task = "trex-rc"
	// TaskPretrainLin is lin-adapter.py's dependency-head predictor;
	// logits [B,L,max_seq_length].
	TaskPretrainLin Task = "find-head"
	// TaskTACRED is TACREDModel (42 relations).
	TaskTACRED Task = "tacred"
	// TaskOpenEntity is ETModel (9 types).
	TaskOpenEntity Task = "openentity"
	// TaskFIGER is FIGERModel (num_labels types).
	TaskFIGER Task = "figer"
	// TaskCosmosQA is COSMOSQAModel (4 choices, inputs [B,4,L]).
	TaskCosmosQA Task = "cosmosqa"
	// TaskFeatures is RobertaModelwithAdapter, "K-Adapter used like
	// RoBERTa": output features [B,L,H].
	TaskFeatures Task = "features"
)

// TaskGraph describes one task's network to Build and BuildTrain: its
// inputs beyond RoBERTa's, its head and its training loss. Every task
// shares RoBERTa and the adapter chains; the head starts from their
// outputs.
type TaskGraph struct {
	// Aliases are other names ParseTask accepts for the task.
	Aliases []string
	// Adapter, when set ("fac" or "lin"), makes the task a pre-training
	// one: it uses exactly that adapter chain, reads the chain and its
	// head from the adapter file (LoadWeights) and the head sees RoBERTa's
	// and the chain's outputs unfused. Otherwise the task uses whichever
	// chains the weights hold (at least one).
	Adapter string
	// Choices, when above 0, makes input_ids and attention_mask
	// [batch,Choices,seq]; the network runs on [batch·Choices,seq].
	Choices int
	// Positions are the marker-position inputs (int64 [batch]) that
	// follow input_ids and attention_mask, in order; Head.At reads them.
	Positions []string
	// ReadsFirst: the head reads position 0 only (marker-position pruning
	// then keeps that row, see Spec.AllPositions).
	ReadsFirst bool
	// Rates: the head weighs RoBERTa's and the adapters' outputs by
	// Spec.ARate and Spec.BRate (krun export requires both).
	Rates bool
	// SeqClasses: the head has max_seq_length classes (logits
	// [batch,seq,max_seq_length]).
	SeqClasses bool
	// OptionalTaskModel: the graph builds from adapter files alone (with
	// add fusion) when no task checkpoint is given.
	OptionalTaskModel bool
	// Output is the main output's name ("logits" when empty).
	Output string
	// Head builds the main output.
	Head func(h *Head) *graph.Value
	// Labels is the labels input of the loss (the zero value: the task
	// has no training loss).
	Labels LabelSpec
	// Loss is the training loss (scalar) as the original script computes
	// it.
	Loss func(in LossInput) *graph.Value
}

// LabelSpec describes a task's labels input.
type LabelSpec struct {
	// DType is int64 (class indices) or float32 (multi-hot).
	DType graph.DType
	// Rank is 1 ([batch]) or 2 ([batch,seq] for int64 per-token classes,
	// [batch,classes] for float32).
	Rank int
}

// LossInput is what a task's Loss function gets.
type LossInput struct {
	// Graph is the graph under construction.
	Graph *graph.Graph
	// Logits is the head's output and Labels the labels input.
	Logits, Labels *graph.Value
	// AttentionMask is the attention_mask input.
	AttentionMask *graph.Value
}

var graphs = map[Task]*TaskGraph{}

// Register adds the graph of task t; package tasks calls it from init.
// It panics on a second registration of a name or an alias.
func Register(t Task, tg TaskGraph) {
	if tg.Head == nil {
		panic("models: task " + string(t) + " has no head")
	}
	for _, n := range append([]string{string(t)}, tg.Aliases...) {
		if _, err := ParseTask(n); err == nil {
			panic("models: task name " + n + " registered twice")
		}
	}
	graphs[t] = &tg
}

// Lookup returns the registered graph of t.
func Lookup(t Task) (*TaskGraph, error) {
	if tg, ok := graphs[t]; ok {
		return tg, nil
	}
	return nil, fmt.Errorf("unknown task %q (want one of %s)", t, strings.Join(TaskNames(), ", "))
}

// TaskNames lists the registered tasks, sorted.
func TaskNames() []string {
	names := make([]string, 0, len(graphs))
	for t := range graphs {
		names = append(names, string(t))
	}
	sort.Strings(names)
	return names
}

// ParseTask accepts a registered task name or one of its aliases
// (pretrain-fac, fac, pretrain-lin, lin, roberta-adapter, ...).
func ParseTask(s string) (Task, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	for t, tg := range graphs {
		if n == string(t) {
			return t, nil
		}
		for _, a := range tg.Aliases {
			if n == a {
				return t, nil
			}
		}
	}
	return "", fmt.Errorf("unknown task %q (want one of %s)", s, strings.Join(TaskNames(), ", "))
}

// Labels returns the labels a task's loss takes.
func Labels(t Task) (LabelSpec, error) {
	tg, err := Lookup(t)
	if err != nil {
		return LabelSpec{}, err
	}
	if tg.Loss == nil {
		return LabelSpec{}, fmt.Errorf("task %s has no training loss", t)
	}
	return tg.Labels, nil
}

// Head is what a task's Head function builds on: RoBERTa's and the
// adapter chains' outputs, the fusion, and the layers heads are made of.
// Layers create their weights under the given key prefixes (trained as
// graph inputs in a training graph).
type Head struct {
	b      *builder
	spec   Spec
	h      int
	seq    *graph.Value
	outs   map[string]*graph.Value
	kinds  []string
	mask   *graph.Value
	at     func(x *graph.Value, i int) *graph.Value
	expose func(name string, v func() *graph.Value)
}

// Graph is the graph under construction.
func (h *Head) Graph() *graph.Graph { return h.b.g }

// Spec is the build's Spec with its defaults filled in (Fusion, ARate,
// BRate, Adapter.Eps).
func (h *Head) Spec() Spec { return h.spec }

// Hidden is RoBERTa's hidden size.
func (h *Head) Hidden() int { return h.h }

// Sequence is RoBERTa's last hidden states ([B,L,H]; [B,P,H] at the
// pruned positions).
func (h *Head) Sequence() *graph.Value { return h.seq }

// Adapters lists the adapter chains the weights hold ("fac", "lin").
func (h *Head) Adapters() []string { return h.kinds }

// Adapter is the output of one adapter chain (shaped as Sequence).
func (h *Head) Adapter(kind string) *graph.Value { return h.outs[kind] }

// AttentionMask is the attention_mask input (flattened to [B·C,L] for
// multiple-choice tasks).
func (h *Head) AttentionMask() *graph.Value { return h.mask }

// At returns, for x shaped as Sequence, the row at the i-th position
// input (TaskGraph.Positions) of each example: [B,H].
func (h *Head) At(x *graph.Value, i int) *graph.Value { return h.at(x, i) }

// Expose offers an intermediate for --expose; v is only built when the
// graph keeps every position (pruned graphs list the name only).
func (h *Head) Expose(name string, v func() *graph.Value) { h.expose(name, v) }

// Fuse combines Sequence with per-adapter outputs (nil: the adapter
// chains' outputs) as Spec.Fusion says (see the fusion of spec §4).
func (h *Head) Fuse(outs map[string]*graph.Value) *graph.Value {
	if outs == nil {
		outs = h.outs
	}
	return h.b.fuse(h.spec.Fusion, h.seq, outs, h.kinds, h.h)
}

// Linear is PyTorch's Linear(in→out) with weights under prefix.
func (h *Head) Linear(x *graph.Value, prefix string, in, out int) *graph.Value {
	return h.b.linear(x, prefix, in, out)
}

// Dropout is a hidden-dropout site (active in training graphs only).
func (h *Head) Dropout(x *graph.Value) *graph.Value { return h.b.dropout(x, "hidden") }

// Attention is BertAttention of hidden size Hidden with heads heads
// under prefix and the additive mask (AdditiveMask); it returns the
// output and the attention probabilities.
func (h *Head) Attention(x *graph.Value, prefix string, heads int, mask *graph.Value) (*graph.Value, *graph.Value) {
	return h.b.attention(x, prefix, attnSpec{h.h, heads}, mask, h.spec.Adapter.Eps)
}

// AdditiveMask is (1 - mask) · -10000 as float32.
func (h *Head) AdditiveMask(mask *graph.Value) *graph.Value { return h.b.additiveMask(mask) }

// Classes is the first dimension of a weight (a head's class count).
func (h *Head) Classes(key string) int { return h.b.rows(key) }

// CrossEntropy is torch's CrossEntropyLoss (mean) of logits [N,C] against
// int64 classes [N]: −mean log_softmax(x)[label]; with weights w [N]
// (0/1) the mean runs over the rows with weight 1 (lin-adapter's active
// positions). The backward goes through LogSoftmax's closed form:
// (softmax − onehot)/N.
func CrossEntropy(g *graph.Graph, logits, labels, w *graph.Value) *graph.Value {
	lsm := g.LogSoftmax(logits, -1)
	picked := g.Squeeze(g.GatherElements(lsm, g.Unsqueeze(labels, 1), 1), 1)
	if w == nil {
		return g.Neg(g.ReduceMean(picked, false, 0))
	}
	return g.Neg(g.Div(g.ReduceSum(g.Mul(picked, w), false, 0), g.ReduceSum(w, false, 0)))
}

// BCEWithLogits is torch's BCEWithLogitsLoss (mean) in its stable form
// (1−z)·x + m + log(e^−m + e^(−x−m)), m = max(−x, 0), with the closed-form
// gradient (σ(x) − z)/n.
func BCEWithLogits(g *graph.Graph, x, z *graph.Value) *graph.Value {
	one := g.Scalar(1)
	m := g.Relu(g.Neg(x))
	l := g.Add(g.Add(g.Mul(g.Sub(one, z), x), m), g.Log(g.Add(g.Exp(g.Neg(m)), g.Exp(g.Sub(g.Neg(x), m)))))
	loss := g.ReduceMean(l, false, 0, 1)
	g.Composite(loss, []*graph.Value{x, z}, func(dy *graph.Value) []*graph.Value {
		n := g.Cast(g.DimValue(x.Shape.Size()), graph.Float32)
		return []*graph.Value{g.Mul(g.Sub(g.Sigmoid(x), z), g.Div(dy, n)), nil}
	})
	return loss
}
