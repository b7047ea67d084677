// Package segment splits raw English text into sentences, surface tokens
// and syntactic words following the conventions of the UD English Web
// Treebank (EWT): punctuation is split off, abbreviations ("Mr.", "U.S.",
// "e.g.") stay whole, numbers, URLs, e-mail addresses and emoticons stay
// whole, hyphenated compounds are split ("search-engine" -> "search - engine")
// except the prefixes EWT keeps ("e-mail", "non-commercial"), and clitics
// become multiword tokens ("don't" = "do" + "n't", "I'm" = "I" + "'m",
// "cannot" = "can" + "not"). Every token and word carries byte offsets into
// the original text, so hard-wrapped paragraphs (book text wrapped at about
// 70 columns, paragraphs separated by blank lines) can be processed without
// rewriting the text.
package segment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word is one syntactic word: what a parser sees. Start and End are byte
// offsets into the segmented text (End exclusive); Text is text[Start:End].
type Word struct {
	Text       string
	Start, End int
}

// Token is one surface token: a span of the text without spaces. Words
// holds its syntactic words: one for an ordinary token, several for a
// multiword token such as "don't" (do + n't). The words' spans partition
// the token's span.
type Token struct {
	Text       string
	Start, End int
	Words      []Word
}

// Multiword reports whether the token holds more than one syntactic word.
func (t Token) Multiword() bool { return len(t.Words) > 1 }

// Sentence is a run of tokens; Start and End span its first and last token.
type Sentence struct {
	Start, End int
	Tokens     []Token
}

// Words returns the sentence's syntactic words in order.
func (s Sentence) Words() []Word {
	var n int
	for _, t := range s.Tokens {
		n += len(t.Words)
	}
	out := make([]Word, 0, n)
	for _, t := range s.Tokens {
		out = append(out, t.Words...)
	}
	return out
}

// Options select how line breaks are read.
type Options struct {
	// LineIsSentence makes every line break a sentence boundary (one
	// sentence per line). By default a single line break is an ordinary
	// space (hard-wrapped text) and only a blank line ends a sentence.
	LineIsSentence bool
	// NoMultiword keeps clitics inside their token as one word ("don't"
	// stays a single word) instead of splitting them as EWT does.
	NoMultiword bool
}

// Segmenter splits text into sentences. The zero value uses the default
// Options; a Segmenter is safe for concurrent use.
type Segmenter struct {
	opts Options
}

// New returns a Segmenter with the given options.
func New(opts Options) *Segmenter { return &Segmenter{opts: opts} }

// Segment splits text with the default options (hard-wrapped paragraphs).
func Segment(text string) []Sentence { return (&Segmenter{}).Segment(text) }

// Tokenize returns the surface tokens of text without sentence splitting.
func Tokenize(text string) []Token {
	var out []Token
	for _, c := range chunks(text) {
		out = append(out, tokensOf(text, c.start, c.end, false)...)
	}
	return splitNumberAbbrevs(out)
}

// numberAbbrevs keep their period only before a number ("No. 5").
var numberAbbrevs = setOf("No.", "no.", "Nos.", "nos.", "NO.")

// splitNumberAbbrevs splits "No." into "No" + "." when no number follows.
func splitNumberAbbrevs(toks []Token) []Token {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !numberAbbrevs[t.Text] {
			continue
		}
		if i+1 < len(toks) {
			if r := firstRuneOf(toks[i+1].Text); unicode.IsDigit(r) || r == '#' {
				continue
			}
		}
		word := Token{Text: t.Text[:len(t.Text)-1], Start: t.Start, End: t.End - 1}
		dot := Token{Text: ".", Start: t.End - 1, End: t.End}
		for _, x := range []*Token{&word, &dot} {
			x.Words = []Word{{Text: x.Text, Start: x.Start, End: x.End}}
		}
		toks = append(toks[:i], append([]Token{word, dot}, toks[i+1:]...)...)
		i++
	}
	return toks
}

