// Package features turns the original K-Adapter task records (TACRED,
// T-REx relation classification, find_head, OpenEntity, FIGER, CosmosQA)
// into model inputs exactly as the original Python converters did: the same
// pytorch_transformers 1.2.0 tokenization, the same marker tokens and marker
// positions, the same truncation, padding ids and label encodings, and the
// same examples dropped. Where the original crashed (an assertion, a
// KeyError, an IndexError) the record is rejected with a reason instead, and
// every record that does not become an Example is counted by reason.
//
// Each task has a builder type (TACRED, TREXRC, FindHead, OpenEntity, FIGER,
// CosmosQA) with a Build method that is safe for concurrent use, and a
// registered Format (Register) that NewConverter selects it by; stateful
// steps that depend on file order (TACRED's negative sampling) live in a
// separate NegativeSampler that must see the records in order.
package features

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Tokenizer is what the builders need from the RoBERTa tokenizer: the
// pytorch_transformers 1.2.0 RobertaTokenizer.tokenize behaviour (spec §5)
// and a token to id lookup. Implementations must be safe for concurrent use.
type Tokenizer interface {
	// LegacyTokenize splits text on the special-token strings, strips every
	// piece and byte-level-BPE-encodes ' '+piece, returning token strings.
	LegacyTokenize(text string) []string
	// TokenID returns the id of a token string and whether it is in the
	// vocabulary.
	TokenID(token string) (int, bool)
}

// Choice is one answer candidate of a multiple-choice (CosmosQA) example.
type Choice struct {
	// Tokens are the real tokens, <s> ... </s>, without padding.
	Tokens []string
	// InputIDs holds MaxSeqLength ids, padded with the pad id.
	InputIDs []int64
	// AttentionMask is 1 for real tokens and 0 for padding.
	AttentionMask []int64
}

// Example is one model input built from one source record. Fields a task
// does not use keep their zero value (positions -1, Labels nil, Choices nil).
type Example struct {
	// Record is the 0-based position of the source record in its input.
	Record int
	// ID is the source record's "id" field, or Record written in decimal
	// when the record has none.
	ID string
	// Tokens are the real tokens, <s> ... </s>, without padding (not used
	// by CosmosQA, whose tokens are per choice).
	Tokens []string
	// InputIDs holds MaxSeqLength token ids, right-padded.
	InputIDs []int64
	// AttentionMask holds MaxSeqLength values: 1 for real tokens, 0 for
	// padding.
	AttentionMask []int64
	// SubjPos and ObjPos are the 0-based sequence positions of the subject
	// marker '@' and object marker '#' (TACRED, T-REx); -1 otherwise.
	SubjPos, ObjPos int
	// EntityPos is the 0-based position of the first 'Ġ@' marker
	// (OpenEntity, FIGER); -1 otherwise.
	EntityPos int
	// Label is the class index (TACRED, T-REx, CosmosQA); -1 when the task
	// has no single label or the record has none (CosmosQA).
	Label int
	// Labels is the multi-hot label vector (OpenEntity, FIGER; one entry per
	// label in the label list) or the per-position head labels (find_head;
	// MaxSeqLength entries); nil otherwise.
	Labels []int64
	// Choices are CosmosQA's four candidates; nil for other tasks.
	Choices []Choice
}

