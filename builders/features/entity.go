package features

import (
	"fmt"
)

// OpenEntityLabels is the 9-type OpenEntity label list of K-Adapter's
// examples/utils_glue.py, in its order (multi-hot position = index).
var OpenEntityLabels = []string{"entity", "location", "time", "organization", "object", "event", "place", "person", "group"}

// EntityOptions configures the OpenEntity and FIGER builders.
type EntityOptions struct {
	// MaxSeqLength is max_seq_length (256 in both original scripts).
	MaxSeqLength int
	// Labels is the type list; nil means OpenEntityLabels for OpenEntity.
	// FIGER has no default: use its labels.json or FIGERLabelsFromRecords.
	Labels []string
}

type entityBuilder struct {
	tok    Tokenizer
	sp     specials
	max    int
	labels map[string]int
	nLab   int
	marker []string // tokenize("@"), i.e. [Ġ@]
	figer  bool
}

// OpenEntity builds OpenEntity features (spec §6.2). Safe for concurrent
// use.
type OpenEntity struct{ b entityBuilder }

// FIGER builds FIGER features (spec §6.3). Safe for concurrent use.
type FIGER struct{ b entityBuilder }

func newEntityBuilder(tok Tokenizer, opts EntityOptions, figer bool) (entityBuilder, error) {
	var b entityBuilder
	if opts.MaxSeqLength < 3 {
		return b, fmt.Errorf("max_seq_length %d is too small", opts.MaxSeqLength)
	}
	if len(opts.Labels) == 0 {
		return b, fmt.Errorf("empty label list")
	}
	sp, err := lookupSpecials(tok)
	if err != nil {
		return b, err
	}
	m, err := labelIndex(opts.Labels)
	if err != nil {
		return b, err
	}
	marker := tok.LegacyTokenize("@")
	if len(marker) == 0 {
		return b, fmt.Errorf("the tokenizer turns %q into no token", "@")
	}
	return entityBuilder{tok: tok, sp: sp, max: opts.MaxSeqLength, labels: m, nLab: len(opts.Labels), marker: marker, figer: figer}, nil
}

// NewOpenEntity returns an OpenEntity builder.
func NewOpenEntity(tok Tokenizer, opts EntityOptions) (*OpenEntity, error) {
	if opts.Labels == nil {
		opts.Labels = OpenEntityLabels
	}
	b, err := newEntityBuilder(tok, opts, false)
	if err != nil {
		return nil, fmt.Errorf("openentity: %w", err)
	}
	return &OpenEntity{b: b}, nil
}

// NewFIGER returns a FIGER builder; opts.Labels is required.
func NewFIGER(tok Tokenizer, opts EntityOptions) (*FIGER, error) {
	b, err := newEntityBuilder(tok, opts, true)
	if err != nil {
		return nil, fmt.Errorf("figer: %w", err)
	}
	return &FIGER{b: b}, nil
}

// Build converts one record. OpenEntity never truncates: an input longer
// than MaxSeqLength (an assertion failure upstream) is rejected with
// ReasonTooLongRejected; an unknown type is rejected with
// ReasonUnknownLabel.
func (o *OpenEntity) Build(record int, r *EntityRecord) (Example, error) {
	return o.b.build(record, r)
}

// Build converts one record. Inputs with len(tokens) >= MaxSeqLength are
// dropped with ReasonTooLong as upstream did (also from the test set); an
// unknown type is rejected with ReasonUnknownLabel.
func (f *FIGER) Build(record int, r *EntityRecord) (Example, error) {
	return f.b.build(record, r)
}

// runeOffset returns the byte offset of code point k of s, clamped to
// len(s) (Python slicing semantics for k >= 0).
func runeOffset(s string, k int) int {
	if k <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == k {
			return i
		}
		n++
	}
	return len(s)
}

// pySliceString returns s[a:b] with Python code-point semantics, a, b >= 0.
func pySliceString(s string, a, b int) string {
	i, j := runeOffset(s, a), runeOffset(s, b)
	if i >= j {
		return ""
	}
	return s[i:j]
}

func (b *entityBuilder) multiHot(labels []string) ([]int64, error) {
	v := make([]int64, b.nLab)
	for _, l := range labels {
		i, ok := b.labels[l]
		if !ok {
			return nil, drop(ReasonUnknownLabel, "type %q is not in the label list", l)
		}
		v[i] = 1
	}
	return v, nil
}

func (b *entityBuilder) build(record int, r *EntityRecord) (Example, error) {
	ex := Example{Record: record, ID: recordID(r.ID, record), SubjPos: -1, ObjPos: -1, EntityPos: -1, Label: -1}
	if r.Start < 0 || r.End < 0 {
		return ex, invalid("negative start or end")
	}
	var labels []int64
	var err error
	if !b.figer {
		// OpenEntity maps its labels while reading the file, before
		// conversion: an unknown type fails first.
		if labels, err = b.multiHot(r.Labels); err != nil {
			return ex, err
		}
	}
	t0 := b.tok.LegacyTokenize(pySliceString(r.Sent, 0, r.Start))
	t1 := b.tok.LegacyTokenize(pySliceString(r.Sent, r.Start, r.End))
	t2 := b.tok.LegacyTokenize(pySliceString(r.Sent, r.End, len(r.Sent)))
	n := 2 + len(t0) + len(t1) + len(t2) + 2*len(b.marker)
	if b.figer && n >= b.max {
		return ex, drop(ReasonTooLong, "%d tokens >= max_seq_length %d", n, b.max)
	}
	if !b.figer && n > b.max {
		return ex, drop(ReasonTooLongRejected, "%d tokens > max_seq_length %d (OpenEntity never truncates)", n, b.max)
	}
	tokens := make([]string, 0, n)
	tokens = append(tokens, "<s>")
	tokens = append(tokens, t0...)
	tokens = append(tokens, b.marker...)
	tokens = append(tokens, t1...)
	tokens = append(tokens, b.marker...)
	tokens = append(tokens, t2...)
	tokens = append(tokens, "</s>")
	if b.figer {
		if labels, err = b.multiHot(r.Labels); err != nil {
			return ex, err
		}
	}
	ex.Tokens = tokens
	ex.InputIDs, ex.AttentionMask = b.sp.padded(b.tok, tokens, b.max, b.sp.pad)
	ex.EntityPos = 1 + len(t0)
	ex.Labels = labels
	return ex, nil
}

// FIGERLabelsFromRecords builds FIGER's label list the way the original
// does when data_dir/labels.json is absent: every type of the training
// records in first-appearance order.
func FIGERLabelsFromRecords(records []EntityRecord) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range records {
		for _, l := range r.Labels {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// Convert implements RecordConverter.
func (o *OpenEntity) Convert(record int, raw []byte) Result {
	return decodeAndBuild(DecodeEntity, o.Build, record, raw)
}

// Convert implements RecordConverter.
func (f *FIGER) Convert(record int, raw []byte) Result {
	return decodeAndBuild(DecodeEntity, f.Build, record, raw)
}

// decodeAndBuild decodes one raw record with decode and builds its
// Example: the Convert of every converter whose records need no more.
func decodeAndBuild[R any](decode func([]byte) (R, error), build func(int, *R) (Example, error), record int, raw []byte) Result {
	r, err := decode(raw)
	if err != nil {
		return Result{Err: err}
	}
	ex, err := build(record, &r)
	return Result{Example: ex, Err: err, decoded: true}
}
