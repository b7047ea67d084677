package trex

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends ex as a JSON object in the original layout, the way
// Python's json.dump writes it by default (keys in the original order,
// ", " and ": " separators, non-ASCII escaped as \uXXXX), so files built
// from it are byte-identical to the original scripts' output.
func AppendJSON(b []byte, ex *Example) []byte {
	b = append(b, `{"docid": `...)
	b = AppendPyString(b, ex.DocID)
	b = append(b, `, "token": [`...)
	for i, t := range ex.Tokens {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = AppendPyString(b, t)
	}
	b = append(b, `], "relation": `...)
	b = AppendPyString(b, ex.Relation)
	b = append(b, `, "subj_start": `...)
	b = strconv.AppendInt(b, ex.SubjStart, 10)
	b = append(b, `, "subj_end": `...)
	b = strconv.AppendInt(b, ex.SubjEnd, 10)
	b = append(b, `, "obj_start": `...)
	b = strconv.AppendInt(b, ex.ObjStart, 10)
	b = append(b, `, "obj_end": `...)
	b = strconv.AppendInt(b, ex.ObjEnd, 10)
	b = append(b, `, "subj_label": `...)
	b = AppendPyString(b, ex.SubjLabel)
	b = append(b, `, "obj_label": `...)
	b = AppendPyString(b, ex.ObjLabel)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// AppendPyString appends s as Python's json.dumps(s) (ensure_ascii=True)
// writes it. Invalid UTF-8 is written as \ufffd.
func AppendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = appendU(b, rune(c))
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		} else {
			b = appendU(b, r)
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
