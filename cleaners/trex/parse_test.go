package trex

import (
	"slices"
	"testing"
)

var pairCases = []string{
	`[[0, 5], [6, 11]]`, `[[0,5],[6,11]]`, `[[0, 5, 7], [6, 11]]`, `[ [0, 5] ]`, `[]`, `[[0, 5],]`,
	`[[0, 5], [6]]`, `[[-1, 5]]`, `[[01, 5]]`, `[[0, 5.0]]`, `[[0, 5e1]]`, `[[0,  5]]`, `[[0, 5]] `,
	`[[0, 5]`, `[[0, 5]]]`, `[[1234567890123456789, 1]]`, `[[123456789012345678, 1]]`, `[[0, 5]x]`,
	`[[0, 5], [6, 11],[12,13], [14, 15]]`, `[[0, 5], 	[6, 11]]`, `[["0", 5]]`, `null`, `[[0 , 5]]`,
}

// The fast path of parsePairs must agree with the general parser.
func TestParsePairsFastMatchesSlow(t *testing.T) {
	for _, c := range pairCases {
		checkPairs(t, c)
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
