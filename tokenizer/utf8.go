package tokenizer

import "unicode/utf8"

// sanitize replaces every ill-formed UTF-8 subsequence of s by U+FFFD, one
// replacement per maximal subpart (the Unicode / WHATWG practice that Node's
// and Python's decoders follow, so that an invalid byte string reaches the
// tokenizer as Hugging Face's bindings would see it). orig maps every byte
// offset of the result (0..len(out)) to the offset in s it came from; it is
// nil when s is valid and out == s.
func sanitize(s string) (out string, orig []int32) {
	if utf8.ValidString(s) {
		return s, nil
	}
	buf := make([]byte, 0, len(s)+8)
	orig = make([]int32, 0, len(s)+9)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			buf = append(buf, c)
			orig = append(orig, int32(i))
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || w > 1 {
			for k := 0; k < w; k++ {
				orig = append(orig, int32(i))
			}
			buf = append(buf, s[i:i+w]...)
			i += w
			continue
		}
		n := maximalSubpart(s[i:])
		buf = append(buf, "\uFFFD"...)
		orig = append(orig, int32(i), int32(i), int32(i))
		i += n
	}
	orig = append(orig, int32(len(s)))
	// Interior bytes of a character map to its start; only character
	// boundaries are ever looked up, and the end of a replaced subpart is
	// the start of what follows it.
	return string(buf), orig
}

// maximalSubpart returns the length of the ill-formed subsequence at the
// start of s (s[0] is not the start of a valid character): the lead byte and
// the continuation bytes that a well-formed sequence with that lead could
// still have had, or 1.
func maximalSubpart(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if b < lo || b > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

// ToValidUTF8 returns s with every ill-formed UTF-8 subsequence replaced by
// U+FFFD, one replacement per maximal subpart, as Node's and Python's UTF-8
// decoders (and so Hugging Face's bindings) do. Encode applies the same
// rule itself; this is for callers that must clean text before parsing it
// (JSON decoders replace every bad byte instead).
func ToValidUTF8(s string) string {
	out, _ := sanitize(s)
	return out
}
