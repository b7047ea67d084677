package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func splitAll(t testing.TB, in string, opts ArrayOptions, oneByte bool) ([]string, []int64, error) {
	var r io.Reader = strings.NewReader(in)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	a := NewArrayReader(r, "in.json", opts)
	var out []string
	var offs []int64
	for {
		e, err := a.Next()
		if err == io.EOF {
			return out, offs, nil
		}
		var tl *ElementTooLargeError
		if errors.As(err, &tl) {
			out = append(out, "<too large>")
			offs = append(offs, tl.Offset)
			continue
		}
		if err != nil {
			return out, offs, err
		}
		out = append(out, string(e))
		offs = append(offs, a.Offset())
	}
}

func TestArrayReader(t *testing.T) {
	bigStr := `"` + strings.Repeat("x\\\"", 100) + `"`
	tests := []struct {
		name    string
		in      string
		want    []string
		offs    []int64
		errSub  string
		errOff  int64
		maxElem int
	}{
		{name: "empty array", in: `[]`, want: nil},
		{name: "empty array with spaces", in: " \n[ \t]\r\n", want: nil},
		{name: "bom", in: "\xEF\xBB\xBF[{\"a\":1}]", want: []string{`{"a":1}`}, offs: []int64{4}},
		{name: "objects", in: `[{"a":[1,2,{"b":"]}"}]}, {"c":"\\"}]`, want: []string{`{"a":[1,2,{"b":"]}"}]}`, `{"c":"\\"}`}},
		{name: "scalars", in: `[1, "a,]", true ,null,-2.5e3]`, want: []string{`1`, `"a,]"`, `true`, `null`, `-2.5e3`}},
		{name: "escaped quotes", in: `[{"t":"say \"hi\" \\"}, "\\\\"]`, want: []string{`{"t":"say \"hi\" \\"}`, `"\\\\"`}},
		{name: "nested arrays", in: `[[[]],[{}]]`, want: []string{`[[]]`, `[{}]`}},
		{name: "non ascii", in: `[{"t":"Zaïdi – 日本"}]`, want: []string{`{"t":"Zaïdi – 日本"}`}},
		{name: "empty input", in: ``, errSub: "empty input", errOff: 0},
		{name: "only bom", in: "\xEF\xBB\xBF", errSub: "empty input", errOff: 3},
		{name: "not an array", in: ` {"a":1}`, errSub: `expected '['`, errOff: 1},
		{name: "truncated inside element", in: `[{"a":1}, {"b":[1,2`, want: []string{`{"a":1}`}, errSub: "inside element 1, which starts at byte offset 10", errOff: 19},
		{name: "truncated in string", in: `[{"a":"abc`, errSub: "unexpected end of input inside element 0", errOff: 10},
		{name: "truncated after comma", in: `[1,`, want: []string{"1"}, errSub: "after ','", errOff: 3},
		{name: "not closed", in: `[{"a":1}`, want: []string{`{"a":1}`}, errSub: "not closed", errOff: 8},
		{name: "missing comma", in: `[{"a":1} {"b":2}]`, want: []string{`{"a":1}`}, errSub: "expected ',' or ']' after element 0", errOff: 9},
		{name: "trailing comma", in: `[1,]`, want: []string{"1"}, errSub: "expected an element after ','", errOff: 3},
		{name: "trailing garbage", in: `[1] x`, want: []string{"1"}, errSub: "after the end of the JSON array", errOff: 4},
		{name: "stray close", in: `[}]`, errSub: "unexpected \"}\"", errOff: 1},
		{name: "too large skipped", in: `[{"a":1}, ` + bigStr + `, {"b":2}]`, maxElem: 100, want: []string{`{"a":1}`, "<too large>", `{"b":2}`}, offs: []int64{1, 10, 314}},
		{name: "too large object", in: `[{"a":"` + strings.Repeat("[", 500) + `"}, 3]`, maxElem: 64, want: []string{"<too large>", "3"}},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			for _, bufSize := range []int{64, 1 << 20} {
				got, offs, err := splitAll(t, tc.in, ArrayOptions{BufferSize: bufSize, MaxElement: tc.maxElem}, oneByte)
				if tc.errSub == "" && err != nil {
					t.Fatalf("%s: unexpected error %v", tc.name, err)
				}
				if tc.errSub != "" {
					var se *SyntaxError
					if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.errSub) || !strings.HasPrefix(err.Error(), "in.json: ") {
						t.Fatalf("%s: error %v, want a SyntaxError containing %q", tc.name, err, tc.errSub)
					}
					if se.Offset != tc.errOff {
						t.Fatalf("%s: error offset %d, want %d (%v)", tc.name, se.Offset, tc.errOff, err)
					}
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("%s (oneByte=%v buf=%d): got %q want %q", tc.name, oneByte, bufSize, got, tc.want)
				}
				if tc.offs != nil && !slices.Equal(offs, tc.offs) {
					t.Fatalf("%s: offsets %v want %v", tc.name, offs, tc.offs)
				}
			}
		}
	}
}

