package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bytedance/sonic"
)

// RelationRecord is one TACRED or T-REx relation-classification record:
// words plus inclusive subject/object word spans and the relation name.
// TACRED's files and the fac-adapter's trex-rc files share this layout.
type RelationRecord struct {
	// ID is the record's "id" field (TACRED has one; trex-rc does not).
	ID string
	// Token holds the words.
	Token []string
	// SubjStart, SubjEnd, ObjStart, ObjEnd are inclusive word indices.
	SubjStart, SubjEnd, ObjStart, ObjEnd int
	// Relation is the relation name ("per:title", "P19", "no_relation").
	Relation string
}

// EntityRecord is one OpenEntity or FIGER record: a sentence, the mention's
// character span [Start, End) in Unicode code points, and its type labels.
type EntityRecord struct {
	// ID is the record's "id" field when it has one.
	ID string
	// Sent is the sentence.
	Sent string
	// Start and End are code-point offsets into Sent, End exclusive.
	Start, End int
	// Labels are the type names.
	Labels []string
}

// FindHeadWord is one word of a find_head record: its 1-based number (the
// key of the one-key dict) and character offsets into the sentence.
type FindHeadWord struct {
	// Key is the dict key ("1", "2", ...).
	Key string
	// Start and End are code-point offsets into the sentence.
	Start, End int
}

// FindHeadPair is one dependency: 1-based dependent and governor word
// numbers, governor 0 = ROOT.
type FindHeadPair struct {
	// Dependent is dependent_index.
	Dependent int
	// Governor is governor_index.
	Governor int
}

// FindHeadRecord is one lin-adapter find_head record (spec §7.2).
type FindHeadRecord struct {
	// ID is the record's "id" field when it has one.
	ID string
	// Sent is the sentence.
	Sent string
	// Words are the "tokens" entries in order.
	Words []FindHeadWord
	// Pairs are the "pairs" entries in order.
	Pairs []FindHeadPair
}

// CosmosQARecord is one CosmosQA JSON line.
type CosmosQARecord struct {
	// ID is the record's "id" field.
	ID string
	// Context, Question are the passage and question.
	Context, Question string
	// Answers are answer0..answer3.
	Answers [4]string
	// Label is the gold answer index, or -1 when the record has none.
	Label int
	// LabelWasIntZero records that the label was the JSON integer 0 (the
	// original's "int(label) if label else None" turns it into None).
	LabelWasIntZero bool
}

func decodeID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func invalid(format string, args ...any) *DropError {
	return drop(ReasonInvalidRecord, format, args...)
}

func requireInt(name string, p *int) (int, error) {
	if p == nil {
		return 0, invalid("missing or null %q", name)
	}
	if *p < 0 {
		return 0, invalid("%q is negative (%d)", name, *p)
	}
	return *p, nil
}

func unmarshalObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return invalid("not a JSON object")
	}
	if err := sonic.ConfigStd.Unmarshal(data, v); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// DecodeRelation decodes one TACRED / trex-rc record. Negative indices are
// rejected (the original would have wrapped them around Python-style).
func DecodeRelation(data []byte) (RelationRecord, error) {
	var raw struct {
		ID        json.RawMessage `json:"id"`
		Token     []string        `json:"token"`
		SubjStart *int            `json:"subj_start"`
		SubjEnd   *int            `json:"subj_end"`
		ObjStart  *int            `json:"obj_start"`
		ObjEnd    *int            `json:"obj_end"`
		Relation  *string         `json:"relation"`
	}
	var r RelationRecord
	if err := unmarshalObject(data, &raw); err != nil {
		return r, err
	}
	if raw.Token == nil {
		return r, invalid(`missing or null "token"`)
	}
	if raw.Relation == nil {
		return r, invalid(`missing or null "relation"`)
	}
	var err error
	if r.SubjStart, err = requireInt("subj_start", raw.SubjStart); err != nil {
		return r, err
	}
	if r.SubjEnd, err = requireInt("subj_end", raw.SubjEnd); err != nil {
		return r, err
	}
	if r.ObjStart, err = requireInt("obj_start", raw.ObjStart); err != nil {
		return r, err
	}
	if r.ObjEnd, err = requireInt("obj_end", raw.ObjEnd); err != nil {
		return r, err
	}
	r.ID = decodeID(raw.ID)
	r.Token = raw.Token
	r.Relation = *raw.Relation
	return r, nil
}

// DecodeEntity decodes one OpenEntity / FIGER record ("ents" is ignored).
func DecodeEntity(data []byte) (EntityRecord, error) {
	var raw struct {
		ID     json.RawMessage `json:"id"`
		Sent   *string         `json:"sent"`
		Start  *int            `json:"start"`
		End    *int            `json:"end"`
		Labels []string        `json:"labels"`
	}
	var r EntityRecord
	if err := unmarshalObject(data, &raw); err != nil {
		return r, err
	}
	if raw.Sent == nil {
		return r, invalid(`missing or null "sent"`)
	}
	if raw.Labels == nil {
		return r, invalid(`missing or null "labels"`)
	}
	var err error
	if r.Start, err = requireInt("start", raw.Start); err != nil {
		return r, err
	}
	if r.End, err = requireInt("end", raw.End); err != nil {
		return r, err
	}
	r.ID = decodeID(raw.ID)
	r.Sent = *raw.Sent
	r.Labels = raw.Labels
	return r, nil
}

