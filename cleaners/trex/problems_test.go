package trex

import (
	"errors"
	"strings"
	"testing"
)

// A triple with aligned boundaries in sentence 0 of "a b" (words a, b).
const okTriple = `{"sentence_id":0,"subject":{"uri":"u/Q1","boundaries":[0,1]},"object":{"uri":"u/Q2","boundaries":[2,3]},"predicate":{"uri":"p/P1"}}`
const nullTriple = `{"sentence_id":0,"subject":{"uri":"u/Q1","boundaries":null},"object":{"uri":"u/Q2","boundaries":[2,3]},"predicate":{"uri":"p/P1"}}`

func docWith(docid string, triples ...string) string {
	s := `{` + docid + `"text":"a b","sentences_boundaries":[[0,3]],"words_boundaries":[[0,1],[2,3]],"triples":[` + strings.Join(triples, ",") + `]}`
	return s
}

// The original reads ele['docid'] only when it appends an example: a
// document without docid is valid as long as none of its triples makes
// one (FuzzDecode found this).
func TestDocIDOnlyWhenAnExampleIsMade(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		examples  int
		badTriple int // -1: the document is valid
	}{
		{"no docid, no triples", docWith(""), 0, -1},
		{"no docid, every triple dropped", docWith("", nullTriple, `{"sentence_id":9}`, `{"sentence_id":0}`), 0, -1},
		{"numeric docid, every triple dropped", docWith(`"docid":7,`, nullTriple), 0, -1},
		{"docid, an example", docWith(`"docid":"x/D1",`, nullTriple, okTriple), 1, -1},
		{"no docid, an example", docWith("", okTriple), 0, 0},
		{"no docid, an example at triple 2", docWith("", nullTriple, `{"sentence_id":9}`, okTriple), 0, 2},
		{"null docid, an example", docWith(`"docid":null,`, okTriple), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCleaner()
			n := 0
			err := c.Clean([]byte(tc.doc), func(ex *Example) error { n++; return nil })
			cn := c.Counts()
			if tc.badTriple < 0 {
				if err != nil || n != tc.examples || cn.Documents != 1 || cn.MalformedDocuments != 0 {
					t.Fatalf("err %v, %d examples, counts %+v", err, n, cn)
				}
				return
			}
			var de *DocumentError
			if !errors.As(err, &de) || de.Triple != tc.badTriple || !strings.Contains(de.Msg, `"docid"`) {
				t.Fatalf("want a DocumentError at triple %d naming docid, got %v", tc.badTriple, err)
			}
			// Counted as one malformed document, none of its triples.
			if want := (Counts{MalformedDocuments: 1}); cn != want || n != 0 {
				t.Fatalf("counts %+v (%d emitted), want %+v", cn, n, want)
			}
		})
	}
}

// Every rejected document says what is wrong in words, naming the key.
func TestDocumentMessages(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`"str"`, "the document is a string, not an object"},
		{`12`, "the document is a number, not an object"},
		{`-1.5`, "the document is a number, not an object"},
		{`null`, "the document is null, not an object"},
		{`true`, "the document is a boolean, not an object"},
		{`[1,2]`, "the document is a list, not an object"},
		{`  `, "empty document"},
		{`{"text":5,"triples":[],"sentences_boundaries":[],"words_boundaries":[]}`, `key "text" is a number, not a string`},
		{`{"text":"x","triples":"no","sentences_boundaries":[],"words_boundaries":[]}`, `key "triples" is a string, not a list`},
		{`{"text":"x","triples":[7],"sentences_boundaries":[],"words_boundaries":[]}`, `triple 0 is a number, not an object`},
		{`{"text":"x","triples":[{},{"subject":3}],"sentences_boundaries":[],"words_boundaries":[]}`, `triple 1: key "subject" is a number, not an object`},
		{`{"docid": tru}`, "invalid JSON at byte"},
		{`{"triples":[]}`, `key "text" is missing or null`},
		{`{"text":"x","sentences_boundaries":[],"words_boundaries":[]}`, `key "triples" is missing or null`},
		{`{"text":"x","triples":[],"sentences_boundaries":[[0]],"words_boundaries":[]}`, `key "sentences_boundaries" is not a list of [start, end] integer pairs`},
	} {
		c := NewCleaner()
		err := c.Clean([]byte(tc.doc), func(*Example) error { return nil })
		var de *DocumentError
		if !errors.As(err, &de) || !strings.Contains(de.Msg, tc.want) || strings.Contains(de.Msg, "\n") {
			t.Errorf("%s: got %v, want a message with %q", tc.doc, err, tc.want)
		}
	}
}

