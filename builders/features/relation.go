package features

import (
	"fmt"
	"strconv"
	"strings"
)

// TACREDRelations is the 42-relation list of K-Adapter's
// examples/utils_glue.py, in its order; the label id is the index
// (no_relation = 28).
var TACREDRelations = []string{
	"per:siblings", "per:parents", "org:member_of", "per:origin", "per:alternate_names", "per:date_of_death",
	"per:title", "org:alternate_names", "per:countries_of_residence", "org:stateorprovince_of_headquarters",
	"per:city_of_death", "per:schools_attended", "per:employee_of", "org:members", "org:dissolved",
	"per:date_of_birth", "org:number_of_employees/members", "org:founded", "org:founded_by",
	"org:political/religious_affiliation", "org:website", "org:top_members/employees", "per:children",
	"per:cities_of_residence", "per:cause_of_death", "org:shareholders", "per:age", "per:religion",
	"no_relation",
	"org:parents", "org:subsidiaries", "per:country_of_birth", "per:stateorprovince_of_death",
	"per:city_of_birth",
	"per:stateorprovinces_of_residence", "org:country_of_headquarters", "per:other_family",
	"per:stateorprovince_of_birth",
	"per:country_of_death", "per:charges", "org:city_of_headquarters", "per:spouse",
}

// NoRelation is the TACRED negative label.
const NoRelation = "no_relation"

// Default max_seq_length of the original scripts.
const (
	DefaultTACREDMaxSeqLength     = 184
	DefaultTREXMaxSeqLength       = 64
	DefaultFindHeadMaxSeqLength   = 64
	DefaultOpenEntityMaxSeqLength = 256
	DefaultFIGERMaxSeqLength      = 256
	DefaultCosmosQAMaxSeqLength   = 256
)

// TACREDOptions configures the TACRED builder.
type TACREDOptions struct {
	// MaxSeqLength is max_seq_length (184 in the original script).
	MaxSeqLength int
	// Labels is the relation list; nil means TACREDRelations.
	Labels []string
	// ClampAtMax turns a marker index equal to MaxSeqLength (an IndexError
	// crash in the original) into the same MaxSeqLength-10 clamp used for
	// larger indices, instead of rejecting the record.
	ClampAtMax bool
}

// TREXOptions configures the T-REx relation-classification (fac-adapter)
// builder.
type TREXOptions struct {
	// MaxSeqLength is max_seq_length (64 in the original script).
	MaxSeqLength int
	// Labels is the relation list: the 410-entry trex_relations list of
	// K-Adapter's root utils_glue.py, whose index is the label id.
	Labels []string
}

// relationBuilder is shared by TACRED and T-REx: the same input
// construction, different marker handling.
type relationBuilder struct {
	tok        Tokenizer
	sp         specials
	max        int
	labels     map[string]int
	trex       bool
	clampAtMax bool
}

// TACRED builds TACRED features (spec §6.1). Safe for concurrent use.
type TACRED struct{ b relationBuilder }

// TREXRC builds fac-adapter relation-classification features (spec §7.1).
// Safe for concurrent use.
type TREXRC struct{ b relationBuilder }

func labelIndex(labels []string) (map[string]int, error) {
	m := make(map[string]int, len(labels))
	for i, l := range labels {
		if _, dup := m[l]; dup {
			return nil, fmt.Errorf("label list has %q twice", l)
		}
		m[l] = i
	}
	return m, nil
}

func newRelationBuilder(tok Tokenizer, max int, labels []string) (relationBuilder, error) {
	var b relationBuilder
	if max < 3 {
		return b, fmt.Errorf("max_seq_length %d is too small", max)
	}
	if len(labels) == 0 {
		return b, fmt.Errorf("empty label list")
	}
	sp, err := lookupSpecials(tok)
	if err != nil {
		return b, err
	}
	m, err := labelIndex(labels)
	if err != nil {
		return b, err
	}
	return relationBuilder{tok: tok, sp: sp, max: max, labels: m}, nil
}

// NewTACRED returns a TACRED builder.
func NewTACRED(tok Tokenizer, opts TACREDOptions) (*TACRED, error) {
	labels := opts.Labels
	if labels == nil {
		labels = TACREDRelations
	}
	b, err := newRelationBuilder(tok, opts.MaxSeqLength, labels)
	if err != nil {
		return nil, fmt.Errorf("tacred: %w", err)
	}
	b.clampAtMax = opts.ClampAtMax
	return &TACRED{b: b}, nil
}

// NewTREXRC returns a T-REx relation-classification builder.
func NewTREXRC(tok Tokenizer, opts TREXOptions) (*TREXRC, error) {
	b, err := newRelationBuilder(tok, opts.MaxSeqLength, opts.Labels)
	if err != nil {
		return nil, fmt.Errorf("trex-rc: %w", err)
	}
	b.trex = true
	return &TREXRC{b: b}, nil
}

// Build converts one record (the record-th of its input). A record that
// does not become an Example returns a *DropError.
func (t *TACRED) Build(record int, r *RelationRecord) (Example, error) {
	return t.b.build(record, r)
}

// Build converts one record (the record-th of its input). A record that
// does not become an Example returns a *DropError.
func (t *TREXRC) Build(record int, r *RelationRecord) (Example, error) {
	return t.b.build(record, r)
}

// pySlice returns words[a:b] with Python's clamping for a, b >= 0.
func pySlice(words []string, a, b int) []string {
	n := len(words)
	if a > n {
		a = n
	}
	if b > n {
		b = n
	}
	if a >= b {
		return nil
	}
	return words[a:b]
}

