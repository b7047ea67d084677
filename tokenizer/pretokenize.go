package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of the GPT-2 pre-tokenization pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// as Oniguruma (the regex engine of Hugging Face's tokenizers) evaluates it
// on UTF-8 text: \s is the Unicode White_Space property, \p{L} and \p{N}
// the general categories L* and N*. The tables (unicode_tables.go) are
// generated from Hugging Face's own pre-tokenizer (Unicode 16.0), so the
// result does not depend on the Unicode version of the Go toolchain.
const (
	clsOther  = 0
	clsLetter = 1
	clsNumber = 2
	clsSpace  = 3
)

var asciiClass [128]uint8

func init() {
	for b := 0; b < 128; b++ {
		asciiClass[b] = runeClassSlow(rune(b))
	}
}

func runeClassSlow(r rune) uint8 {
	switch {
	case unicode.Is(onigSpace, r):
		return clsSpace
	case unicode.Is(onigLetter, r):
		return clsLetter
	case unicode.Is(onigNumber, r):
		return clsNumber
	}
	return clsOther
}

// classAt returns the class of the rune at s[i] and its width in bytes.
// Invalid UTF-8 counts as one "other" byte (Encode replaces invalid
// sequences before pre-tokenizing, so this only keeps the scanner total).
func classAt(s string, i int) (uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return runeClassSlow(r), w
}

// nextWord returns the end of the pre-token that starts at byte i of s
// (i < len(s)). Consecutive calls starting at 0 tile s exactly: the
// alternatives of the pattern cover every character, so nothing is skipped.
func nextWord(s string, i int) int {
	n := len(s)
	c := s[i]
	// 's|'t|'re|'ve|'m|'ll|'d
	if c == '\'' && i+1 < n {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r':
			if i+2 < n && s[i+2] == 'e' {
				return i + 3
			}
		case 'v':
			if i+2 < n && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < n && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	cls, w := classAt(s, i)
	start := i
	if c == ' ' && i+1 < n {
		// " ?X+": an optional single space followed by a run of class X.
		if nc, _ := classAt(s, i+1); nc != clsSpace {
			cls = nc
			start = i + 1
			w = 0
		}
	}
	if cls != clsSpace {
		j := start + w
		if w == 0 {
			_, w0 := classAt(s, start)
			j = start + w0
		}
		for j < n {
			cj, wj := classAt(s, j)
			if cj != cls {
				break
			}
			j += wj
		}
		return j
	}
	// Whitespace: \s+(?!\S) takes the run, less its last character when a
	// non-space follows (and fails on a single character, where \s+ takes it).
	j := i + w
	last := i
	for j < n {
		cj, wj := classAt(s, j)
		if cj != clsSpace {
			if last > i {
				return last
			}
			return j
		}
		last = j
		j += wj
	}
	return n
}