// Segment splits text into sentences of tokens.
func (s *Segmenter) Segment(text string) []Sentence {
	cs := chunks(text)
	var toks []Token
	var hard []bool // hard[i]: a sentence must end before token i
	for _, c := range cs {
		brk := c.blankBefore || (s.opts.LineIsSentence && c.newlineBefore)
		for j, t := range tokensOf(text, c.start, c.end, s.opts.NoMultiword) {
			toks = append(toks, t)
			hard = append(hard, j == 0 && brk)
		}
	}
	if n := len(toks); n > 0 {
		toks = splitNumberAbbrevs(toks)
		if len(toks) != n {
			// Re-derive the hard boundaries: a split adds a "." that is
			// never first in its chunk.
			h := make([]bool, len(toks))
			k := 0
			for i := range toks {
				for k < len(cs) && cs[k].end <= toks[i].Start {
					k++
				}
				h[i] = k < len(cs) && toks[i].Start == cs[k].start && (cs[k].blankBefore || (s.opts.LineIsSentence && cs[k].newlineBefore))
			}
			hard = h
		}
	}
	return splitSentences(text, toks, hard)
}

// chunk is a maximal run of non-space characters.
type chunk struct {
	start, end    int
	newlineBefore bool // a line break in the space before it
	blankBefore   bool // a blank line (two or more line breaks) before it
}

func chunks(text string) []chunk {
	var out []chunk
	nl := 0
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if isSpace(r) {
			if r == '\n' {
				nl++
			}
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			r2, n2 := utf8.DecodeRuneInString(text[j:])
			if isSpace(r2) {
				break
			}
			j += n2
		}
		out = append(out, chunk{start: i, end: j, newlineBefore: nl > 0, blankBefore: nl > 1})
		nl = 0
		i = j
	}
	return out
}

func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
}

// tokensOf tokenizes the chunk text[s:e].
func tokensOf(text string, s, e int, noMWT bool) []Token {
	spans := splitChunk(text, s, e, nil)
	out := make([]Token, 0, len(spans))
	for _, sp := range spans {
		t := Token{Text: text[sp[0]:sp[1]], Start: sp[0], End: sp[1]}
		if noMWT {
			t.Words = []Word{{Text: t.Text, Start: t.Start, End: t.End}}
		} else {
			t.Words = words(t)
		}
		out = append(out, t)
	}
	return out
}

type span = [2]int

// splitChunk appends the token spans of text[s:e] to out.
func splitChunk(text string, s, e int, out []span) []span {
	if s >= e {
		return out
	}
	c := text[s:e]
	if terminalRun(c) == len(c) {
		return append(out, span{s, e})
	}
	// Whole-token patterns first, allowing trailing sentence punctuation.
	if n := protectedPrefix(c); n > 0 {
		out = append(out, span{s, s + n})
		return splitChunk(text, s+n, e, out)
	}
	// Leading punctuation.
	if n := leadingPunct(c); n > 0 {
		out = append(out, span{s, s + n})
		return splitChunk(text, s+n, e, out)
	}
	// Trailing punctuation, peeled from the end.
	var tail []span
	for s < e {
		n := trailingPunct(text[s:e])
		if n == 0 {
			break
		}
		tail = append(tail, span{e - n, e})
		e -= n
	}
	if s < e {
		out = splitInner(text, s, e, out)
	}
	for i := len(tail) - 1; i >= 0; i-- {
		out = append(out, tail[i])
	}
	return out
}

// firstRune and lastRune decode the ends of a string.
func firstRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
func lastRune(s string) (rune, int)  { return utf8.DecodeLastRuneInString(s) }

func isOpenPunct(r rune) bool {
	switch r {
	case '"', '(', '[', '{', '<', '“', '‘', '«', '`', '*', '¿', '¡', '„', '‹', '~', '_', '|', '=', '+', '^', '>':
		return true
	}
	return false
}

func isClosePunct(r rune) bool {
	switch r {
	case '"', ')', ']', '}', '>', '”', '’', '»', '*', ',', ';', ':', '%', '\'', '~', '_', '|', '=', '+', '^', '<', '¢', '°', '›':
		return true
	}
	return false
}

func isTerminal(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '…' }

// sameRun returns the byte length of the run of r at the start of s.
func sameRun(s string, r rune) int {
	n := 0
	for n < len(s) {
		r2, k := utf8.DecodeRuneInString(s[n:])
		if r2 != r {
			break
		}
		n += k
	}
	return n
}

