package features

import (
	"fmt"
	"strconv"
)

// HeadMapping selects how find_head labels are encoded.
type HeadMapping int

const (
	// HeadMappingOriginal reproduces the original converter (spec §7.2,
	// quirk 21): the label of word w sits at sequence position w+1
	// whatever the sub-tokenisation, its value is the 1-based position of
	// the governor's first sub-token (ROOT = 1 = <s>), every other position
	// is 0, examples whose governor is the last word are dropped, and
	// len(tokens) >= max_seq_length drops the example. Compatible with the
	// released lin-adapter.
	HeadMappingOriginal HeadMapping = iota
	// HeadMappingFirstSubToken is the corrected mapping: the label of word
	// w sits at the 0-based position of its first sub-token, its value is
	// the 0-based position of the governor's first sub-token (ROOT = 0 =
	// <s>), every other position is IgnoreLabel, any governor 0..n is
	// allowed, and inputs up to max_seq_length tokens are kept. A word that
	// tokenizes to nothing drops the example (ReasonEmptyWord).
	HeadMappingFirstSubToken
)

// IgnoreLabel marks positions without a label in the corrected find_head
// mapping (PyTorch's CrossEntropyLoss ignore_index).
const IgnoreLabel = -100

// ParseHeadMapping parses "original" or "first-subtoken".
func ParseHeadMapping(s string) (HeadMapping, error) {
	switch s {
	case "original":
		return HeadMappingOriginal, nil
	case "first-subtoken", "corrected":
		return HeadMappingFirstSubToken, nil
	}
	return 0, fmt.Errorf("unknown find_head mapping %q (want original or first-subtoken)", s)
}

// String returns the name ParseHeadMapping accepts.
func (m HeadMapping) String() string {
	if m == HeadMappingFirstSubToken {
		return "first-subtoken"
	}
	return "original"
}

// FindHeadOptions configures the find_head builder.
type FindHeadOptions struct {
	// MaxSeqLength is max_seq_length (64 in the original script).
	MaxSeqLength int
	// Mapping selects the label encoding (default HeadMappingOriginal).
	Mapping HeadMapping
}

// FindHead builds lin-adapter dependency-head features. Safe for
// concurrent use.
type FindHead struct {
	tok     Tokenizer
	sp      specials
	max     int
	mapping HeadMapping
}

// NewFindHead returns a find_head builder.
func NewFindHead(tok Tokenizer, opts FindHeadOptions) (*FindHead, error) {
	if opts.MaxSeqLength < 3 {
		return nil, fmt.Errorf("find-head: max_seq_length %d is too small", opts.MaxSeqLength)
	}
	sp, err := lookupSpecials(tok)
	if err != nil {
		return nil, fmt.Errorf("find-head: %w", err)
	}
	return &FindHead{tok: tok, sp: sp, max: opts.MaxSeqLength, mapping: opts.Mapping}, nil
}

// Build converts one record; Labels holds MaxSeqLength per-position head
// labels. Records the original skipped (its bare try/except, the length
// test) return a *DropError with the specific reason.
func (f *FindHead) Build(record int, r *FindHeadRecord) (Example, error) {
	ex := Example{Record: record, ID: recordID(r.ID, record), SubjPos: -1, ObjPos: -1, EntityPos: -1, Label: -1}
	n := len(r.Words)
	// 1. head of word w = governor of dependent w+1 (later pairs win, as in
	// the original dict comprehension).
	gov := make(map[int]int, len(r.Pairs))
	for _, p := range r.Pairs {
		gov[p.Dependent] = p.Governor
	}
	heads := make([]int, n)
	for w := 0; w < n; w++ {
		g, ok := gov[w+1]
		if !ok {
			return ex, drop(ReasonMissingHead, "word %d has no dependency pair", w+1)
		}
		heads[w] = g
	}
	// 2. tokens, word by word; first[w] = 0-based position of word w's
	// first sub-token.
	tokens := make([]string, 0, 2*n+2)
	tokens = append(tokens, "<s>")
	first := make([]int, n)
	for w, word := range r.Words {
		if word.Key != strconv.Itoa(w+1) {
			return ex, drop(ReasonBadWord, "tokens[%d] is keyed %q, want %q", w, word.Key, strconv.Itoa(w+1))
		}
		if word.Start < 0 || word.End < 0 {
			return ex, invalid("word %d has a negative offset", w+1)
		}
		first[w] = len(tokens)
		pieces := f.tok.LegacyTokenize(pySliceString(r.Sent, word.Start, word.End))
		if len(pieces) == 0 && f.mapping == HeadMappingFirstSubToken {
			return ex, drop(ReasonEmptyWord, "word %d tokenizes to nothing", w+1)
		}
		tokens = append(tokens, pieces...)
	}
	tokens = append(tokens, "</s>")

	labels := make([]int64, f.max)
	if f.mapping == HeadMappingOriginal {
		// 3. class = 1-based position of the governor's first sub-token
		// from a map with keys 0..n-1 only.
		classes := make([]int64, n)
		for w, g := range heads {
			switch {
			case g == 0:
				classes[w] = 1
			case g >= 1 && g <= n-1:
				classes[w] = int64(first[g-1] + 1)
			case g == n:
				return ex, drop(ReasonHeadIsLastWord, "word %d's governor is the last word %d (KeyError upstream)", w+1, g)
			default:
				return ex, drop(ReasonHeadOutOfRange, "word %d's governor %d is not in 0..%d", w+1, g, n)
			}
		}
		if len(tokens) >= f.max {
			return ex, drop(ReasonTooLong, "%d tokens >= max_seq_length %d", len(tokens), f.max)
		}
		// 4. [0] + classes + [0], right-padded with 0.
		if n+2 > f.max {
			return ex, drop(ReasonLabelOverflow, "%d labels > max_seq_length %d", n+2, f.max)
		}
		copy(labels[1:], classes)
	} else {
		for i := range labels {
			labels[i] = IgnoreLabel
		}
		for w, g := range heads {
			if g < 0 || g > n {
				return ex, drop(ReasonHeadOutOfRange, "word %d's governor %d is not in 0..%d", w+1, g, n)
			}
		}
		if len(tokens) > f.max {
			return ex, drop(ReasonTooLong, "%d tokens > max_seq_length %d", len(tokens), f.max)
		}
		for w, g := range heads {
			target := 0
			if g > 0 {
				target = first[g-1]
			}
			labels[first[w]] = int64(target)
		}
	}
	ex.Tokens = tokens
	ex.InputIDs, ex.AttentionMask = f.sp.padded(f.tok, tokens, f.max, f.sp.pad)
	ex.Labels = labels
	return ex, nil
}

// Convert implements RecordConverter.
func (f *FindHead) Convert(record int, raw []byte) Result {
	return decodeAndBuild(DecodeFindHead, f.Build, record, raw)
}
