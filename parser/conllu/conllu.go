// Package conllu reads and writes CoNLL-U, the Universal Dependencies file
// format (https://universaldependencies.org/format.html), one sentence at a
// time, in the style of encoding/csv.
//
// A sentence is a block of comment lines ("# sent_id = ...", "# text = ...")
// followed by word lines with ten tab-separated fields, and ends at a blank
// line. Besides the syntactic words (integer IDs 1..n, which form the basic
// dependency tree), a sentence may hold multiword token ranges ("1-2",
// e.g. "don't" over "do" + "n't") and empty nodes ("8.1", used only by the
// enhanced graph). Both are kept so that a sentence read and written again
// is unchanged, and both are excluded from Words, the basic tree.
package conllu

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NoHead is the Head of a word whose HEAD field is "_" (an untagged or
// unparsed word, e.g. tokenizer output that has not been parsed yet).
const NoHead = -1

// Word is one syntactic word of the basic dependency tree: a line with an
// integer ID. Fields that hold "_" in the file hold "_" here too, except
// HEAD, which becomes NoHead.
type Word struct {
	ID     int    // 1-based position in the sentence
	Form   string // word form or punctuation symbol
	Lemma  string // lemma or stem
	UPOS   string // universal part-of-speech tag
	XPOS   string // language-specific part-of-speech tag
	Feats  string // morphological features, "|"-separated, or "_"
	Head   int    // ID of the head word, 0 for the root, NoHead for "_"
	Deprel string // universal dependency relation to the head (may carry a ":subtype")
	Deps   string // enhanced dependency graph, "head:deprel" pairs, or "_"
	Misc   string // any other annotation, e.g. "SpaceAfter=No", or "_"
}

// MultiwordToken is a range line "First-Last": a surface token that spans the
// syntactic words First..Last (e.g. "don't" over "do" and "n't"). Only FORM
// and MISC carry information; the other fields are "_" by the format.
type MultiwordToken struct {
	First, Last int    // IDs of the first and the last word it spans
	Form        string // the surface token
	Misc        string // e.g. "SpaceAfter=No", or "_"
}

// EmptyNode is a decimal-ID line "Major.Minor": an empty node of the enhanced
// representation, inserted after word Major (0: before the first word). It
// has no basic HEAD/DEPREL ("_" in the file) and is not part of Words.
type EmptyNode struct {
	Major, Minor int
	Form         string
	Lemma        string
	UPOS         string
	XPOS         string
	Feats        string
	Deps         string
	Misc         string
}

// Sentence is one CoNLL-U sentence.
type Sentence struct {
	// Comments holds the comment lines as they appear, each starting with
	// '#', e.g. "# text = Hello world". Use Meta/SetMeta for key = value
	// comments.
	Comments []string
	// Words is the basic tree: Words[i].ID == i+1.
	Words []Word
	// Tokens holds the multiword token ranges, in file order.
	Tokens []MultiwordToken
	// Empty holds the empty nodes, in file order.
	Empty []EmptyNode
}

// Meta returns the value of the first "# key = value" comment (the value is
// trimmed of surrounding spaces). "# key" alone (no "=") yields "" and true.
func (s *Sentence) Meta(key string) (string, bool) {
	for _, c := range s.Comments {
		k, v, ok := splitMeta(c)
		if ok && k == key {
			return v, true
		}
	}
	return "", false
}

// SetMeta replaces the first "# key = value" comment, or appends one.
func (s *Sentence) SetMeta(key, value string) {
	line := "# " + key + " = " + value
	for i, c := range s.Comments {
		if k, _, ok := splitMeta(c); ok && k == key {
			s.Comments[i] = line
			return
		}
	}
	s.Comments = append(s.Comments, line)
}

func splitMeta(c string) (key, value string, ok bool) {
	c = strings.TrimSpace(strings.TrimPrefix(c, "#"))
	if c == "" {
		return "", "", false
	}
	k, v, found := strings.Cut(c, "=")
	if !found {
		return strings.TrimSpace(k), "", true
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// SentID returns the "# sent_id" comment value, or "".
func (s *Sentence) SentID() string { v, _ := s.Meta("sent_id"); return v }

// Text returns the "# text" comment value, or "".
func (s *Sentence) Text() string { v, _ := s.Meta("text"); return v }

// Forms returns the word forms of the basic tree.
func (s *Sentence) Forms() []string {
	out := make([]string, len(s.Words))
	for i := range s.Words {
		out[i] = s.Words[i].Form
	}
	return out
}

// SpaceAfter reports whether MISC says nothing against a space after a
// token: false when misc holds "SpaceAfter=No".
func SpaceAfter(misc string) bool {
	if misc == "_" || misc == "" {
		return true
	}
	for _, item := range strings.Split(misc, "|") {
		if item == "SpaceAfter=No" {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of s.
func (s *Sentence) Clone() *Sentence {
	c := &Sentence{}
	c.Comments = append([]string(nil), s.Comments...)
	c.Words = append([]Word(nil), s.Words...)
	c.Tokens = append([]MultiwordToken(nil), s.Tokens...)
	c.Empty = append([]EmptyNode(nil), s.Empty...)
	return c
}

// Validate checks the invariants the Reader guarantees: word IDs 1..n,
// heads in 0..n or NoHead, ranges inside the sentence and not overlapping,
// empty nodes in order after an existing word, and fields that are not
// empty and hold no tab or newline. The Writer refuses invalid sentences.
func (s *Sentence) Validate() error {
	n := len(s.Words)
	for _, c := range s.Comments {
		if !strings.HasPrefix(c, "#") || strings.ContainsAny(c, "\n\r") || !utf8.ValidString(c) {
			return fmt.Errorf("comment %q must start with '#' and hold no newline", c)
		}
	}
	for i := range s.Words {
		w := &s.Words[i]
		if w.ID != i+1 {
			return fmt.Errorf("word %d has ID %d, want %d", i+1, w.ID, i+1)
		}
		if w.Head != NoHead && (w.Head < 0 || w.Head > n) {
			return fmt.Errorf("word %d: HEAD %d outside 0..%d", w.ID, w.Head, n)
		}
		if w.Head == w.ID {
			return fmt.Errorf("word %d: HEAD is the word itself", w.ID)
		}
		for j, f := range [...]string{w.Form, w.Lemma, w.UPOS, w.XPOS, w.Feats, w.Deprel, w.Deps, w.Misc} {
			if err := checkField(f, noSpace[fieldIndex[j]]); err != nil {
				return fmt.Errorf("word %d: %s: %v", w.ID, fieldNames[fieldIndex[j]], err)
			}
		}
	}
	prevLast := 0
	for _, t := range s.Tokens {
		if t.First < 1 || t.Last <= t.First || t.Last > n {
			return fmt.Errorf("multiword token %d-%d: range must satisfy 1 <= first < last <= %d", t.First, t.Last, n)
		}
		if t.First <= prevLast {
			return fmt.Errorf("multiword token %d-%d overlaps or precedes the previous range", t.First, t.Last)
		}
		prevLast = t.Last
		if err := checkField(t.Form, false); err != nil {
			return fmt.Errorf("multiword token %d-%d: FORM: %v", t.First, t.Last, err)
		}
		if err := checkField(t.Misc, false); err != nil {
			return fmt.Errorf("multiword token %d-%d: MISC: %v", t.First, t.Last, err)
		}
	}
	pm, pn := 0, 0
	for _, e := range s.Empty {
		if e.Major < 0 || e.Major > n || e.Minor < 1 {
			return fmt.Errorf("empty node %d.%d: major must be in 0..%d and minor >= 1", e.Major, e.Minor, n)
		}
		if e.Major < pm || (e.Major == pm && e.Minor != pn+1) || (e.Major > pm && e.Minor != 1) {
			return fmt.Errorf("empty node %d.%d out of sequence", e.Major, e.Minor)
		}
		pm, pn = e.Major, e.Minor
		for j, f := range [...]string{e.Form, e.Lemma, e.UPOS, e.XPOS, e.Feats, e.Deps, e.Misc} {
			if err := checkField(f, noSpace[emptyIndex[j]]); err != nil {
				return fmt.Errorf("empty node %d.%d: %v", e.Major, e.Minor, err)
			}
		}
	}
	return nil
}

// fieldIndex maps the Validate loop order to CoNLL-U column indexes.
var fieldIndex = [...]int{1, 2, 3, 4, 5, 7, 8, 9}

// emptyIndex maps the empty-node loop order to CoNLL-U column indexes.
var emptyIndex = [...]int{1, 2, 3, 4, 5, 8, 9}

var fieldNames = [10]string{"ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"}

func checkField(f string, noSpaces bool) error {
	if f == "" {
		return fmt.Errorf("empty field (use \"_\")")
	}
	if strings.ContainsAny(f, "\t\n\r") {
		return fmt.Errorf("field %q holds a tab or newline", f)
	}
	if !utf8.ValidString(f) {
		return fmt.Errorf("field %q is not valid UTF-8", f)
	}
	if noSpaces && strings.ContainsAny(f, " \u00a0") {
		return fmt.Errorf("field %q contains a space", f)
	}
	return nil
}

// formatHead writes a head, NoHead as "_".
func formatHead(h int) string {
	if h == NoHead {
		return "_"
	}
	return strconv.Itoa(h)
}
