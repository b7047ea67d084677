package trex

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var pairCases = []string{
	`[[0, 5], [6, 11]]`, `[[0,5],[6,11]]`, `[[0, 5, 7], [6, 11]]`, `[ [0, 5] ]`, `[]`, `[[0, 5],]`,
	`[[0, 5], [6]]`, `[[-1, 5]]`, `[[01, 5]]`, `[[0, 5.0]]`, `[[0, 5e1]]`, `[[0,  5]]`, `[[0, 5]] `,
	`[[0, 5]`, `[[0, 5]]]`, `[[1234567890123456789, 1]]`, `[[123456789012345678, 1]]`, `[[0, 5]x]`,
	`[[0, 5], [6, 11],[12,13], [14, 15]]`, `[[0, 5], 	[6, 11]]`, `[["0", 5]]`, `null`, `[[0 , 5]]`,
}

// The fast path of parsePairs must agree with the general parser.
func TestParsePairsFastMatchesSlow(t *testing.T) {
	fast := 0
	for _, c := range pairCases {
		checkPairs(t, c)
		if _, ok := parsePairsFast(trimSpace([]byte(c)), nil); ok {
			fast++
		}
	}
	if fast == 0 {
		t.Fatal("the fast path accepted none of the cases, so nothing compared it")
	}
}

func checkPairs(t *testing.T, in string) {
	t.Helper()
	prefix := []int64{42}
	got, gok := parsePairs([]byte(in), slices.Clone(prefix))
	want, wok := parsePairsSlow(trimSpace([]byte(in)), slices.Clone(prefix))
	if gok != wok || gok && !slices.Equal(got, want) {
		t.Fatalf("%q: parsePairs = %v, %v; general parser = %v, %v", in, got, gok, want, wok)
	}
	if fast, ok := parsePairsFast(trimSpace([]byte(in)), slices.Clone(prefix)); ok && !wok || !ok && len(fast) != len(prefix) {
		t.Fatalf("%q: fast path = %v, %v; general parser ok = %v", in, fast, ok, wok)
	}
}

func FuzzParsePairs(f *testing.F) {
	for _, c := range pairCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) { checkPairs(t, in) })
}

// byteOffset (with its in-order hint) agrees with a []rune conversion,
// for offsets in order, backwards and at random.
func TestByteOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", " ", "é", "東", "😀", "\x80"}
	for n := 0; n < 200; n++ {
		var sb strings.Builder
		for i := rng.IntN(300); i > 0; i-- {
			if rng.IntN(4) == 0 {
				sb.WriteString(alphabet[3+rng.IntN(4)])
			} else {
				sb.WriteString(alphabet[rng.IntN(3)])
			}
		}
		text := sb.String()
		// Reference: the byte index of each code point (an invalid byte counts as one, as documented).
		var starts []int
		for i := 0; i < len(text); {
			starts = append(starts, i)
			_, k := utf8.DecodeRuneInString(text[i:])
			i += k
		}
		starts = append(starts, len(text))
		c := NewCleaner()
		c.prepareText(text)
		if c.textLen != int64(len(starts)-1) {
			t.Fatalf("%q: %d code points, want %d", text, c.textLen, len(starts)-1)
		}
		var seq []int64
		for i := range starts {
			seq = append(seq, int64(i))
		}
		for i := len(starts) - 1; i >= 0; i -= 3 {
			seq = append(seq, int64(i))
		}
		for i := 0; i < 100; i++ {
			seq = append(seq, rng.Int64N(int64(len(starts))))
		}
		for _, cp := range seq {
			if got := c.byteOffset(cp); got != starts[cp] {
				t.Fatalf("%q: byteOffset(%d) = %d, want %d", text, cp, got, starts[cp])
			}
		}
	}
}
