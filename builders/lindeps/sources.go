package lindeps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kadapter/kadapter/parser/conllu"
	"github.com/kadapter/kadapter/parser/segment"
	"github.com/kadapter/kadapter/pipeline"
)

// Format is the kind of an input file.
type Format int

const (
	// FormatText is raw text: paragraphs separated by blank lines, lines
	// hard-wrapped; sentences and words come from parser/segment.
	FormatText Format = iota
	// FormatLines is one sentence per line, already tokenized by spaces
	// (BookCorpus as distributed).
	FormatLines
	// FormatCoNLLU is CoNLL-U; sentences with heads skip the parser.
	FormatCoNLLU
)

// Formats lists the names ParseFormat accepts besides "auto".
var Formats = []string{"text", "lines", "conllu"}

// ParseFormat parses "text", "lines" or "conllu".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text":
		return FormatText, nil
	case "lines", "bookcorpus":
		return FormatLines, nil
	case "conllu":
		return FormatCoNLLU, nil
	}
	return 0, fmt.Errorf("unknown input format %q (want text, lines or conllu)", s)
}

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case FormatLines:
		return "lines"
	case FormatCoNLLU:
		return "conllu"
	}
	return "text"
}

// FormatOf guesses an input's format from its name: ".conllu" and
// ".conll" (compressed or not) are CoNLL-U, anything else raw text.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(pipeline.StripCompressionExt(name))) {
	case ".conllu", ".conll":
		return FormatCoNLLU
	}
	return FormatText
}

// InputError is a bad record of an input: the reader skips it and goes on.
type InputError struct {
	Name   string // the input
	Line   int    // 1-based line of the record
	Reason string // short reason for counting: "bad_conllu", "bad_utf8"
	Err    error
}