func (b *relationBuilder) tokenizeWords(dst []string, words []string) []string {
	if len(words) == 0 {
		return dst
	}
	return append(dst, b.tok.LegacyTokenize(strings.Join(words, " "))...)
}

func recordID(id string, record int) string {
	if id != "" {
		return id
	}
	return strconv.Itoa(record)
}

func (b *relationBuilder) build(record int, r *RelationRecord) (Example, error) {
	ex := Example{Record: record, ID: recordID(r.ID, record), EntityPos: -1, Label: -1}
	label, ok := b.labels[r.Relation]
	if !ok {
		return ex, drop(ReasonUnknownLabel, "relation %q is not in the label list", r.Relation)
	}
	if r.SubjStart < 0 || r.SubjEnd < 0 || r.ObjStart < 0 || r.ObjEnd < 0 {
		return ex, invalid("negative span index")
	}
	w := r.Token
	tokens := make([]string, 0, len(w)+16)
	var subj, obj int
	if r.SubjStart < r.ObjStart {
		tokens = b.tokenizeWords(tokens, pySlice(w, 0, r.SubjStart))
		subj = len(tokens)
		tokens = append(tokens, "@")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.SubjStart, r.SubjEnd+1))
		tokens = append(tokens, "@")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.SubjEnd+1, r.ObjStart))
		obj = len(tokens)
		tokens = append(tokens, "#")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.ObjStart, r.ObjEnd+1))
		tokens = append(tokens, "#")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.ObjEnd+1, len(w)))
	} else {
		tokens = b.tokenizeWords(tokens, pySlice(w, 0, r.ObjStart))
		obj = len(tokens)
		tokens = append(tokens, "#")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.ObjStart, r.ObjEnd+1))
		tokens = append(tokens, "#")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.ObjEnd+1, r.SubjStart))
		subj = len(tokens)
		tokens = append(tokens, "@")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.SubjStart, r.SubjEnd+1))
		tokens = append(tokens, "@")
		tokens = b.tokenizeWords(tokens, pySlice(w, r.SubjEnd+1, len(w)))
	}
	// _truncate_seq_pair(tokens, [], max-2): drop from the end.
	if len(tokens) > b.max-2 {
		tokens = tokens[:b.max-2]
	}
	full := make([]string, 0, len(tokens)+2)
	full = append(full, "<s>")
	full = append(full, tokens...)
	full = append(full, "</s>")
	subj++
	obj++

	if b.trex {
		if subj >= b.max || obj >= b.max {
			return ex, drop(ReasonMarkerPastMaxLen, "marker index (subject %d, object %d) >= max_seq_length %d", subj, obj, b.max)
		}
	} else {
		var err error
		if subj, err = b.clamp(subj, "subject"); err != nil {
			return ex, err
		}
		if obj, err = b.clamp(obj, "object"); err != nil {
			return ex, err
		}
	}
	ex.Tokens = full
	ex.InputIDs, ex.AttentionMask = b.sp.padded(b.tok, full, b.max, b.sp.pad)
	ex.SubjPos, ex.ObjPos = subj, obj
	ex.Label = label
	return ex, nil
}

// clamp applies TACRED's marker clamp: an index > max becomes max-10 (with
// numpy's negative-index wrap for tiny max); an index == max raised
// IndexError upstream and is rejected unless clampAtMax.
func (b *relationBuilder) clamp(pos int, which string) (int, error) {
	if pos == b.max && !b.clampAtMax {
		return pos, drop(ReasonMarkerAtMaxLen, "%s marker index %d equals max_seq_length (IndexError upstream)", which, pos)
	}
	if pos >= b.max {
		pos = b.max - 10
		if pos < 0 {
			pos += b.max
		}
		if pos < 0 {
			return pos, drop(ReasonMarkerAtMaxLen, "%s marker clamp %d is out of range for max_seq_length %d", which, b.max-10, b.max)
		}
	}
	return pos, nil
}

// NegativeSampler reproduces the training-set negative sampling of the
// TACRED (and T-REx) processors: a counter starts at n and is decremented
// before the "> 0" test at every no_relation record, so only the first n-1
// no_relation records are kept; all other records are kept. It must see
// the records in file order and is not safe for concurrent use. A nil
// *NegativeSampler keeps everything (dev/test behaviour).
type NegativeSampler struct {
	left int
}

// NewNegativeSampler returns a sampler for --negative_sample n.
func NewNegativeSampler(n int) *NegativeSampler { return &NegativeSampler{left: n} }

// Keep reports whether a record with this relation survives sampling.
func (s *NegativeSampler) Keep(relation string) bool {
	if s == nil || relation != NoRelation {
		return true
	}
	s.left--
	return s.left > 0
}

// Convert implements RecordConverter.
func (t *TACRED) Convert(record int, raw []byte) Result { return convertRelation(t, record, raw) }

// ConvertRelation implements RelationConverter.
func (t *TACRED) ConvertRelation(record int, r *RelationRecord) Result {
	ex, err := t.Build(record, r)
	return Result{Example: ex, Err: err, relation: r.Relation, decoded: true}
}

// Convert implements RecordConverter.
func (t *TREXRC) Convert(record int, raw []byte) Result { return convertRelation(t, record, raw) }

// ConvertRelation implements RelationConverter.
func (t *TREXRC) ConvertRelation(record int, r *RelationRecord) Result {
	ex, err := t.Build(record, r)
	return Result{Example: ex, Err: err, relation: r.Relation, decoded: true}
}

// convertRelation decodes a raw relation record and converts it.
func convertRelation(c RelationConverter, record int, raw []byte) Result {
	r, err := DecodeRelation(raw)
	if err != nil {
		return Result{Err: err}
	}
	return c.ConvertRelation(record, &r)
}
