package segment

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Span is a half-open byte range of a text.
type Span struct{ Start, End int }

// Score is the precision, recall and F1 (percentages) of system spans
// against gold spans, CoNLL 2018 style: a unit is correct when its
// character span equals a gold unit's span.
type Score struct {
	Gold, System, Correct int
	Precision, Recall, F1 float64
}

// ScoreSpans compares two multisets of spans.
func ScoreSpans(gold, system []Span) Score {
	left := make(map[Span]int, len(gold))
	for _, g := range gold {
		left[g]++
	}
	correct := 0
	for _, p := range system {
		if left[p] > 0 {
			left[p]--
			correct++
		}
	}
	return scoreOf(len(gold), len(system), correct)
}

func scoreOf(gold, system, correct int) Score {
	s := Score{Gold: gold, System: system, Correct: correct}
	if system > 0 {
		s.Precision = 100 * float64(correct) / float64(system)
	}
	if gold > 0 {
		s.Recall = 100 * float64(correct) / float64(gold)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// add accumulates o's counts (micro-average over documents).
func (s *Score) add(o Score) {
	*s = scoreOf(s.Gold+o.Gold, s.System+o.System, s.Correct+o.Correct)
}

// GoldDoc is one document of a treebank rebuilt as raw text, with the gold
// spans of its sentences, surface tokens and syntactic words.
type GoldDoc struct {
	ID        string
	Text      string
	Sentences []Span
	Tokens    []Span
	Words     []Span
}

// ReadGold rebuilds raw documents from a CoNLL-U treebank's "# text"
// comments: within a "# newpar" paragraph sentences are joined by one
// space, paragraphs by a blank line, and every "# newdoc" starts a new
// document (a treebank without newdoc/newpar comments is one document of
// one paragraph). Each sentence's surface tokens (multiword token lines,
// and word lines outside them) must appear in its text in order, separated
// only by spaces; anything else is an error naming the line.
func ReadGold(r io.Reader) ([]GoldDoc, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var docs []GoldDoc
	var doc *GoldDoc
	var text string
	var haveText bool
	var sentStart, cur, mwtEnd int
	var mwt *mwtState
	var b strings.Builder
	newPar, newDoc := false, false
	docID := ""
	inSent := false
	lineNo := 0
	flushDoc := func() {
		if doc != nil {
			doc.Text = b.String()
			docs = append(docs, *doc)
		}
		doc = nil
		b.Reset()
	}
	endSent := func() error {
		if !inSent {
			return nil
		}
		inSent = false
		if mwt != nil {
			return fmt.Errorf("line %d: multiword token %q has fewer words than its range", lineNo, mwt.form)
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "":
			if err := endSent(); err != nil {
				return nil, err
			}
			haveText = false
		case strings.HasPrefix(line, "#"):
			if inSent {
				return nil, fmt.Errorf("line %d: comment inside a sentence", lineNo)
			}
			key, val, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), "=")
			key = strings.TrimSpace(key)
			switch {
			case strings.HasPrefix(key, "newdoc"):
				newDoc = true
				newPar = true
				docID = strings.TrimSpace(val)
			case strings.HasPrefix(key, "newpar"):
				newPar = true
			case key == "text":
				text = strings.TrimSpace(val)
				haveText = true
			}
		default:
			cols := strings.Split(line, "\t")
			if len(cols) != 10 {
				return nil, fmt.Errorf("line %d: %d columns, want 10", lineNo, len(cols))
			}
			if !inSent {
				if !haveText {
					return nil, fmt.Errorf("line %d: sentence without a \"# text\" comment", lineNo)
				}
				inSent = true
				if doc == nil || newDoc {
					flushDoc()
					doc = &GoldDoc{ID: docID}
					if doc.ID == "" {
						doc.ID = fmt.Sprintf("doc%d", len(docs)+1)
					}
				} else if newPar {
					b.WriteString("\n\n")
				} else {
					b.WriteString(" ")
				}
				newDoc, newPar = false, false
				sentStart = b.Len()
				b.WriteString(text)
				cur = sentStart
				mwtEnd = 0
				doc.Sentences = append(doc.Sentences, Span{sentStart, sentStart + len(text)})
			}
			id, form := cols[0], cols[1]
			if strings.Contains(id, ".") {
				continue // empty node: no surface form
			}
			if a, z, ok := strings.Cut(id, "-"); ok {
				lo, err1 := strconv.Atoi(a)
				hi, err2 := strconv.Atoi(z)
				if err1 != nil || err2 != nil || hi < lo {
					return nil, fmt.Errorf("line %d: bad multiword range %q", lineNo, id)
				}
				if mwt != nil {
					return nil, fmt.Errorf("line %d: multiword token %q inside another", lineNo, id)
				}
				sp, err := locate(b.String(), &cur, form)
				if err != nil {
					return nil, fmt.Errorf("line %d: %v", lineNo, err)
				}
				doc.Tokens = append(doc.Tokens, sp)
				mwt = &mwtState{form: form, span: sp, left: hi - lo + 1}
				mwtEnd = hi
				continue
			}
			n, err := strconv.Atoi(id)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("line %d: bad word id %q", lineNo, id)
			}
			if mwt != nil {
				mwt.words = append(mwt.words, form)
				mwt.left--
				if mwt.left == 0 {
					doc.Words = append(doc.Words, mwt.wordSpans()...)
					mwt = nil
				}
				continue
			}
			if n <= mwtEnd {
				continue
			}
			sp, err := locate(b.String(), &cur, form)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", lineNo, err)
			}
			doc.Tokens = append(doc.Tokens, sp)
			doc.Words = append(doc.Words, sp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := endSent(); err != nil {
		return nil, err
	}
	flushDoc()
	return docs, nil
}

type mwtState struct {
	form  string
	span  Span
	left  int
	words []string
}

// wordSpans splits the multiword token's span among its words when their
// forms spell the token (case and apostrophe style ignored); otherwise
// every word gets the whole token span.
func (m *mwtState) wordSpans() []Span {
	norm := func(s string) string {
		return strings.NewReplacer("’", "'", "`", "'").Replace(strings.ToLower(s))
	}
	if norm(strings.Join(m.words, "")) == norm(m.form) && len(strings.Join(m.words, "")) == len(m.form) {
		out := make([]Span, len(m.words))
		at := m.span.Start
		for i, w := range m.words {
			out[i] = Span{at, at + len(w)}
			at += len(w)
		}
		return out
	}
	out := make([]Span, len(m.words))
	for i := range out {
		out[i] = m.span
	}
	return out
}

// locate finds form in text at *cur after spaces and advances *cur.
func locate(text string, cur *int, form string) (Span, error) {
	i := *cur
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isSpace(r) {
			break
		}
		i += n
	}
	if !strings.HasPrefix(text[i:], form) || form == "" {
		got := text[i:]
		if len(got) > 20 {
			got = got[:20]
		}
		return Span{}, fmt.Errorf("token %q does not match the sentence text at %q", form, got)
	}
	*cur = i + len(form)
	return Span{i, i + len(form)}, nil
}

// Report is the segmentation score over a set of documents.
type Report struct {
	Documents int
	Tokens    Score
	Words     Score
	Sentences Score
}

// Evaluate segments every document's text with seg and scores its
// sentences, surface tokens and words against the gold spans.
func Evaluate(docs []GoldDoc, seg *Segmenter) Report {
	var rep Report
	for _, d := range docs {
		sents := seg.Segment(d.Text)
		var ss, ts, ws []Span
		for _, s := range sents {
			ss = append(ss, Span{s.Start, s.End})
			for _, t := range s.Tokens {
				ts = append(ts, Span{t.Start, t.End})
				for _, w := range t.Words {
					ws = append(ws, Span{w.Start, w.End})
				}
			}
		}
		rep.Documents++
		rep.Sentences.add(ScoreSpans(d.Sentences, ss))
		rep.Tokens.add(ScoreSpans(d.Tokens, ts))
		rep.Words.add(ScoreSpans(d.Words, ws))
	}
	return rep
}
