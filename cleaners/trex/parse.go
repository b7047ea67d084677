package trex

import (
	"unsafe"

	"github.com/bytedance/sonic"
)

// Small allocation-free parsers for the raw JSON fields of a Document.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isNull reports whether a raw value is missing or JSON null.
func isNull(b []byte) bool {
	b = trimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

// parseInt parses a JSON integer (no fraction or exponent).
func parseInt(b []byte) (int64, bool) {
	b = trimSpace(b)
	v, n, ok := scanInt(b, 0)
	return v, ok && n == len(b)
}

// scanInt parses an integer at b[i:], returning the value and the index
// after it.
func scanInt(b []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	v, i, ok := fastUint(b, i)
	if !ok {
		return 0, i, false // empty, out of the accepted range, or a leading zero
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, i, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// parseString returns the value of a raw JSON string. Without escapes it
// refers to b (no copy); with escapes it is decoded by sonic.
func parseString(b []byte) (string, bool) {
	b = trimSpace(b)
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			var s string
			if err := sonic.Unmarshal(b, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	if len(inner) == 0 {
		return "", true
	}
	return unsafe.String(&inner[0], len(inner)), true
}

// Boundary list states.
const (
	bndOK    = iota // at least two integers
	bndFalsy        // null, missing or [] (falsy in Python)
	bndShort        // one integer: the original raises IndexError
	bndBad          // not a list of integers
)

// parseBoundaries parses a subject/object "boundaries" value.
func parseBoundaries(b []byte) (int64, int64, int) {
	b = trimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, 0, bndFalsy
	}
	if b[0] != '[' {
		return 0, 0, bndBad
	}
	var vals [2]int64
	n := 0
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		if skipSpace(b, i+1) != len(b) {
			return 0, 0, bndBad
		}
		return 0, 0, bndFalsy
	}
	for {
		v, j, ok := scanInt(b, i)
		if !ok {
			return 0, 0, bndBad
		}
		if n < 2 {
			vals[n] = v
		}
		n++
		i = skipSpace(b, j)
		if i >= len(b) {
			return 0, 0, bndBad
		}
		if b[i] == ']' {
			break
		}
		if b[i] != ',' {
			return 0, 0, bndBad
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i+1) != len(b) {
		return 0, 0, bndBad
	}
	if n < 2 {
		return 0, 0, bndShort
	}
	return vals[0], vals[1], bndOK
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// parsePairs parses a list of [start, end, ...] integer lists into dst as
// flat start/end pairs (values after the second of an inner list are
// ignored, as the original only reads [0] and [1]).
func parsePairs(b []byte, dst []int64) ([]int64, bool) {
	b = trimSpace(b)
	if out, ok := parsePairsFast(b, dst); ok {
		return out, true
	}
	return parsePairsSlow(b, dst)
}

// parsePairsFast handles the layout of the dump, [[a, b], [c, d], ...]
// (non-negative pairs, at most one space after each comma), in one tight
// loop. It reports false for anything else, and parsePairsSlow, which
// accepts all JSON, decides (dst's length is not changed then).
func parsePairsFast(b []byte, dst []int64) ([]int64, bool) {
	n := len(b)
	if n < 7 || b[0] != '[' || b[n-1] != ']' {
		return dst, false
	}
	orig := len(dst)
	i := 1
	for {
		if i >= n || b[i] != '[' {
			return dst[:orig], false
		}
		x, j, ok := fastUint(b, i+1)
		if !ok || j+1 >= n || b[j] != ',' {
			return dst[:orig], false
		}
		j++
		if b[j] == ' ' {
			j++
		}
		y, k, ok := fastUint(b, j)
		if !ok || k+1 >= n || b[k] != ']' {
			return dst[:orig], false
		}
		dst = append(dst, x, y)
		i = k + 1
		switch b[i] {
		case ']':
			if i+1 == n {
				return dst, true
			}
			return dst[:orig], false
		case ',':
			i++
			if i < n && b[i] == ' ' {
				i++
			}
		default:
			return dst[:orig], false
		}
	}
}

// fastUint parses the digits at b[i:] of a non-negative number (1 to 18
// digits, no leading zero); the caller checks the byte after them.
func fastUint(b []byte, i int) (int64, int, bool) {
	start := i
	var v int64
	for i < len(b) {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
		i++
	}
	k := i - start
	if k == 0 || k > 18 || k > 1 && b[start] == '0' {
		return 0, i, false
	}
	return v, i, true
}

// parsePairsSlow is parsePairs for any JSON layout.
func parsePairsSlow(b []byte, dst []int64) ([]int64, bool) {
	if len(b) < 2 || b[0] != '[' {
		return dst, false
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return dst, skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '[' {
			return dst, false
		}
		i = skipSpace(b, i+1)
		n := 0
		for {
			v, j, ok := scanInt(b, i)
			if !ok {
				return dst, false
			}
			if n < 2 {
				dst = append(dst, v)
			}
			n++
			i = skipSpace(b, j)
			if i >= len(b) {
				return dst, false
			}
			if b[i] == ']' {
				break
			}
			if b[i] != ',' {
				return dst, false
			}
			i = skipSpace(b, i+1)
		}
		if n < 2 {
			return dst, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return dst, false
		}
		if b[i] == ']' {
			return dst, skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return dst, false
		}
		i = skipSpace(b, i+1)
	}
}
