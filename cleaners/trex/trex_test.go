package trex

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
)

// cleanFile runs the cleaner over every document of a JSON array file and
// returns the examples as generic JSON values (via AppendJSON).
func cleanFile(t *testing.T, path string) ([]any, Counts) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return cleanReader(t, f, path)
}

func cleanReader(t *testing.T, r io.Reader, name string) ([]any, Counts) {
	t.Helper()
	a := pipeline.NewArrayReader(r, name, pipeline.ArrayOptions{})
	c := NewCleaner()
	out := []byte("[")
	n := 0
	for {
		raw, err := a.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		err = c.Clean(raw, func(ex *Example) error {
			if n > 0 {
				out = append(out, ", "...)
			}
			n++
			out = AppendJSON(out, ex)
			return nil
		})
		var de *DocumentError
		if err != nil && !errors.As(err, &de) {
			t.Fatal(err)
		}
	}
	out = append(out, ']')
	var v []any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("our JSON does not parse: %v", err)
	}
	return v, c.Counts()
}

func readJSON(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v []any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func compareExamples(t *testing.T, got, want []any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d examples, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("example %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

func TestSampleOutputMatchesReference(t *testing.T) {
	in := testshared.Path(t, "data", "trex", "sample-output.json")
	ref := testshared.Path(t, "data", "trex", "kadapter-reference", "T_REx_example.from_sample.json")
	got, counts := cleanFile(t, in)
	want := readJSON(t, ref)
	if len(want) != 99 {
		t.Fatalf("reference has %d examples", len(want))
	}
	compareExamples(t, got, want)
	if counts.Examples != 99 || counts.Documents != 2 {
		t.Fatalf("counts %+v", counts)
	}
	if counts.Triples != counts.Examples+counts.DroppedTriples() {
		t.Fatalf("triples %d != examples %d + dropped %d", counts.Triples, counts.Examples, counts.DroppedTriples())
	}
	// The compact copy of the same dump gives the same result.
	got2, _ := cleanFile(t, testshared.Path(t, "data", "trex", "sample-output.compact.json"))
	compareExamples(t, got2, want)
}

func TestFixtureMatchesFunc(t *testing.T) {
	in := testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture", "re-nlg_fixture.json")
	ref := testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "func_output.json")
	got, counts := cleanFile(t, in)
	compareExamples(t, got, readJSON(t, ref))
	// Every triple is an example or counted by its drop reason.
	want := Counts{Documents: 298, Triples: 302 + 2 + 2, Examples: 302, NullBoundaries: 2, Unaligned: 2}
	if counts != want {
		t.Fatalf("counts\n got %+v\nwant %+v", counts, want)
	}
}

// The first-match in-place rewrite (quirk 28): the duplicate "Seine" word
// entry no longer matches once the boundary became a word index, so the
// triple is kept and the duplicate token appears at the end.
func TestInPlaceRewriteQuirk(t *testing.T) {
	doc := `[{"docid":"http://x/Q101","text":"Paris is the capital of France . The Seine flows through Paris .",
	"sentences_boundaries":[[0,32],[33,64]],
	"words_boundaries":[[0,5],[6,8],[9,12],[13,20],[21,23],[24,30],[31,32],[33,36],[37,42],[43,48],[49,56],[57,62],[63,64],[31,36],[37,42]],
	"triples":[{"sentence_id":1,"subject":{"uri":"http://x/Q1471","boundaries":[37,42]},"object":{"uri":"http://x/Q90","boundaries":[57,62]},"predicate":{"uri":"http://x/P17"}}]}]`
	got, _ := cleanReader(t, strings.NewReader(doc), "q.json")
	if len(got) != 1 {
		t.Fatalf("%d examples", len(got))
	}
	ex := got[0].(map[string]any)
	toks := ex["token"].([]any)
	if len(toks) != 7 || toks[6] != "Seine" || ex["subj_start"].(float64) != 1 || ex["obj_end"].(float64) != 4 {
		t.Fatalf("got %v", ex)
	}
}

func TestCodePointOffsets(t *testing.T) {
	// "Zaïdi 日本 😀 x": offsets in code points; the emoji is one code point.
	doc := `[{"docid":"Q1","text":"Zaïdi 日本 😀 x","sentences_boundaries":[[0,12]],
	"words_boundaries":[[0,5],[6,8],[9,10],[11,12]],
	"triples":[{"sentence_id":0,"subject":{"uri":"a/Q2","boundaries":[6,8]},"object":{"uri":"a/Q3","boundaries":[11,12]},"predicate":{"uri":"p/P1"}}]}]`
	got, _ := cleanReader(t, strings.NewReader(doc), "cp.json")
	want := []any{map[string]any{"docid": "Q1", "token": []any{"Zaïdi", "日本", "😀", "x"}, "relation": "P1",
		"subj_start": 1.0, "subj_end": 1.0, "obj_start": 3.0, "obj_end": 3.0, "subj_label": "Q2", "obj_label": "Q3"}}
	compareExamples(t, got, want)
}

func TestDropReasons(t *testing.T) {
	tri := func(sid, sub, obj string) string {
		return `{"sentence_id":` + sid + `,"subject":{"uri":"u/Q1","boundaries":` + sub + `},"object":{"uri":"u/Q2","boundaries":` + obj + `},"predicate":{"uri":"p/P9"}}`
	}
	doc := `{"docid":"D","text":"a b c","sentences_boundaries":[[0,5]],"words_boundaries":[[0,1],[2,3],[4,5]],"triples":[` +
		strings.Join([]string{
			tri("0", "[0,1]", "[4,5]"),  // ok
			tri("0", "null", "[4,5]"),   // null
			tri("0", "[0,1]", "[]"),     // empty = null
			tri("0", "[0,2]", "[4,5]"),  // unaligned
			tri("3", "[0,1]", "[4,5]"),  // bad sentence id
			tri("-1", "[0,1]", "[4,5]"), // negative: bad
			`{"subject":{"uri":"u","boundaries":[0,1]},"object":{"uri":"u","boundaries":[4,5]},"predicate":{"uri":"p"}}`,       // missing sentence id
			`{"sentence_id":0,"subject":{"boundaries":[0,1]},"object":{"uri":"u","boundaries":[4,5]},"predicate":{"uri":"p"}}`, // missing uri
			`{"sentence_id":0,"object":{"uri":"u","boundaries":[4,5]},"predicate":{"uri":"p"}}`,                                // missing subject
			tri("0", "[0]", "[4,5]"),     // one boundary value
			tri("0", "[0,1,7]", "[4,5]"), // extra values ignored, as upstream: ok
		}, ",") + `],"extra_key":{"nested":[1,2,{"x":"y"}]}}`
	bad := []string{
		`{"docid":"D","sentences_boundaries":[],"words_boundaries":[],"triples":[]}`,               // missing text
		`{"docid":"D","text":"x","words_boundaries":[],"triples":[]}`,                              // missing sentences
		`{"docid":"D","text":"x","sentences_boundaries":[[0]],"words_boundaries":[],"triples":[]}`, // short sentence boundary
		`{"docid":"D","text":"x","sentences_boundaries":[],"words_boundaries":[],"triples":"no"}`,  // wrong type
		`[1,2]`, `"str"`, `{"docid": tru}`,
		`{"docid":"D","text":"x","sentences_boundaries":[[0,1.5]],"words_boundaries":[],"triples":[]}`,                                                                                                                            // float offset
		`{"docid":"D","text":"x","sentences_boundaries":[],"words_boundaries":[[0,1],[2]],"triples":[]}`,                                                                                                                          // short word boundary
		`{"docid":7,"text":"x","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]],"triples":[{"sentence_id":0,"subject":{"uri":"a","boundaries":[0,1]},"object":{"uri":"b","boundaries":[0,1]},"predicate":{"uri":"c"}}]}`, // docid not a string, and an example needs it
		`{"docid":"D","Text":"x","sentences_boundaries":[],"words_boundaries":[],"triples":[]}`,                                                                                                                                   // keys are case-sensitive
	}
	// a string sentence id is a bad sentence id (the original raises TypeError)
	strID := `{"docid":"D","text":"x","sentences_boundaries":[[0,1]],"words_boundaries":[],"triples":[{"sentence_id":"0"}]}`
	// docid is not needed when no triple makes an example (as the original)
	noID := `{"docid":7,"text":"x","sentences_boundaries":[],"words_boundaries":[],"triples":[{"sentence_id":0}]}`
	in := "[" + doc + "," + strings.Join(bad, ",") + "," + strID + "," + noID + `,{"text":"","sentences_boundaries":[],"words_boundaries":[],"triples":[]}]`
	got, c := cleanReader(t, strings.NewReader(in), "drops.json")
	if len(got) != 2 {
		t.Fatalf("%d examples: %v", len(got), got)
	}
	want := Counts{Documents: 4, MalformedDocuments: int64(len(bad)), Triples: 13, Examples: 2, NullBoundaries: 2, Unaligned: 1, BadSentenceID: 5, MalformedTriples: 3}
	if c != want {
		t.Fatalf("counts\n got %+v\nwant %+v", c, want)
	}
	if c.Triples != c.Examples+c.DroppedTriples() {
		t.Fatal("triples do not add up")
	}
}

func TestAppendPyString(t *testing.T) {
	cases := map[string]string{
		"plain":              `"plain"`,
		"a\"b\\c":            `"a\"b\\c"`,
		"\n\t\r\b\f\x01\x7f": `"\n\t\r\b\f\u0001\u007f"`,
		"ænˈdɔːrə":           `"\u00e6n\u02c8d\u0254\u02d0r\u0259"`,
		"😀":                  `"\ud83d\ude00"`,
		"\xff":               `"\ufffd"`,
	}
	for in, want := range cases {
		if got := string(AppendPyString(nil, in)); got != want {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
}

func TestPyIndex(t *testing.T) {
	for _, tc := range []struct{ i, n, want int64 }{{0, 5, 0}, {5, 5, 5}, {7, 5, 5}, {-1, 5, 4}, {-9, 5, 0}} {
		if got := pyIndex(tc.i, tc.n); got != tc.want {
			t.Errorf("pyIndex(%d,%d)=%d want %d", tc.i, tc.n, got, tc.want)
		}
	}
}
