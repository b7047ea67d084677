package conllu

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// ParseError is a malformed line (or sentence) in the input. Line is
// 1-based; for problems found at the end of a sentence (a HEAD beyond the
// last word, a range past the end) it is the line of the offending word.
type ParseError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong
}

// Error formats the error as "conllu: line N: problem".
func (e *ParseError) Error() string { return fmt.Sprintf("conllu: line %d: %s", e.Line, e.Msg) }

// Reader reads CoNLL-U sentences from an input stream.
//
// Read returns the next sentence, or io.EOF after the last one. A malformed
// line makes Read return a *ParseError; the rest of that sentence (up to the
// next blank line) is skipped, and the following Read continues with the
// next sentence, so callers can count bad sentences and go on, or stop at
// the first error.
//
// The reader is lenient where nothing is lost: several blank lines between
// sentences, CRLF line ends and a missing blank line at the end of the file
// are accepted. Everything else that CoNLL-U forbids is an error: a line
// that does not have 10 tab-separated fields, an empty field, a space in a
// field other than FORM, LEMMA and MISC, word IDs out of sequence, a HEAD
// that is not a word of the sentence (or the word itself), a multiword range
// that is not followed by its first word or runs past the sentence, an empty
// node out of sequence or with a basic HEAD/DEPREL, a comment after the first
// word line, invalid UTF-8.
type Reader struct {
	r         *bufio.Reader
	line      int
	skipping  bool
	startLine int
	eof       bool

	// current sentence
	cur       *Sentence
	wordLine  []int // line number of each word
	tokLine   []int // line number of each range
	pending   int   // first ID of a range line just read, 0 if none
	lastMajor int
	lastMinor int
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Line returns the number of the last line read.
func (r *Reader) Line() int { return r.line }

// StartLine returns the line on which the sentence last returned (or
// rejected) by Read began.
func (r *Reader) StartLine() int { return r.startLine }

func (r *Reader) reset() {
	r.cur = &Sentence{}
	r.wordLine = r.wordLine[:0]
	r.tokLine = r.tokLine[:0]
	r.pending = 0
	r.lastMajor, r.lastMinor = 0, 0
}

func (r *Reader) fail(line int, format string, args ...any) error {
	r.skipping = true
	r.cur = nil
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Read returns the next sentence. See Reader for the error behaviour.
func (r *Reader) Read() (*Sentence, error) {
	r.cur = nil
	for {
		if r.eof {
			if r.cur != nil {
				return r.finish()
			}
			return nil, io.EOF
		}
		raw, err := r.r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if errors.Is(err, io.EOF) {
			r.eof = true
			if raw == "" {
				continue
			}
		}
		r.line++
		line := strings.TrimSuffix(raw, "\n")
		line = strings.TrimSuffix(line, "\r")
		if r.skipping {
			if line == "" {
				r.skipping = false
			}
			continue
		}
		if line == "" {
			if r.cur == nil {
				continue // extra blank line between sentences
			}
			return r.finish()
		}
		if r.cur == nil {
			r.reset()
			r.startLine = r.line
		}
		if !utf8.ValidString(line) {
			return nil, r.fail(r.line, "invalid UTF-8")
		}
		if strings.ContainsAny(line, "\r\n") {
			return nil, r.fail(r.line, "carriage return inside the line")
		}
		if line[0] == '#' {
			if len(r.cur.Words) > 0 || len(r.cur.Tokens) > 0 || len(r.cur.Empty) > 0 {
				return nil, r.fail(r.line, "comment after the first word line of the sentence")
			}
			r.cur.Comments = append(r.cur.Comments, line)
			continue
		}
		if err := r.wordLineParse(line); err != nil {
			return nil, err
		}
	}
}

func (r *Reader) finish() (*Sentence, error) {
	s := r.cur
	r.cur = nil
	n := len(s.Words)
	if n == 0 {
		if r.pending != 0 || len(s.Tokens) > 0 || len(s.Empty) > 0 {
			return nil, &ParseError{Line: r.line, Msg: "sentence has no word lines (only ranges or empty nodes)"}
		}
		return nil, &ParseError{Line: r.startLine, Msg: "comment lines not followed by any word line"}
	}
	if r.pending != 0 {
		return nil, &ParseError{Line: r.tokLine[len(r.tokLine)-1], Msg: "multiword token range not followed by its first word"}
	}
	for i := range s.Words {
		w := &s.Words[i]
		if w.Head != NoHead && w.Head > n {
			return nil, &ParseError{Line: r.wordLine[i], Msg: fmt.Sprintf("HEAD %d is not a word of the sentence (it has %d words)", w.Head, n)}
		}
	}
	for i, t := range s.Tokens {
		if t.Last > n {
			return nil, &ParseError{Line: r.tokLine[i], Msg: fmt.Sprintf("multiword token %d-%d runs past the last word %d", t.First, t.Last, n)}
		}
	}
	return s, nil
}

// noSpace lists the columns that must not contain a space.
var noSpace = [10]bool{0: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true}

func (r *Reader) wordLineParse(line string) error {
	var f [10]string
	rest := line
	for i := 0; i < 9; i++ {
		j := strings.IndexByte(rest, '\t')
		if j < 0 {
			return r.fail(r.line, "%d tab-separated fields, want 10", i+1)
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	if strings.IndexByte(rest, '\t') >= 0 {
		return r.fail(r.line, "%d tab-separated fields, want 10", 10+strings.Count(rest, "\t"))
	}
	f[9] = rest
	for i := range f {
		if f[i] == "" {
			return r.fail(r.line, "empty %s field (CoNLL-U uses \"_\" for no value)", fieldNames[i])
		}
		if noSpace[i] && strings.ContainsAny(f[i], " \u00a0") {
			return r.fail(r.line, "%s field %q contains a space", fieldNames[i], f[i])
		}
	}
	s := r.cur
	n := len(s.Words)
	id := f[0]
	switch {
	case strings.IndexByte(id, '-') >= 0:
		a, b, ok := splitID(id, '-')
		if !ok {
			return r.fail(r.line, "bad multiword token ID %q", id)
		}
		if r.pending != 0 {
			return r.fail(r.line, "multiword token range %s follows another range line", id)
		}
		if a != n+1 {
			return r.fail(r.line, "multiword token range %s must come just before word %d", id, a)
		}
		if b <= a {
			return r.fail(r.line, "multiword token range %s is empty or reversed", id)
		}
		if k := len(s.Tokens); k > 0 && a <= s.Tokens[k-1].Last {
			return r.fail(r.line, "multiword token range %s overlaps range %d-%d", id, s.Tokens[k-1].First, s.Tokens[k-1].Last)
		}
		for i := 2; i <= 8; i++ {
			if f[i] != "_" {
				return r.fail(r.line, "multiword token range %s has %s %q; only FORM and MISC may be set", id, fieldNames[i], f[i])
			}
		}
		s.Tokens = append(s.Tokens, MultiwordToken{First: a, Last: b, Form: f[1], Misc: f[9]})
		r.tokLine = append(r.tokLine, r.line)
		r.pending = a
	case strings.IndexByte(id, '.') >= 0:
		a, b, ok := splitID(id, '.')
		if !ok || b == 0 {
			return r.fail(r.line, "bad empty node ID %q", id)
		}
		if r.pending != 0 {
			return r.fail(r.line, "multiword token range not followed by its first word (got empty node %s)", id)
		}
		if a != n {
			return r.fail(r.line, "empty node %s must follow word %d directly (last word is %d)", id, a, n)
		}
		want := 1
		if len(s.Empty) > 0 && r.lastMajor == a {
			want = r.lastMinor + 1
		}
		if b != want {
			return r.fail(r.line, "empty node %s out of sequence, want %d.%d", id, a, want)
		}
		if f[6] != "_" || f[7] != "_" {
			return r.fail(r.line, "empty node %s must have \"_\" for HEAD and DEPREL", id)
		}
		r.lastMajor, r.lastMinor = a, b
		s.Empty = append(s.Empty, EmptyNode{Major: a, Minor: b, Form: f[1], Lemma: f[2], UPOS: f[3], XPOS: f[4], Feats: f[5], Deps: f[8], Misc: f[9]})
	default:
		v, ok := parseNat(id)
		if !ok || v == 0 {
			return r.fail(r.line, "bad word ID %q", id)
		}
		if v != n+1 {
			return r.fail(r.line, "word ID %d out of sequence, want %d", v, n+1)
		}
		if r.pending != 0 && r.pending != v {
			return r.fail(r.line, "multiword token range not followed by its first word")
		}
		r.pending = 0
		head := NoHead
		if f[6] != "_" {
			h, ok := parseNat(f[6])
			if !ok {
				return r.fail(r.line, "bad HEAD %q", f[6])
			}
			if h == v {
				return r.fail(r.line, "word %d has itself as HEAD", v)
			}
			head = h
		}
		s.Words = append(s.Words, Word{ID: v, Form: f[1], Lemma: f[2], UPOS: f[3], XPOS: f[4], Feats: f[5], Head: head, Deprel: f[7], Deps: f[8], Misc: f[9]})
		r.wordLine = append(r.wordLine, r.line)
	}
	return nil
}

// splitID parses "A<sep>B" with A, B natural numbers.
func splitID(id string, sep byte) (int, int, bool) {
	i := strings.IndexByte(id, sep)
	a, ok1 := parseNat(id[:i])
	b, ok2 := parseNat(id[i+1:])
	return a, b, ok1 && ok2
}

// parseNat parses a canonical natural number: digits only, no sign, no
// leading zero, at most 9 digits (so that writing it back gives the same
// text).
func parseNat(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// ReadAll reads every sentence from r and stops at the first error.
func ReadAll(r io.Reader) ([]*Sentence, error) {
	cr := NewReader(r)
	var out []*Sentence
	for {
		s, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
}

// ReadFile reads every sentence of a CoNLL-U file; errors name the file.
func ReadFile(path string) ([]*Sentence, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
