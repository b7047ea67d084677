package runtime

import (
	"context"
	"fmt"
	"sort"
)

// Row is one unpadded example of a sequence task.
type Row struct {
	// Seqs holds the token ids of each sequence: one for TACRED, OpenEntity,
	// FIGER, T-REx and find-head; one per answer choice for CosmosQA.
	Seqs [][]int64
	// Positions holds marker positions by graph input name ("subj_pos",
	// "obj_pos", "entity_pos"); each becomes an int64 [batch] input.
	Positions map[string]int64
}

// Len is the row's longest sequence.
func (r Row) Len() int {
	n := 0
	for _, s := range r.Seqs {
		n = max(n, len(s))
	}
	return n
}

// Padding says how the rows of a batch are padded.
type Padding int

const (
	// PadFixed pads every row to MaxLen (max_seq_length) in the rows'
	// own order: what the original does. K-Adapter's adapters attend to
	// padding (spec quirk 1), so logits depend on the padded length and the
	// pad id; this is the default and gives exact parity with the original.
	PadFixed Padding = iota
	// PadDynamic sorts the rows by length (longest first) and pads each
	// batch only to its longest row. Faster, but for adapter models the
	// numbers differ from the original's (plain RoBERTa is unaffected,
	// since it masks padding).
	PadDynamic
)

// String names the padding as the --padding flag spells it.
func (p Padding) String() string {
	if p == PadDynamic {
		return "dynamic"
	}
	return "fixed"
}

// ParsePadding accepts "fixed" (or "max", "") and "dynamic".
func ParsePadding(s string) (Padding, error) {
	switch s {
	case "", "fixed", "max":
		return PadFixed, nil
	case "dynamic":
		return PadDynamic, nil
	}
	return 0, fmt.Errorf("bad padding %q: want fixed or dynamic", s)
}

// BatchOptions configures RunRows.
type BatchOptions struct {
	// BatchSize is the number of rows per run (default 8).
	BatchSize int
	// Padding is PadFixed (default) or PadDynamic.
	Padding Padding
	// MaxLen is max_seq_length: the padded length under PadFixed (required
	// there) and, when > 0, the longest row accepted under PadDynamic.
	MaxLen int
	// PadID is the id written into padding (1 = RoBERTa's <pad>; CosmosQA
	// pads with 0, spec quirk 8). Padding always gets attention mask 0.
	PadID int64
	// MultiChoice makes input_ids and attention_mask [batch, choices, seq]
	// (CosmosQA) instead of [batch, seq]; every row must have the same
	// number of sequences.
	MultiChoice bool
	// Progress, when set, is called after each batch with the number of
	// rows done so far and the total.
	Progress func(done, total int)
}

// Result is one row's outputs with the batch dimension removed: logits
// [batch, C] become a Tensor of shape [C]. Outputs with a sequence axis keep
// the batch's padded length.
type Result map[string]Tensor

// RunRows runs rows through the session in batches and returns one Result
// per row, in the rows' original order whatever the padding. The session is
// reused for every batch; ctx is checked between batches and aborts a batch
// in flight.
func (s *Session) RunRows(ctx context.Context, rows []Row, opt BatchOptions) ([]Result, error) {
	results := make([]Result, len(rows))
	err := s.EachRow(ctx, rows, opt, func(i int, r Result) error {
		results[i] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// EachRow is RunRows without keeping the outputs: after each batch it calls
// fn with every row's index in rows and its Result (batch order, so with
// dynamic padding not in index order), letting callers reduce large outputs
// (find-head's [seq, classes] logits) as they come. An error from fn stops
// the run and is returned.
func (s *Session) EachRow(ctx context.Context, rows []Row, opt BatchOptions, fn func(i int, r Result) error) error {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 8
	}
	if opt.Padding == PadFixed && opt.MaxLen <= 0 {
		return fmt.Errorf("fixed padding needs the maximum sequence length (MaxLen)")
	}
	choices := -1
	lens := make([]int, len(rows))
	for i, r := range rows {
		if len(r.Seqs) == 0 {
			return fmt.Errorf("row %d has no sequence", i)
		}
		if !opt.MultiChoice && len(r.Seqs) != 1 {
			return fmt.Errorf("row %d has %d sequences; only multiple-choice graphs take several", i, len(r.Seqs))
		}
		if choices >= 0 && len(r.Seqs) != choices {
			return fmt.Errorf("row %d has %d choices, earlier rows %d", i, len(r.Seqs), choices)
		}
		choices = len(r.Seqs)
		lens[i] = r.Len()
		if opt.MaxLen > 0 && lens[i] > opt.MaxLen {
			return fmt.Errorf("row %d has %d tokens, more than the maximum sequence length %d", i, lens[i], opt.MaxLen)
		}
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	if opt.Padding == PadDynamic {
		sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] > lens[order[b]] })
	}
	for start := 0; start < len(order); start += opt.BatchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx := order[start:min(start+opt.BatchSize, len(order))]
		batch := make([]Row, len(idx))
		for i, j := range idx {
			batch[i] = rows[j]
		}
		inputs, err := s.batchInputs(batch, opt, choices)
		if err != nil {
			return fmt.Errorf("batch %d: %w", start/opt.BatchSize, err)
		}
		out, err := s.Run(ctx, inputs)
		if err != nil {
			return err
		}
		per, err := splitBatch(out, len(idx))
		if err != nil {
			return fmt.Errorf("model %s: %w", s.path, err)
		}
		for i, j := range idx {
			if err := fn(j, per[i]); err != nil {
				return err
			}
		}
		if opt.Progress != nil {
			opt.Progress(start+len(idx), len(rows))
		}
	}
	return nil
}

