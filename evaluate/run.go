package evaluate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kadapter/kadapter/builders/features"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
)

// CheckGraph verifies that the graph takes exactly what the task feeds it
// (input_ids, attention_mask and the task's position inputs).
func (t *Task) CheckGraph(s *krt.Session) error {
	want := []string{"input_ids", "attention_mask"}
	for _, p := range t.Def.Eval.Positions {
		want = append(want, p.Input)
	}
	for _, n := range want {
		if !s.HasInput(n) {
			return fmt.Errorf("model %s does not look like a %s graph: it has no input %q (inputs: %s)", s.Path(), t.Name, n, ioNames(s.Inputs()))
		}
	}
	if len(s.Inputs()) != len(want) {
		return fmt.Errorf("model %s does not look like a %s graph: it takes %s, a %s graph takes %v", s.Path(), t.Name, ioNames(s.Inputs()), t.Name, want)
	}
	if !slices.Contains(s.Fetched(), "logits") {
		return fmt.Errorf("model %s: the session does not fetch \"logits\" (it fetches %s)", s.Path(), strings.Join(s.Fetched(), ", "))
	}
	return nil
}

// ioNames lists the names of inputs or outputs.
func ioNames(infos []krt.IOInfo) string {
	n := make([]string, len(infos))
	for i, x := range infos {
		n[i] = x.Name
	}
	return strings.Join(n, ", ")
}

// realLen is the number of leading attended positions (right padding).
func realLen(mask []int64) int {
	n := 0
	for _, m := range mask {
		if m != 0 {
			n++
		}
	}
	return n
}

// Row turns an example into the runtime's unpadded row: its real tokens
// and the task's marker positions.
func (t *Task) Row(ex *features.Example) krt.Row {
	if t.Def.Eval.MultiChoice {
		r := krt.Row{Seqs: make([][]int64, len(ex.Choices))}
		for i, c := range ex.Choices {
			r.Seqs[i] = c.InputIDs[:realLen(c.AttentionMask)]
		}
		return r
	}
	r := krt.Row{Seqs: [][]int64{ex.InputIDs[:realLen(ex.AttentionMask)]}, Positions: map[string]int64{}}
	for _, p := range t.Def.Eval.Positions {
		r.Positions[p.Input] = int64(p.Of(ex))
	}
	return r
}

// Run runs every example through sess in batches (Options.BatchSize,
// Padding) and reduces each example's logits as soon as its batch ran.
// Before anything runs it checks the graph's inputs (CheckGraph) and every
// token id against the embedding table input_ids indexes (an error names
// the data file, the record and the vocabulary). Results are in the
// examples' order; cancelling ctx stops the run.
func (t *Task) Run(ctx context.Context, sess *krt.Session, examples []features.Example) ([]tasks.Output, error) {
	if err := t.CheckGraph(sess); err != nil {
		return nil, err
	}
	rows := make([]krt.Row, len(examples))
	for i := range examples {
		rows[i] = t.Row(&examples[i])
	}
	if err := sess.CheckRows(rows, func(i int) string {
		return strings.TrimSpace(fmt.Sprintf("%s record %d%s", t.data, examples[i].Record, t.vocab))
	}); err != nil {
		return nil, err
	}
	opt := krt.BatchOptions{
		BatchSize: t.opts.BatchSize, Padding: t.opts.Padding, MaxLen: t.MaxLen, PadID: t.PadID,
		MultiChoice: t.Def.Eval.MultiChoice,
	}
	if t.opts.Progress != nil {
		p := t.opts.Progress(len(rows))
		defer p.Finish()
		opt.Progress = p.Update
	}
	outs := make([]tasks.Output, len(rows))
	err := sess.EachRow(ctx, rows, opt, func(i int, r krt.Result) (err error) {
		outs[i], err = t.Reduce(&examples[i], r["logits"])
		return err
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// Reduce turns one example's logits tensor (its row of the graph's
// "logits") into its Output: the logits vector, or a per-token task's
// reduction (tasks.Eval.ReduceTokens). Run calls it per example; a caller
// that runs the graph itself (a trainer's own session) calls it and then
// Score.
func (t *Task) Reduce(ex *features.Example, lg krt.Tensor) (tasks.Output, error) {
	data := lg.Float32s()
	if t.Def.Eval.ReduceTokens == nil {
		if len(lg.Shape) != 1 || data == nil {
			return tasks.Output{}, fmt.Errorf("record %d: logits have shape %v (%s), want a float vector per example", ex.Record, lg.Shape, lg.DType())
		}
		return tasks.Output{Logits: data}, nil
	}
	if len(lg.Shape) != 2 || data == nil {
		return tasks.Output{}, fmt.Errorf("record %d: %s logits have shape %v (%s), want float [seq, classes]", ex.Record, t.Name, lg.Shape, lg.DType())
	}
	return t.Def.Eval.ReduceTokens(ex, data, int(lg.Shape[0]), int(lg.Shape[1]))
}