// BadTriple names the first unreadable triple, by index, with the problem.
func TestBadTriple(t *testing.T) {
	for _, tc := range []struct {
		triples []string
		index   int
		reason  string
		want    string
	}{
		{[]string{okTriple, `{"sentence_id":5}`}, 1, ReasonBadSentenceID, `"sentence_id" 5 is past the last sentence (the document has 1)`},
		{[]string{`{"sentence_id":-1}`}, 0, ReasonBadSentenceID, `"sentence_id" -1 is negative`},
		{[]string{nullTriple, `{"subject":{}}`}, 1, ReasonBadSentenceID, `key "sentence_id" is missing or null`},
		{[]string{`{"sentence_id":"0"}`}, 0, ReasonBadSentenceID, `key "sentence_id" is not an integer: "0"`},
		{[]string{`{"sentence_id":0,"object":{"uri":"o"},"predicate":{"uri":"p"}}`}, 0, ReasonMalformedTriple, `key "subject" is missing`},
		{[]string{`{"sentence_id":0,"subject":{"uri":1},"object":{"uri":"o"},"predicate":{"uri":"p"}}`}, 0, ReasonMalformedTriple, `"subject" has no string "uri"`},
		{[]string{okTriple, okTriple, `{"sentence_id":0,"subject":{"uri":"s","boundaries":[0]},"object":{"uri":"o","boundaries":[2,3]},"predicate":{"uri":"p"}}`}, 2, ReasonMalformedTriple, `"subject" "boundaries" has one value`},
		{[]string{`{"sentence_id":0,"subject":{"uri":"s","boundaries":[0,1]},"object":{"uri":"o","boundaries":"x"},"predicate":{"uri":"p"}}`}, 0, ReasonMalformedTriple, `"object" "boundaries" is not a list of integers: "x"`},
	} {
		c := NewCleaner()
		if err := c.Clean([]byte(docWith(`"docid":"D",`, tc.triples...)), func(*Example) error { return nil }); err != nil {
			t.Fatal(err)
		}
		p, ok := c.BadTriple()
		if !ok || p.Index != tc.index || p.Reason != tc.reason || !strings.Contains(p.Msg, tc.want) {
			t.Errorf("%v: got %+v (%v), want triple %d %s %q", tc.triples, p, ok, tc.index, tc.reason, tc.want)
		}
	}
	c := NewCleaner()
	c.Clean([]byte(docWith(`"docid":"D",`, `{"sentence_id":7}`)), func(*Example) error { return nil })
	c.Clean([]byte(docWith(`"docid":"D",`, okTriple, nullTriple)), func(*Example) error { return nil })
	if p, ok := c.BadTriple(); ok {
		t.Errorf("a good document reports the bad triple of the one before: %+v", p)
	}
}

// Lone surrogate escapes: Python keeps the code point; kadapter writes
// U+FFFD (same code-point offsets) and counts the document.
func TestLoneSurrogates(t *testing.T) {
	for _, tc := range []struct {
		name, word string // word: the JSON text of the first word (one code point)
		token      string
		counted    int64
	}{
		{"lone high", `\ud800`, "\uFFFD", 1},
		{"lone low", `\udc00`, "\uFFFD", 1},
		{"high then a letter", `\uD83D`, "\uFFFD", 1},
		{"pair", `\ud83d\ude00`, "😀", 0},
		{"escaped backslash", `\\`, `\`, 0},
		{"real U+FFFD", `\ufffd`, "\uFFFD", 0},
		{"plain", `é`, "é", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"docid":"D","text":"` + tc.word + ` b","sentences_boundaries":[[0,3]],"words_boundaries":[[0,1],[2,3]],"triples":[` + okTriple + `]}`
			c := NewCleaner()
			var toks []string
			if err := c.Clean([]byte(doc), func(ex *Example) error { toks = append(toks, ex.Tokens...); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(toks) != 2 || toks[0] != tc.token || toks[1] != "b" || c.Counts().LoneSurrogates != tc.counted {
				t.Fatalf("tokens %q, lone surrogates %d; want [%q b], %d", toks, c.Counts().LoneSurrogates, tc.token, tc.counted)
			}
		})
	}
	for in, want := range map[string]bool{`"\ud800"`: true, `"\ud800\udc00"`: false, `"\\ud800"`: false, `"\\\ud800"`: true,
		`"\udfff"`: true, `"\ud800\u0041"`: true, `"x\ud7ff"`: false, `"\ue000"`: false, `"\ud80"`: false} {
		if got := hasLoneSurrogate([]byte(in)); got != want {
			t.Errorf("hasLoneSurrogate(%s) = %v", in, got)
		}
	}
}
