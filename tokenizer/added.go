package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// segment is a piece of the text: either an added token that was matched
// (tok >= 0, index into Tokenizer.added) or plain text to pre-tokenize.
type segment struct {
	start, end int
	tok        int
}

// splitAdded splits s on the added tokens as Hugging Face's AddedVocabulary
// does: first the tokens with normalized=false, then (on the remaining plain
// pieces) those with normalized=true — the same text here, as RoBERTa has no
// normalizer. Each pass finds leftmost-longest, non-overlapping matches and
// applies single_word, lstrip and rstrip.
func (t *Tokenizer) splitAdded(dst []segment, s string) []segment {
	if len(t.added) == 0 || !t.mayHaveAdded(s) {
		if len(s) > 0 {
			dst = append(dst, segment{0, len(s), -1})
		}
		return dst
	}
	first := t.findMatches(nil, s, 0, len(s), false)
	for _, seg := range first {
		if seg.tok >= 0 {
			dst = append(dst, seg)
			continue
		}
		dst = t.findMatches(dst, s, seg.start, seg.end, true)
	}
	return dst
}

func (t *Tokenizer) mayHaveAdded(s string) bool {
	for i := 0; i < len(s); i++ {
		if t.addedFirst[s[i]] {
			return true
		}
	}
	return false
}

// findMatches appends the segments of s[from:to] split on the added tokens
// whose normalized flag equals normalized.
func (t *Tokenizer) findMatches(dst []segment, s string, from, to int, normalized bool) []segment {
	sub := s[:to]
	startOffset := from
	i := from
	for i < to {
		if !t.addedFirst[sub[i]] {
			i++
			continue
		}
		best, bestLen := -1, 0
		for k, a := range t.added {
			if a.normalized == normalized && len(a.content) > bestLen && strings.HasPrefix(sub[i:], a.content) {
				best, bestLen = k, len(a.content)
			}
		}
		if best < 0 {
			i++
			continue
		}
		a := t.added[best]
		start, stop := i, i+bestLen
		if a.singleWord {
			startOK := start == from || !isWordChar(lastRune(s[from:start]))
			stopOK := stop == to || !isWordChar(firstRune(s[stop:to]))
			if !startOK || !stopOK {
				i = stop
				continue
			}
		}
		if a.lstrip {
			ns := start
			for ns > from {
				r, w := utf8.DecodeLastRuneInString(s[from:ns])
				if !unicode.IsSpace(r) {
					break
				}
				ns -= w
			}
			start = max(ns, startOffset)
		}
		if a.rstrip {
			for stop < to {
				r, w := utf8.DecodeRuneInString(s[stop:to])
				if !unicode.IsSpace(r) {
					break
				}
				stop += w
			}
		}
		if startOffset < start {
			dst = append(dst, segment{startOffset, start, -1})
		}
		dst = append(dst, segment{start, stop, best})
		startOffset = stop
		i = stop
	}
	if startOffset < to {
		dst = append(dst, segment{startOffset, to, -1})
	}
	return dst
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