// Reasons for which a record does not become an Example. Reasons marked
// "rejected" are records on which the original code crashed (bad input);
// --strict fails on them. The others are drops that the original converter
// made by design; they are counted but never fatal.
const (
	// ReasonInvalidRecord (rejected): the record does not decode into the
	// task's layout (missing field, wrong type, negative index...).
	ReasonInvalidRecord = "invalid_record"
	// ReasonUnknownLabel (rejected): a relation or type not in the label
	// list (the original raised KeyError / ValueError).
	ReasonUnknownLabel = "unknown_label"
	// ReasonInvalidLabel (rejected): a CosmosQA label that is not an
	// integer in 0..3.
	ReasonInvalidLabel = "invalid_label"
	// ReasonMarkerAtMaxLen (rejected): a TACRED marker index equal to
	// max_seq_length (the original raised IndexError and the run crashed);
	// TACREDOptions.ClampAtMax clamps it to max_seq_length-10 instead.
	ReasonMarkerAtMaxLen = "marker_at_max_len"
	// ReasonTooLongRejected (rejected): an OpenEntity input longer than
	// max_seq_length (the original failed an assertion; it never truncates).
	ReasonTooLongRejected = "too_long_rejected"

	// ReasonNegativeSampled: a training no_relation example removed by
	// negative sampling (the counter keeps only n-1 of them).
	ReasonNegativeSampled = "negative_sampled"
	// ReasonMarkerPastMaxLen: a T-REx example whose shifted marker index is
	// >= max_seq_length (dropped by the original fac-adapter converter).
	ReasonMarkerPastMaxLen = "marker_past_max_len"
	// ReasonTooLong: FIGER and find_head inputs with len(tokens) >=
	// max_seq_length (dropped by the original, also from test sets).
	ReasonTooLong = "too_long"
	// ReasonMissingHead: a find_head word without a dependency pair.
	ReasonMissingHead = "missing_head"
	// ReasonHeadIsLastWord: a find_head governor that is the last word (the
	// original's index map lacks it: KeyError, silently skipped).
	ReasonHeadIsLastWord = "head_is_last_word"
	// ReasonHeadOutOfRange: a find_head governor outside 0..n.
	ReasonHeadOutOfRange = "head_out_of_range"
	// ReasonBadWord: a find_head word entry without the expected key
	// (silently skipped by the original's bare except).
	ReasonBadWord = "bad_word"
	// ReasonLabelOverflow: a find_head label vector longer than
	// max_seq_length (only possible with words that tokenize to nothing; the
	// original would build a ragged tensor and crash later).
	ReasonLabelOverflow = "label_overflow"
	// ReasonEmptyWord: a word that tokenizes to nothing, in the corrected
	// find_head mapping (it has no first sub-token to carry a label).
	ReasonEmptyWord = "empty_word"
	// ReasonInvalidInput (rejected): the input could not be read past this
	// point (a truncated or invalid JSON array, garbage after it, a read
	// error); counted once for the unread rest, the records before it kept.
	ReasonInvalidInput = "invalid_input"
)

var rejectedReasons = map[string]bool{
	ReasonInvalidRecord:   true,
	ReasonUnknownLabel:    true,
	ReasonInvalidLabel:    true,
	ReasonMarkerAtMaxLen:  true,
	ReasonTooLongRejected: true,
	ReasonInvalidInput:    true,
}

// IsRejection reports whether reason marks bad input (the original
// crashed) rather than a by-design drop.
func IsRejection(reason string) bool { return rejectedReasons[reason] }

// DropError says why a record did not become an Example.
type DropError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Detail explains the problem for this record.
	Detail string
}

// Error implements error.
func (e *DropError) Error() string {
	if e.Detail == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Detail
}

func drop(reason, format string, args ...any) *DropError {
	return &DropError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// DropReason returns the reason of a *DropError in err's chain, or
// ReasonInvalidRecord for any other non-nil error, or "" for nil.
func DropReason(err error) string {
	if err == nil {
		return ""
	}
	var de *DropError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ReasonInvalidRecord
}

// DropCounts counts records that did not become Examples, by reason.
type DropCounts map[string]int

// Add counts one record dropped for reason.
func (d DropCounts) Add(reason string) { d[reason]++ }

// Total returns the number of dropped records.
func (d DropCounts) Total() int {
	n := 0
	for _, v := range d {
		n += v
	}
	return n
}

// Rejected returns how many drops were rejections (bad input).
func (d DropCounts) Rejected() int {
	n := 0
	for r, v := range d {
		if IsRejection(r) {
			n += v
		}
	}
	return n
}

// String lists the reasons in sorted order ("too_long=3, unknown_label=1").
func (d DropCounts) String() string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, d[k])
	}
	return strings.Join(parts, ", ")
}

// specials holds the ids the builders insert themselves.
type specials struct {
	cls, sep, pad, unk int64
}

func lookupSpecials(tok Tokenizer) (specials, error) {
	var s specials
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"<s>", &s.cls}, {"</s>", &s.sep}, {"<pad>", &s.pad}, {"<unk>", &s.unk}} {
		id, ok := tok.TokenID(p.name)
		if !ok {
			return s, fmt.Errorf("vocabulary has no %s token", p.name)
		}
		*p.dst = int64(id)
	}
	return s, nil
}

// ids converts tokens to ids like convert_tokens_to_ids: unknown tokens
// become <unk>.
func (s specials) ids(tok Tokenizer, tokens []string, dst []int64) []int64 {
	for _, t := range tokens {
		id, ok := tok.TokenID(t)
		if !ok {
			dst = append(dst, s.unk)
			continue
		}
		dst = append(dst, int64(id))
	}
	return dst
}

// padded returns ids and mask of length max for tokens, right-padded with
// pad (mask 0). len(tokens) must be <= max.
func (s specials) padded(tok Tokenizer, tokens []string, max int, pad int64) ([]int64, []int64) {
	buf := make([]int64, 0, 2*max)
	ids := s.ids(tok, tokens, buf[:0:max])
	n := len(ids)
	for len(ids) < max {
		ids = append(ids, pad)
	}
	mask := buf[max : 2*max]
	for i := range mask {
		if i < n {
			mask[i] = 1
		} else {
			mask[i] = 0
		}
	}
	return ids, mask
}
