package lindeps

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/features"
)

// Options configure a Builder.
type Options struct {
	// MaxSeqLength is find_head's max_seq_length (64 in the original).
	MaxSeqLength int
	// Mapping selects the original label mapping (default) or the
	// corrected first-sub-token mapping (spec §9 quirk 21).
	Mapping features.HeadMapping
}

// Builder computes the find_head features of parsed sentences with the
// features helper's builder (no re-implementation). Safe for concurrent
// use.
type Builder struct {
	fh *features.FindHead
}

// NewBuilder returns a Builder using tok (the RoBERTa tokenizer in legacy
// mode, as the original converter).
func NewBuilder(tok features.Tokenizer, opts Options) (*Builder, error) {
	if opts.MaxSeqLength == 0 {
		opts.MaxSeqLength = 64
	}
	fh, err := features.NewFindHead(tok, features.FindHeadOptions{MaxSeqLength: opts.MaxSeqLength, Mapping: opts.Mapping})
	if err != nil {
		return nil, err
	}
	return &Builder{fh: fh}, nil
}

// Row is one dataset row: a sentence and its features, or the reason the
// find_head converter dropped it.
type Row struct {
	Sentence *Sentence
	// Example holds the features when Drop is "".
	Example features.Example
	// Drop is the find_head drop reason (features.Reason*), "" when kept,
	// "no_features" when no tokenizer was given.
	Drop string
	// DropDetail explains Drop.
	DropDetail string
}

// ReasonNoFeatures marks rows written without a tokenizer.
const ReasonNoFeatures = "no_features"

// Build converts sentence number record. A nil Builder gives rows without
// features.
func (b *Builder) Build(record int, s *Sentence) Row {
	row := Row{Sentence: s}
	if b == nil {
		row.Drop = ReasonNoFeatures
		return row
	}
	rec := s.FindHeadRecord()
	ex, err := b.fh.Build(record, &rec)
	if err != nil {
		row.Drop = features.DropReason(err)
		row.DropDetail = err.Error()
		return row
	}
	row.Example = ex
	return row
}

// Schema is the Arrow schema of the dataset: the parse (words, code-point
// offsets into sent, UPOS, 1-based heads with 0 = root, relations) and the
// find_head features (null when dropped, with the reason in drop_reason).
func Schema() *arrow.Schema {
	str := arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: str},
		{Name: "sent", Type: str},
		{Name: "words", Type: arrow.ListOf(str)},
		{Name: "starts", Type: arrow.ListOf(i64)},
		{Name: "ends", Type: arrow.ListOf(i64)},
		{Name: "upos", Type: arrow.ListOf(str)},
		{Name: "heads", Type: arrow.ListOf(i64)},
		{Name: "deprels", Type: arrow.ListOf(str)},
		{Name: "input_ids", Type: arrow.ListOf(i64), Nullable: true},
		{Name: "attention_mask", Type: arrow.ListOf(i64), Nullable: true},
		{Name: "labels", Type: arrow.ListOf(i64), Nullable: true},
		{Name: "drop_reason", Type: str},
	}, nil)
}

// AppendArrow appends the row to a record builder made from Schema().
func (r *Row) AppendArrow(rb *array.RecordBuilder) {
	s := r.Sentence
	rb.Field(0).(*array.StringBuilder).Append(s.ID)
	rb.Field(1).(*array.StringBuilder).Append(s.Text)
	strList := func(i int, get func(w *Word) string) {
		lb := rb.Field(i).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for k := range s.Words {
			vb.Append(get(&s.Words[k]))
		}
	}
	intList := func(i int, get func(w *Word) int64) {
		lb := rb.Field(i).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Int64Builder)
		for k := range s.Words {
			vb.Append(get(&s.Words[k]))
		}
	}
	strList(2, func(w *Word) string { return w.Form })
	intList(3, func(w *Word) int64 { return int64(w.Start) })
	intList(4, func(w *Word) int64 { return int64(w.End) })
	strList(5, func(w *Word) string { return w.UPOS })
	intList(6, func(w *Word) int64 { return int64(w.Head) })
	strList(7, func(w *Word) string { return w.Deprel })
	feat := func(i int, v []int64) {
		lb := rb.Field(i).(*array.ListBuilder)
		if r.Drop != "" {
			lb.AppendNull()
			return
		}
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues(v, nil)
	}
	feat(8, r.Example.InputIDs)
	feat(9, r.Example.AttentionMask)
	feat(10, r.Example.Labels)
	rb.Field(11).(*array.StringBuilder).Append(r.Drop)
}

// AppendJSON appends the sentence as a find_head record in the original
// layout:
//
//	{"sent": S, "tokens": [{"1": {"start": a, "end": b, "token": W, "upos": U}}, ...],
//	 "pairs": [{"dependent_index": d, "governor_index": g, "dep": R, "dependent": W, "governor": W|"ROOT"}, ...]}
//
// Offsets are code-point offsets into sent; indices are 1-based, governor
// 0 = ROOT; words without a head have no pair. lin-adapter.py reads start,
// end, dependent_index and governor_index; the rest is for people.
func (s *Sentence) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id": `...)
	dst = appendString(dst, s.ID)
	dst = append(dst, `, "sent": `...)
	dst = appendString(dst, s.Text)
	dst = append(dst, `, "tokens": [`...)
	for i, w := range s.Words {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, `{"`...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `": {"start": `...)
		dst = strconv.AppendInt(dst, int64(w.Start), 10)
		dst = append(dst, `, "end": `...)
		dst = strconv.AppendInt(dst, int64(w.End), 10)
		dst = append(dst, `, "token": `...)
		dst = appendString(dst, w.Form)
		dst = append(dst, `, "upos": `...)
		dst = appendString(dst, w.UPOS)
		dst = append(dst, "}}"...)
	}
	dst = append(dst, `], "pairs": [`...)
	first := true
	for i, w := range s.Words {
		if w.Head == NoHead {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = append(dst, `{"dependent_index": `...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `, "governor_index": `...)
		dst = strconv.AppendInt(dst, int64(w.Head), 10)
		dst = append(dst, `, "dep": `...)
		dst = appendString(dst, w.Deprel)
		dst = append(dst, `, "dependent": `...)
		dst = appendString(dst, w.Form)
		dst = append(dst, `, "governor": `...)
		gov := "ROOT"
		if w.Head >= 1 && w.Head <= len(s.Words) {
			gov = s.Words[w.Head-1].Form
		}
		dst = appendString(dst, gov)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, fmt.Sprintf(`\u%04x`, r)...)
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