func TestArrayReaderOffsets(t *testing.T) {
	in := `[ {"a":1},` + "\n" + `  {"b":[2]} ]`
	_, offs, err := splitAll(t, in, ArrayOptions{BufferSize: 64}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(offs, []int64{2, 13}) {
		t.Fatalf("offsets %v", offs)
	}
	// InputOffset counts the bytes consumed: all of them after io.EOF.
	a := NewArrayReader(strings.NewReader(in), "in.json", ArrayOptions{BufferSize: 64})
	for {
		if _, err := a.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if a.InputOffset() != int64(len(in)) {
		t.Fatalf("InputOffset %d after io.EOF, want %d", a.InputOffset(), len(in))
	}
}

func TestArrayReaderReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`[{"a":1},{"b"`), iotest.ErrReader(errors.New("disk on fire")))
	a := NewArrayReader(r, "bad.json", ArrayOptions{})
	if _, err := a.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Next()
	if err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("got %v", err)
	}
}

// FuzzArrayReader checks the splitter against encoding/json: for every
// input that encoding/json accepts as an array, the elements are the same
// (compacted); the splitter never panics or loops on any input.
func FuzzArrayReader(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2]`, `[{"a":"]\""}, [[]], "x"]`, "\xEF\xBB\xBF[null]", `[{"a":`, `[1 2]`, `{}`, `["\\"]`} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, in string, buf uint8) {
		got, _, err := splitAll(t, in, ArrayOptions{BufferSize: 64 + int(buf)}, buf%2 == 1)
		// NextPrefix returns the same elements and the same error.
		pa := NewArrayReader(strings.NewReader(in), "in.json", ArrayOptions{BufferSize: 64 + int(buf)})
		for i := 0; ; i++ {
			e, _, perr := pa.NextPrefix(prefixTry)
			var tl *ElementTooLargeError
			if errors.As(perr, &tl) {
				continue
			}
			if perr != nil {
				if i != len(got) || (perr == io.EOF) != (err == nil) {
					t.Fatalf("%q: NextPrefix stopped after %d elements with %v; Next gave %d and %v", in, i, perr, len(got), err)
				}
				break
			}
			if i >= len(got) || string(e) != got[i] {
				t.Fatalf("%q: NextPrefix element %d = %q", in, i, e)
			}
		}
		var want []json.RawMessage
		jin := strings.TrimPrefix(in, "\xEF\xBB\xBF")
		jerr := json.Unmarshal([]byte(jin), &want)
		if jerr != nil || !strings.HasPrefix(strings.TrimLeft(jin, " \t\r\n"), "[") {
			return // invalid JSON: any error or partial output is fine, as long as we did not hang
		}
		if err != nil {
			t.Fatalf("valid array %q: splitter error %v", in, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, want %d", in, len(got), len(want))
		}
		for i := range got {
			var a, b bytes.Buffer
			if err := json.Compact(&a, []byte(got[i])); err != nil {
				t.Fatalf("%q: element %d %q not valid JSON: %v", in, i, got[i], err)
			}
			json.Compact(&b, want[i])
			if a.String() != b.String() {
				t.Fatalf("%q: element %d = %q, want %q", in, i, got[i], want[i])
			}
		}
	})
}

// prefixTry decodes one JSON object at the start of avail with
// encoding/json, the way a real in-place decoder would.
func prefixTry(avail []byte) (int, bool) {
	if len(avail) == 0 || avail[0] != '{' {
		return 0, false
	}
	d := json.NewDecoder(bytes.NewReader(avail))
	var v map[string]any
	if d.Decode(&v) != nil {
		return 0, false
	}
	return int(d.InputOffset()), true
}

func TestNextPrefixMatchesNext(t *testing.T) {
	var parts []string
	for i := 0; i < 200; i++ {
		parts = append(parts, fmt.Sprintf(`{"i": %d, "s": "%s", "l": [1, [2], {"x": "]"}]}`, i, strings.Repeat("é\\\"", i%17)))
		if i%50 == 0 {
			parts = append(parts, `"scalar"`, `[1,2]`)
		}
	}
	in := "\xEF\xBB\xBF[" + strings.Join(parts, ",\n ") + "]"
	for _, bufSize := range []int{64, 100, 1000, 1 << 20} {
		a := NewArrayReader(strings.NewReader(in), "p.json", ArrayOptions{BufferSize: bufSize})
		b := NewArrayReader(iotest.HalfReader(strings.NewReader(in)), "p.json", ArrayOptions{BufferSize: bufSize})
		decodedCount := 0
		for {
			e1, err1 := a.Next()
			e2, dec, err2 := b.NextPrefix(prefixTry)
			if (err1 == nil) != (err2 == nil) || string(e1) != string(e2) || a.Offset() != b.Offset() || a.Index() != b.Index() {
				t.Fatalf("buf %d: Next %q/%v vs NextPrefix %q/%v", bufSize, e1, err1, e2, err2)
			}
			if err1 != nil {
				if err1 != io.EOF {
					t.Fatal(err1)
				}
				break
			}
			if dec {
				decodedCount++
			}
		}
		if bufSize == 1<<20 && decodedCount != 200 {
			t.Fatalf("only %d elements decoded in place", decodedCount)
		}
	}
	// Errors are the same as Next's.
	b := NewArrayReader(strings.NewReader(`[{"a":1} {"b":2}]`), "e.json", ArrayOptions{})
	b.NextPrefix(prefixTry)
	if _, _, err := b.NextPrefix(prefixTry); err == nil || !strings.Contains(err.Error(), "expected ',' or ']' after element 0") {
		t.Fatalf("got %v", err)
	}
}

// Count is the number of complete elements before a problem (item 8 of
// the hardening issue: warnings said "-1" or one too few).
func TestArrayReaderCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{``, 0},
		{`{"a":1}`, 0},
		{`[]`, 0},
		{`[1, 2] x`, 2},
		{`[{"a":1} {"b":2}]`, 1},
		{`[{"a":1}, {"b":`, 1},
		{`[{"a":1}, {"b":2},`, 2},
		{`[1, 2, 3]`, 3},
		{`[1, "` + strings.Repeat("x", 200) + `", 3] !`, 3}, // the long one is skipped, still counted
	} {
		for _, prefix := range []bool{false, true} {
			a := NewArrayReader(strings.NewReader(tc.in), "t", ArrayOptions{MaxElement: 100, BufferSize: 64})
			for {
				var err error
				if prefix {
					_, _, err = a.NextPrefix(prefixTry)
				} else {
					_, err = a.Next()
				}
				var tl *ElementTooLargeError
				if err != nil && !errors.As(err, &tl) {
					break
				}
			}
			if a.Count() != tc.want {
				t.Errorf("%.40q (prefix %v): Count %d, want %d", tc.in, prefix, a.Count(), tc.want)
			}
		}
	}
}