// leadingPunct returns the byte length of a punctuation token at the start
// of c, or 0.
func leadingPunct(c string) int {
	r, n := firstRune(c)
	if n == len(c) {
		return 0
	}
	switch {
	case r == '\'' || r == '‘' || r == '’':
		rest := c[n:]
		if isCliticStart(rest) {
			return 0
		}
		if run := sameRun(c, r); run > n {
			return run
		}
		return n
	case r == '#':
		r2, _ := firstRune(c[n:])
		if unicode.IsLetter(r2) {
			return 0 // #channel, #hashtag
		}
		return sameRun(c, r)
	case r == '$' || r == '£' || r == '€' || r == '¥':
		return sameRun(c, r)
	case r == '-' || r == '=':
		return lineRun(c)
	case r == '–' || r == '—':
		return sameRun(c, r)
	case r == '.' || r == '…':
		// Leading ellipsis or dots.
		run := dotRun(c)
		if run > 0 && run < len(c) {
			r2, _ := firstRune(c[run:])
			if run == 1 && unicode.IsDigit(r2) {
				return 0 // .5
			}
			return run
		}
		return 0
	case r == '!' || r == '?':
		return terminalRun(c)
	case r == ')' || r == ']' || r == '}':
		return n
	case r == ',' || r == ';' || r == ':' || r == '”' || r == '»' || r == '/' || r == '\\' || r == '@' || r == '&':
		if r == ':' && isEmoticon(c) {
			return 0
		}
		return sameRun(c, r)
	case r == '(' || r == '[' || r == '{':
		return n
	case isOpenPunct(r):
		if r == '<' && strings.HasPrefix(c, "<http") {
			return n
		}
		return sameRun(c, r)
	}
	return 0
}

func dotRun(c string) int {
	n := 0
	for n < len(c) {
		r, k := utf8.DecodeRuneInString(c[n:])
		if r != '.' && r != '…' {
			break
		}
		n += k
	}
	return n
}

func terminalRun(c string) int {
	n := 0
	for n < len(c) {
		r, k := utf8.DecodeRuneInString(c[n:])
		if !isTerminal(r) {
			break
		}
		n += k
	}
	return n
}

// trailingPunct returns the byte length of a punctuation token at the end
// of c, or 0 when c ends in a word character or a kept abbreviation.
func trailingPunct(c string) int {
	r, n := lastRune(c)
	if n == len(c) {
		return 0
	}
	switch {
	case isTerminal(r):
		// A run of . ! ? … is one token, unless the dot belongs to an
		// abbreviation or a number.
		k := len(c)
		for k > 0 {
			r2, m := utf8.DecodeLastRuneInString(c[:k])
			if !isTerminal(r2) {
				break
			}
			k -= m
		}
		if k == 0 {
			return 0
		}
		run := c[k:]
		if d := dotRun(run); d >= 2 && d < len(run) {
			return len(run) - d // "...?" -> "..." "?"
		}
		if run == "." {
			if isAbbrev(c) {
				return 0
			}
		}
		if strings.HasPrefix(run, ".") && (run == ".." || !strings.HasPrefix(run, "..")) && isAbbrev(c[:k+1]) && len(run) > 1 {
			// "etc.!" -> "etc." "!"
			return len(run) - 1
		}
		return len(run)
	case r == '\'' || r == '’':
		body := c[:len(c)-n]
		if isCliticEnd(c) {
			return 0
		}
		if r2, _ := lastRune(body); (r2 == 's' || r2 == 'S') && r == '\'' && len(body) > 2 && isLetters(body) {
			return 0 // plural possessive: soldiers'
		}
		if r2, _ := lastRune(body); r2 == r {
			return sameRunBack(c, r)
		}
		return n
	case r == '-' || r == '=':
		return lineRunBack(c)
	case r == '–' || r == '—':
		return sameRunBack(c, r)
	case r == '/' || r == '\\' || r == '@' || r == '&' || r == '#':
		return sameRunBack(c, r)
	case r == ')' && isEmoticon(c):
		return 0
	case r == ')' || r == ']' || r == '}':
		return n
	case isClosePunct(r):
		return sameRunBack(c, r)
	}
	return 0
}

func sameRunBack(s string, r rune) int {
	n := 0
	for n < len(s) {
		r2, k := utf8.DecodeLastRuneInString(s[:len(s)-n])
		if r2 != r {
			break
		}
		n += k
	}
	return n
}

