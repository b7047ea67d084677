package segment

import (
	"strings"
	"unicode"
)

// splitSentences groups tokens into sentences. hard[i] forces a boundary
// before token i (a blank line, or a line break in line mode).
func splitSentences(text string, toks []Token, hard []bool) []Sentence {
	var out []Sentence
	start := 0
	emit := func(end int) { // tokens [start, end)
		if end > start {
			ts := toks[start:end:end]
			out = append(out, Sentence{Start: ts[0].Start, End: ts[len(ts)-1].End, Tokens: ts})
		}
		start = end
	}
	for i := 0; i < len(toks); i++ {
		if hard[i] {
			emit(i)
		}
		kind := enderKind(toks[i].Text)
		if kind == notEnder || i+1 == len(toks) {
			continue
		}
		// Closing quotes and brackets written against the ender belong to
		// this sentence.
		j := i
		for j+1 < len(toks) && !hard[j+1] && toks[j+1].Start == toks[j].End && isCloser(toks[j+1].Text) {
			j++
		}
		if j+1 == len(toks) {
			i = j
			continue
		}
		if hard[j+1] {
			i = j
			continue
		}
		if j > i && unicode.IsLower(firstRuneOf(toks[j+1].Text)) {
			// “Stop!” said she: a closing quote then a lower-case word
			// continues the sentence.
			i = j
			continue
		}
		if boundaryBefore(kind, toks[i].Text, toks[j+1].Text) {
			emit(j + 1)
			i = j
		}
	}
	emit(len(toks))
	return out
}

type ender int

const (
	notEnder    ender = iota
	endStop           // . ! ? and runs of them
	endEllipsis       // .. ... …
	endAbbrev         // an abbreviation with its period
)

func enderKind(t string) ender {
	allTerm := true
	for _, r := range t {
		if !isTerminal(r) {
			allTerm = false
			break
		}
	}
	if allTerm {
		if strings.ContainsAny(t, "!?") {
			return endStop
		}
		if t == "." {
			return endStop
		}
		return endEllipsis
	}
	if strings.HasSuffix(t, ".") && isAbbrev(t) {
		return endAbbrev
	}
	return notEnder
}

func isCloser(t string) bool {
	switch t {
	case "\"", "'", "”", "’", ")", "]", "}", "''", "»", "’’", "*", "_":
		return true
	}
	return false
}

// boundaryBefore decides whether a sentence ends between an ender and the
// next token.
func boundaryBefore(kind ender, ender, next string) bool {
	r := firstRuneOf(next)
	upper := unicode.IsUpper(r)
	switch kind {
	case endStop:
		_ = upper
		return unicode.IsLetter(r) || unicode.IsDigit(r) || isOpenPunct(r) || r == '\'' || r == '‘' || r == '-' || r == '@' || r == '#' || r == '$' || r == ':' || r == '.' || r == '…' || r == '&' || r == '/'
	case endEllipsis:
		return upper && next != "I"
	case endAbbrev:
		base := abbrevBase(ender)
		if titles[base] || len([]rune(base)) == 1 {
			return false
		}
		return sentenceStarters[next]
	}
	return false
}
