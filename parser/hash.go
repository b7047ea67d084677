package parser

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Feature keys are 64-bit hashes of a template number and its atoms.

const (
	prime64  = 0x100000001b3
	offset64 = 0xcbf29ce484222325
)

// strHash is FNV-1a over s, seeded so that hashes of different string
// kinds (word, suffix, ...) differ.
func strHash(seed uint64, s string) uint64 {
	h := offset64 ^ seed*0x9E3779B97F4A7C15
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	return h
}

func mix(h, v uint64) uint64 {
	h ^= v + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// f1..f4 build the key of template t over 1..4 atoms.
func f1(t, a uint64) uint64       { return mix(mix(t*0x2545F4914F6CDD1D, a), 1) }
func f2(t, a, b uint64) uint64    { return mix(mix(mix(t*0x2545F4914F6CDD1D, a), b), 2) }
func f3(t, a, b, c uint64) uint64 { return mix(mix(mix(mix(t*0x2545F4914F6CDD1D, a), b), c), 3) }
func f4(t, a, b, c, d uint64) uint64 {
	return mix(mix(mix(mix(mix(t*0x2545F4914F6CDD1D, a), b), c), d), 4)
}

// lower lower-cases s (ASCII fast path).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// normWord maps a form to the string the features see: lower-cased, with
// digits collapsed to '0' so that numbers share features.
func normWord(s string) string {
	s = lower(s)
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c >= '1' && c <= '9' {
			b[i] = '0'
		}
	}
	return string(b)
}

// shape is a compressed word shape: "Xxxx" -> "Xx", "12.5" -> "d.d".
func shape(s string) string {
	var b strings.Builder
	var last rune = -1
	n := 0
	for _, r := range s {
		var c rune
		switch {
		case unicode.IsUpper(r):
			c = 'X'
		case unicode.IsLower(r):
			c = 'x'
		case unicode.IsDigit(r):
			c = 'd'
		default:
			c = r
		}
		if c != last {
			b.WriteRune(c)
			last = c
			n++
			if n > 6 {
				break
			}
		}
	}
	return b.String()
}

// suffix returns the last n runes of s (all of s if shorter).
func suffix(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, sz := utf8.DecodeLastRuneInString(s[:i])
		i -= sz
	}
	return s[i:]
}

// prefix returns the first n runes of s.
func prefix(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
	}
	return s[:i]
}