// Error names the input, the line and the problem.
func (e *InputError) Error() string {
	return fmt.Sprintf("%s: line %d: %v", e.Name, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// MaxParagraph is the most bytes of raw text segmented at once: a longer
// paragraph is cut at a line break.
const MaxParagraph = 1 << 20

// Reader yields the sentences of one input.
type Reader struct {
	name   string
	format Format
	seg    *segment.Segmenter
	br     *bufio.Reader
	cr     *conllu.Reader
	line   int
	n      int // sentences yielded
	queue  []*Sentence
	eof    bool
}

// NewReader reads sentences of the given format from r; name identifies
// the input in sentence ids and errors. seg is used for FormatText (nil
// means segment.New with default options).
func NewReader(r io.Reader, name string, format Format, seg *segment.Segmenter) *Reader {
	if seg == nil {
		seg = segment.New(segment.Options{})
	}
	rd := &Reader{name: name, format: format, seg: seg}
	if format == FormatCoNLLU {
		rd.cr = conllu.NewReader(r)
	} else {
		rd.br = bufio.NewReaderSize(r, 1<<16)
	}
	return rd
}

// Next returns the next sentence, io.EOF at the end, or an *InputError for
// a bad record (call Next again to continue) or another error (I/O).
func (r *Reader) Next() (*Sentence, error) {
	switch r.format {
	case FormatCoNLLU:
		return r.nextCoNLLU()
	case FormatLines:
		return r.nextLine()
	}
	return r.nextText()
}

func (r *Reader) id() string {
	id := fmt.Sprintf("%s#%d", r.name, r.n)
	r.n++
	return id
}

func (r *Reader) readLine() (string, error) {
	s, err := r.br.ReadString('\n')
	if s == "" && err != nil {
		return "", err
	}
	r.line++
	return strings.TrimRight(s, "\r\n"), nil
}

func (r *Reader) nextLine() (*Sentence, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if !utf8.ValidString(line) {
			return nil, &InputError{Name: r.name, Line: r.line, Reason: "bad_utf8", Err: errors.New("invalid UTF-8")}
		}
		if s := FromLine(line); s != nil {
			s.ID = r.id()
			return s, nil
		}
	}
}

// FromLine turns one pre-tokenized line into a sentence (words split on
// spaces), or nil for a blank line.
func FromLine(line string) *Sentence {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	var tb textBuilder
	s := &Sentence{Words: make([]Word, len(fields))}
	for i, f := range fields {
		a, b := tb.add(f, true)
		s.Words[i] = Word{Form: f, Start: a, End: b, Head: NoHead}
	}
	s.Text = tb.String()
	return s
}

func (r *Reader) nextText() (*Sentence, error) {
	for len(r.queue) == 0 {
		if r.eof {
			return nil, io.EOF
		}
		para, err := r.paragraph()
		if err != nil {
			return nil, err
		}
		if !utf8.ValidString(para) {
			para = strings.ToValidUTF8(para, "\uFFFD")
		}
		for _, ss := range r.seg.Segment(para) {
			r.queue = append(r.queue, FromSegment(para, ss))
		}
	}
	s := r.queue[0]
	r.queue = r.queue[1:]
	s.ID = r.id()
	return s, nil
}

// paragraph reads lines up to a blank line (or MaxParagraph bytes).
func (r *Reader) paragraph() (string, error) {
	var b strings.Builder
	for {
		line, err := r.readLine()
		if err == io.EOF {
			r.eof = true
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "" {
			if b.Len() > 0 {
				return b.String(), nil
			}
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if b.Len() >= MaxParagraph {
			return b.String(), nil
		}
	}
}

// FromSegment turns a segmented sentence of text into a sentence: its
// words, with one space wherever the source had whitespace between them.
func FromSegment(text string, ss segment.Sentence) *Sentence {
	ws := ss.Words()
	var tb textBuilder
	s := &Sentence{Words: make([]Word, len(ws))}
	prev := -1
	for i, w := range ws {
		space := prev >= 0 && strings.ContainsFunc(text[prev:w.Start], unicode.IsSpace)
		form := cleanForm(w.Text)
		a, b := tb.add(form, space)
		s.Words[i] = Word{Form: form, Start: a, End: b, Head: NoHead}
		prev = w.End
	}
	s.Text = tb.String()
	return s
}

func (r *Reader) nextCoNLLU() (*Sentence, error) {
	for {
		cs, err := r.cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			var pe *conllu.ParseError
			if errors.As(err, &pe) {
				r.n++ // keep ids stable: the bad sentence still has a number
				return nil, &InputError{Name: r.name, Line: pe.Line, Reason: "bad_conllu", Err: errors.New(pe.Msg)}
			}
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		if len(cs.Words) == 0 {
			continue
		}
		s := FromCoNLLU(cs)
		s.ID = r.id()
		if id := cs.SentID(); id != "" {
			s.ID = r.name + "#" + id
		}
		return s, nil
	}
}

// FromCoNLLU turns a CoNLL-U sentence into a sentence. The text is the
// "# text" comment when every surface token is found in it in order (words
// of a multiword token split its span when their forms spell it);
// otherwise the words joined by spaces, following SpaceAfter=No. UPOS,
// heads and relations are taken as they are ("_" head = NoHead).
func FromCoNLLU(cs *conllu.Sentence) *Sentence {
	s := &Sentence{Words: make([]Word, len(cs.Words))}
	for i, w := range cs.Words {
		s.Words[i] = Word{Form: cleanForm(w.Form), Head: w.Head, UPOS: blank(w.UPOS), Deprel: blank(w.Deprel)}
		if w.Head == conllu.NoHead {
			s.Words[i].Head = NoHead
		}
	}
	if text, ok := cs.Meta("text"); ok && alignText(s, cs, text) {
		return s
	}
	// Rebuild the text from the words.
	var tb textBuilder
	space := false
	mwtOf := map[int]conllu.MultiwordToken{}
	for _, t := range cs.Tokens {
		for id := t.First; id <= t.Last; id++ {
			mwtOf[id] = t
		}
	}
	for i, w := range cs.Words {
		a, b := tb.add(s.Words[i].Form, space)
		s.Words[i].Start, s.Words[i].End = a, b
		if t, in := mwtOf[w.ID]; in && w.ID < t.Last {
			space = true
		} else if in {
			space = conllu.SpaceAfter(t.Misc)
		} else {
			space = conllu.SpaceAfter(w.Misc)
		}
	}
	s.Text = tb.String()
	return s
}

func blank(s string) string {
	if s == "_" {
		return ""
	}
	return s
}

// alignText locates every surface token of cs in text and sets the word
// offsets; it reports false when the tokens do not spell the text.
func alignText(s *Sentence, cs *conllu.Sentence, text string) bool {
	if strings.ContainsAny(text, "\n\r") {
		return false
	}
	at := 0 // byte position in text
	runeAt := 0
	advance := func(to int) {
		runeAt += utf8.RuneCountInString(text[at:to])
		at = to
	}
	skipSpace := func() {
		i := at
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		advance(i)
	}
	ti := 0
	for wi := 0; wi < len(cs.Words); {
		skipSpace()
		id := cs.Words[wi].ID
		if ti < len(cs.Tokens) && cs.Tokens[ti].First == id {
			t := cs.Tokens[ti]
			ti++
			if !strings.HasPrefix(text[at:], t.Form) || t.Last > len(cs.Words) {
				return false
			}
			var forms []string
			for k := t.First; k <= t.Last; k++ {
				forms = append(forms, cs.Words[k-1].Form)
			}
			joined := strings.Join(forms, "")
			if len(joined) != len(t.Form) || !strings.EqualFold(strings.ReplaceAll(joined, "’", "'"), strings.ReplaceAll(t.Form, "’", "'")) {
				return false
			}
			for k := t.First; k <= t.Last; k++ {
				f := cs.Words[k-1].Form
				start := runeAt
				advance(at + len(f))
				s.Words[k-1].Start, s.Words[k-1].End = start, runeAt
			}
			wi = t.Last
			continue
		}
		f := cs.Words[wi].Form
		if f == "" || !strings.HasPrefix(text[at:], f) {
			return false
		}
		start := runeAt
		advance(at + len(f))
		s.Words[wi].Start, s.Words[wi].End = start, runeAt
		wi++
	}
	s.Text = text
	return true
}
