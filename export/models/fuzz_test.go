package models

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseIntList: --adapter-list never panics, and what it accepts
// prints back to the same numbers.
func FuzzParseIntList(f *testing.F) {
	for _, s := range []string{"0,11,22", "0, 1 ,3", "", ",,", "1,a", "-1,99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		xs, err := ParseIntList(s)
		if err != nil {
			return
		}
		var parts []string
		for _, x := range xs {
			parts = append(parts, strconv.Itoa(x))
		}
		again, err := ParseIntList(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, xs) {
			t.Fatalf("%q -> %v -> %v, %v", s, xs, again, err)
		}
	})
}