func (s *Session) batchInputs(rows []Row, opt BatchOptions, choices int) (map[string]Tensor, error) {
	L := opt.MaxLen
	if opt.Padding == PadDynamic {
		L = 0
		for _, r := range rows {
			L = max(L, r.Len())
		}
	}
	if L == 0 {
		L = 1 // an all-empty batch still needs one (padding) column
	}
	B := len(rows)
	C := 1
	if opt.MultiChoice {
		C = choices
	}
	ids := make([]int64, B*C*L)
	mask := make([]int64, B*C*L)
	for b, r := range rows {
		for c, seq := range r.Seqs {
			off := (b*C + c) * L
			copy(ids[off:], seq)
			for l := range seq {
				mask[off+l] = 1
			}
			for l := len(seq); l < L; l++ {
				ids[off+l] = opt.PadID
			}
		}
	}
	shape := []int64{int64(B), int64(L)}
	if opt.MultiChoice {
		shape = []int64{int64(B), int64(C), int64(L)}
	}
	in := map[string]Tensor{
		"input_ids":      {Shape: shape, Data: ids},
		"attention_mask": {Shape: shape, Data: mask},
	}
	for _, info := range s.inputs {
		if info.Name == "input_ids" || info.Name == "attention_mask" {
			continue
		}
		pos := make([]int64, B)
		for b, r := range rows {
			p, ok := r.Positions[info.Name]
			if !ok {
				return nil, fmt.Errorf("the graph takes %s, which row %d does not have", info.Name, b)
			}
			pos[b] = p
		}
		in[info.Name] = Tensor{Shape: []int64{int64(B)}, Data: pos}
	}
	return in, nil
}

// splitBatch cuts every output along its first (batch) axis.
func splitBatch(out map[string]Tensor, B int) ([]Result, error) {
	per := make([]Result, B)
	for i := range per {
		per[i] = Result{}
	}
	for name, t := range out {
		if len(t.Shape) == 0 || t.Shape[0] != int64(B) {
			return nil, fmt.Errorf("output %s has shape %v, not a batch of %d", name, t.Shape, B)
		}
		step := int(t.NumElements()) / B
		sub := append([]int64(nil), t.Shape[1:]...)
		for i := 0; i < B; i++ {
			per[i][name] = Tensor{Shape: sub, Data: sliceData(t.Data, i*step, (i+1)*step)}
		}
	}
	return per, nil
}

func sliceData(d any, from, to int) any {
	switch v := d.(type) {
	case []float32:
		return v[from:to:to]
	case []float64:
		return v[from:to:to]
	case []int64:
		return v[from:to:to]
	case []int32:
		return v[from:to:to]
	case []uint8:
		return v[from:to:to]
	case []bool:
		return v[from:to:to]
	}
	return nil
}

// Float32s returns t's data as float32 values (converting float64), or
// nil for other types.
func (t Tensor) Float32s() []float32 {
	switch v := t.Data.(type) {
	case []float32:
		return v
	case []float64:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	return nil
}
