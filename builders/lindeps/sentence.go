// Package lindeps builds the lin-adapter dataset: parsed sentences (words,
// character offsets, UPOS, heads, relations) and their find_head features
// (spec §7.2). Sentences come from three kinds of input — BookCorpus's
// one-sentence-per-line files, raw (hard-wrapped) book text segmented with
// parser/segment, and CoNLL-U already parsed by another tool — and are
// written as Arrow rows and/or JSON records in the original find_head layout
// that K-Adapter's lin-adapter.py reads.
package lindeps

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kadapter/kadapter/builders/features"
)

// NoHead marks a word without a governor (unparsed input); such a word has
// no pair in the JSON record.
const NoHead = -1

// Word is one syntactic word of a sentence.
type Word struct {
	// Form is the word as the parser saw it.
	Form string
	// Start and End are code-point offsets of the word in Sentence.Text
	// (Python string indexing: Text[Start:End] in Python is the word).
	Start, End int
	// UPOS is the universal part-of-speech tag ("" when unknown).
	UPOS string
	// Head is the 1-based index of the governor, 0 for the root, NoHead
	// when the word has none.
	Head int
	// Deprel is the UD relation to the governor ("" when unknown).
	Deprel string
}

// Sentence is one sentence of the dataset.
type Sentence struct {
	// ID names the sentence: "SOURCE#N", N its 0-based index in the source.
	ID string
	// Text is the sentence text, single-line: whitespace runs of the source
	// are written as one space (the "sent" of the JSON record).
	Text string
	// Words are the syntactic words in order.
	Words []Word
}

// Forms returns the word forms.
func (s *Sentence) Forms() []string {
	out := make([]string, len(s.Words))
	for i, w := range s.Words {
		out[i] = w.Form
	}
	return out
}

// ptbEscapes maps Penn Treebank token escapes (as in BookCorpus's
// distributed, PTB-tokenized text) to the characters a UD-trained parser
// knows.
var ptbEscapes = map[string]string{
	"``": "\"", "''": "\"", "-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]",
	"-LCB-": "{", "-RCB-": "}", "-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]",
	"-lcb-": "{", "-rcb-": "}",
}

// ParserForms returns the forms to give the parser: the word forms with
// PTB escapes (“ ” -LRB- ...) replaced by the characters they stand for.
// The dataset keeps the forms as written.
func (s *Sentence) ParserForms() []string {
	out := s.Forms()
	for i, f := range out {
		if r, ok := ptbEscapes[f]; ok {
			out[i] = r
		}
	}
	return out
}

// Parsed reports whether every word has a head.
func (s *Sentence) Parsed() bool {
	for _, w := range s.Words {
		if w.Head == NoHead {
			return false
		}
	}
	return true
}

// Parser tags and parses a sentence of words: for word i its UPOS, its
// 1-based head (0 = root) and its relation. *parser.Model implements it.
type Parser interface {
	Parse(words []string) (upos []string, heads []int, rels []string)
}

// Parse fills UPOS, Head and Deprel of every word with p.
func (s *Sentence) Parse(p Parser) {
	upos, heads, rels := p.Parse(s.ParserForms())
	for i := range s.Words {
		s.Words[i].UPOS, s.Words[i].Head, s.Words[i].Deprel = upos[i], heads[i], rels[i]
	}
}

// FindHeadRecord returns the sentence as the find_head builder's record:
// words keyed "1".."n" with their offsets, one pair per word that has a
// head.
func (s *Sentence) FindHeadRecord() features.FindHeadRecord {
	r := features.FindHeadRecord{ID: s.ID, Sent: s.Text, Words: make([]features.FindHeadWord, len(s.Words))}
	for i, w := range s.Words {
		r.Words[i] = features.FindHeadWord{Key: strconv.Itoa(i + 1), Start: w.Start, End: w.End}
		if w.Head != NoHead {
			r.Pairs = append(r.Pairs, features.FindHeadPair{Dependent: i + 1, Governor: w.Head})
		}
	}
	return r
}

// Lower lower-cases the text and the word forms rune by rune, so that
// code-point offsets stay valid.
func (s *Sentence) Lower() {
	s.Text = lowerRunes(s.Text)
	for i := range s.Words {
		s.Words[i].Form = lowerRunes(s.Words[i].Form)
	}
}

func lowerRunes(s string) string {
	return strings.Map(unicode.ToLower, s)
}

// textBuilder assembles a single-line sentence text from words and the
// spacing between them, tracking code-point offsets.
type textBuilder struct {
	b     strings.Builder
	runes int
}

// add appends a word, preceded by one space when space is true and the
// text is not empty, and returns its code-point span.
func (t *textBuilder) add(form string, space bool) (int, int) {
	if space && t.runes > 0 {
		t.b.WriteByte(' ')
		t.runes++
	}
	start := t.runes
	t.b.WriteString(form)
	t.runes += utf8.RuneCountInString(form)
	return start, t.runes
}

// String returns the text built so far.
func (t *textBuilder) String() string { return t.b.String() }

// cleanForm replaces whitespace inside a word form (which would break the
// single-line text) with underscores.
func cleanForm(s string) string {
	if !strings.ContainsFunc(s, unicode.IsSpace) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, s)
}