// splitInner splits a chunk with no leading or trailing punctuation at
// internal hyphens, slashes, dashes, ellipses and commas.
func splitInner(text string, s, e int, out []span) []span {
	c := text[s:e]
	if isProtectedWhole(c) {
		return append(out, span{s, e})
	}
	i := 0
	for i < len(c) {
		r, n := utf8.DecodeRuneInString(c[i:])
		if i == 0 {
			i += n
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(c[:i])
		var cut int // length of a separator token starting at i
		switch {
		case r == '-' && strings.HasPrefix(c[i:], "--"):
			cut = sameRun(c[i:], '-')
		case r == '—' || r == '–':
			cut = sameRun(c[i:], r)
		case r == '-':
			if splitHyphen(c, i) {
				cut = n
			}
		case r == '.' && strings.HasPrefix(c[i:], ".."):
			cut = dotRun(c[i:])
		case r == '…':
			cut = dotRun(c[i:])
		case r == '/':
			next, _ := utf8.DecodeRuneInString(c[i+n:])
			if i+n < len(c) && unicode.IsLetter(prev) && unicode.IsLetter(next) && !slashWord(c) {
				cut = n
			}
		case r == ',' || r == ';':
			next, _ := utf8.DecodeRuneInString(c[i+n:])
			if i+n < len(c) && !(unicode.IsDigit(prev) && unicode.IsDigit(next)) {
				cut = n
			}
		case r == '!' || r == '?':
			if i+n < len(c) {
				cut = terminalRun(c[i:])
			}
		case r == '(' || r == ')' || r == '[' || r == ']' || r == '"' || r == '“' || r == '”':
			cut = n
		case r == '.':
			// word.Word with a lower-case word before: a missing space.
			if i+n < len(c) && missingSpace(c, i) {
				cut = n
			}
		}
		if cut > 0 && i+cut <= len(c) {
			out = splitChunk(text, s, s+i, out)
			out = append(out, span{s + i, s + i + cut})
			return splitChunk(text, s+i+cut, e, out)
		}
		i += n
	}
	return append(out, span{s, e})
}

// missingSpace reports whether the dot at c[i] joins two sentences written
// without a space ("home.Then").
func missingSpace(c string, i int) bool {
	left := c[:i]
	right := c[i+1:]
	if len(left) < 2 || len(right) < 2 {
		return false
	}
	for _, r := range left {
		if !unicode.IsLower(r) {
			return false
		}
	}
	r0, k := firstRune(right)
	if !unicode.IsUpper(r0) {
		return false
	}
	for _, r := range right[k:] {
		if !unicode.IsLower(r) {
			return false
		}
	}
	return true
}

// splitHyphen decides whether the hyphen at c[i] separates two tokens.
func splitHyphen(c string, i int) bool {
	left := c[:i]
	right := c[i+1:]
	if right == "" || left == "" {
		return false
	}
	// Numbers: phone numbers, dates, codes stay whole.
	if strings.Count(c, "-") >= 2 && hasDigit(c) {
		return false
	}
	lw := lastPart(left)
	rw := firstPart(right)
	if allDigits(lw) && allDigits(rw) {
		return len(rw) < 4
	}
	if hasDigit(lw) && hasDigit(rw) {
		return false
	}
	if keptPrefix[strings.ToLower(lw)] {
		return false
	}
	if keptSuffix[strings.ToLower(rw)] {
		return false
	}
	return true
}

func lastPart(s string) string {
	k := len(s)
	for k > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:k])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		k -= n
	}
	return s[k:]
}

func firstPart(s string) string {
	k := 0
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		k += n
	}
	return s[:k]
}

func hasDigit(s string) bool {
	for _, r := range s {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func slashWord(c string) bool {
	return keptSlash[strings.ToLower(c)]
}

// lineRun returns the length of a run of '-' and '=' at the start of s
// ("--", "----==").
func lineRun(s string) int {
	n := 0
	for n < len(s) && (s[n] == '-' || s[n] == '=') {
		n++
	}
	return n
}

// lineRunBack is lineRun at the end of s.
func lineRunBack(s string) int {
	n := 0
	for n < len(s) && (s[len(s)-1-n] == '-' || s[len(s)-1-n] == '=') {
		n++
	}
	return n
}