// DecodeFindHead decodes one find_head record. Each "tokens" element must
// be an object with exactly one key; which key it is is checked by the
// builder (the original looked up str(i+1) and skipped the example on a
// KeyError).
func DecodeFindHead(data []byte) (FindHeadRecord, error) {
	var raw struct {
		ID     json.RawMessage              `json:"id"`
		Sent   *string                      `json:"sent"`
		Tokens []map[string]json.RawMessage `json:"tokens"`
		Pairs  []struct {
			Dependent *int `json:"dependent_index"`
			Governor  *int `json:"governor_index"`
		} `json:"pairs"`
	}
	var r FindHeadRecord
	if err := unmarshalObject(data, &raw); err != nil {
		return r, err
	}
	if raw.Sent == nil {
		return r, invalid(`missing or null "sent"`)
	}
	if raw.Tokens == nil {
		return r, invalid(`missing or null "tokens"`)
	}
	if raw.Pairs == nil {
		return r, invalid(`missing or null "pairs"`)
	}
	r.ID = decodeID(raw.ID)
	r.Sent = *raw.Sent
	r.Words = make([]FindHeadWord, len(raw.Tokens))
	for i, m := range raw.Tokens {
		if len(m) != 1 {
			return r, invalid("tokens[%d] has %d keys, want 1", i, len(m))
		}
		for k, v := range m {
			var span struct {
				Start *int `json:"start"`
				End   *int `json:"end"`
			}
			if err := unmarshalObject(v, &span); err != nil {
				return r, invalid("tokens[%d]: %v", i, err)
			}
			w := FindHeadWord{Key: k}
			var err error
			if w.Start, err = requireInt(fmt.Sprintf("tokens[%d].start", i), span.Start); err != nil {
				return r, err
			}
			if w.End, err = requireInt(fmt.Sprintf("tokens[%d].end", i), span.End); err != nil {
				return r, err
			}
			r.Words[i] = w
		}
	}
	r.Pairs = make([]FindHeadPair, len(raw.Pairs))
	for i, p := range raw.Pairs {
		if p.Dependent == nil || p.Governor == nil {
			return r, invalid("pairs[%d] lacks dependent_index or governor_index", i)
		}
		r.Pairs[i] = FindHeadPair{Dependent: *p.Dependent, Governor: *p.Governor}
	}
	return r, nil
}

// DecodeCosmosQA decodes one CosmosQA line. The label may be an integer, a
// string holding an integer, or absent/null/"" (no label, Label -1).
func DecodeCosmosQA(data []byte) (CosmosQARecord, error) {
	var raw struct {
		ID       json.RawMessage `json:"id"`
		Context  *string         `json:"context"`
		Question *string         `json:"question"`
		Answer0  *string         `json:"answer0"`
		Answer1  *string         `json:"answer1"`
		Answer2  *string         `json:"answer2"`
		Answer3  *string         `json:"answer3"`
		Label    json.RawMessage `json:"label"`
	}
	r := CosmosQARecord{Label: -1}
	if err := unmarshalObject(data, &raw); err != nil {
		return r, err
	}
	for _, f := range []struct {
		name string
		p    *string
	}{{"context", raw.Context}, {"question", raw.Question}, {"answer0", raw.Answer0},
		{"answer1", raw.Answer1}, {"answer2", raw.Answer2}, {"answer3", raw.Answer3}} {
		if f.p == nil {
			return r, invalid("missing or null %q", f.name)
		}
	}
	r.ID = decodeID(raw.ID)
	r.Context, r.Question = *raw.Context, *raw.Question
	r.Answers = [4]string{*raw.Answer0, *raw.Answer1, *raw.Answer2, *raw.Answer3}
	lab := bytes.TrimSpace(raw.Label)
	switch {
	case len(lab) == 0 || bytes.Equal(lab, []byte("null")):
	case lab[0] == '"':
		var s string
		if err := json.Unmarshal(lab, &s); err != nil {
			return r, drop(ReasonInvalidLabel, "label %s: %v", lab, err)
		}
		if s == "" {
			break
		}
		n, err := strconv.Atoi(trimPySpace(s))
		if err != nil {
			return r, drop(ReasonInvalidLabel, "label %q is not an integer", s)
		}
		if n < 0 || n > 3 {
			return r, drop(ReasonInvalidLabel, "label %d is not in 0..3", n)
		}
		r.Label = n
	default:
		var n int
		if err := json.Unmarshal(lab, &n); err != nil {
			return r, drop(ReasonInvalidLabel, "label %s is not an integer", lab)
		}
		if n < 0 || n > 3 {
			return r, drop(ReasonInvalidLabel, "label %d is not in 0..3", n)
		}
		r.Label = n
		r.LabelWasIntZero = n == 0
	}
	return r, nil
}

// trimPySpace trims the ASCII whitespace Python's int() accepts around a
// number.
func trimPySpace(s string) string {
	return string(bytes.Trim([]byte(s), " \t\n\r\v\f"))
}
