package tokenizer

import "unicode/utf8"

// byteRune maps each byte to the printable rune GPT-2's bytes_to_unicode
// gives it; runeByte is the inverse (index = rune, value = byte+1, 0 = none).
var (
	byteRune [256]rune
	byteStr  [256]string
	runeByte [324]int16
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = rune(256 + n)
			n++
		}
		byteStr[b] = string(byteRune[b])
		runeByte[byteRune[b]] = int16(b) + 1
	}
}

// ByteLevel returns the byte-level (GPT-2 bytes_to_unicode) form of s: every
// byte of s becomes one printable rune, as the vocabulary spells tokens.
func ByteLevel(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteRune[s[i]])
	}
	return string(buf)
}

// FromByteLevel converts a byte-level token spelling back to the bytes it
// stands for; ok is false when tok holds a rune outside the byte alphabet.
func FromByteLevel(tok string) (b []byte, ok bool) {
	b = make([]byte, 0, len(tok))
	for _, r := range tok {
		if r < 0 || int(r) >= len(runeByte) || runeByte[r] == 0 {
			return b, false
		}
		b = append(b, byte(runeByte[r]-1))
	}
	return b, true
}
