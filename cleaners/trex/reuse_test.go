package trex

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// warmDoc has many complete triples, so that a Cleaner that reuses its
// buffers holds values of every key afterwards.
var warmDoc = func() string {
	var tr []string
	for i := 0; i < 40; i++ {
		tr = append(tr, `{"sentence_id":0,"subject":{"uri":"a/Q1","boundaries":[0,5]},"object":{"uri":"b/Q2","boundaries":[15,21]},"predicate":{"uri":"p/P17","boundaries":[6,8]}}`)
	}
	return `{"docid":"w/Q9","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[` + strings.Join(tr, ",") + `]}`
}()

type cleanResult struct {
	examples []string
	counts   Counts
	err      string
}

func cleanWith(c *Cleaner, raw []byte, prefix bool) cleanResult {
	var r cleanResult
	emit := func(ex *Example) error {
		r.examples = append(r.examples, string(AppendJSON(nil, ex)))
		return nil
	}
	before := c.Counts()
	var err error
	if d, _, ok := c.DecodePrefix(raw); prefix && ok {
		err = c.CleanDocument(d, emit)
	} else {
		err = c.Clean(raw, emit)
	}
	var de *DocumentError
	if errors.As(err, &de) {
		r.err = "document error"
	} else if err != nil {
		r.err = err.Error()
	}
	after := c.Counts()
	r.counts = Counts{Documents: after.Documents - before.Documents, MalformedDocuments: after.MalformedDocuments - before.MalformedDocuments,
		Triples: after.Triples - before.Triples, Examples: after.Examples - before.Examples, NullBoundaries: after.NullBoundaries - before.NullBoundaries,
		Unaligned: after.Unaligned - before.Unaligned, BadSentenceID: after.BadSentenceID - before.BadSentenceID, MalformedTriples: after.MalformedTriples - before.MalformedTriples}
	return r
}

// checkReuse cleans raw with a fresh Cleaner and with one that cleaned
// other documents before (buffers reused): the results must be equal.
func checkReuse(t *testing.T, raw []byte) {
	t.Helper()
	for _, prefix := range []bool{false, true} {
		want := cleanWith(NewCleaner(), raw, prefix)
		c := NewCleaner()
		for _, w := range []string{warmDoc, `{"text":"x","triples":null}`, warmDoc, `{"text":"x","triples":[{"sentence_id":0,`, warmDoc} {
			cleanWith(c, []byte(w), prefix)
		}
		got := cleanWith(c, raw, prefix)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("prefix=%v %q:\nreused Cleaner %+v\n fresh Cleaner %+v", prefix, raw, got, want)
		}
		// And the next document is not affected by this one.
		if got, want := cleanWith(c, []byte(warmDoc), prefix), cleanWith(NewCleaner(), []byte(warmDoc), prefix); !reflect.DeepEqual(got, want) {
			t.Fatalf("prefix=%v: after %q the warm document gives %+v, want %+v", prefix, raw, got, want)
		}
	}
}

var reuseCases = []string{
	`{"docid":"D","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{"subject":{"uri":"a","boundaries":[0,5]},"object":{"uri":"b","boundaries":[15,21]},"predicate":{"uri":"c"}}]}`,
	`{"docid":"D","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{"sentence_id":0,"subject":{"uri":"a"},"object":{"uri":"b","boundaries":[15,21]},"predicate":{"uri":"c"}}]}`,
	`{"docid":"D","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{"sentence_id":0,"subject":{"boundaries":[0,5]},"object":{"uri":"b","boundaries":[15,21]},"predicate":{}}]}`,
	`{"docid":"D","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{}, {"sentence_id":0}]}`,
	`{"docid":"D","text":"a","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]]}`,
	`{"docid":"D","text":"a","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]],"triples":[]}`,
	`{"docid":"D","text":"a","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]],"triples":null}`,
	`{"docid":"D","text":"a","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]],"triples":[{"sentence_id":0,"subject":{"uri":"a","boundaries":[0,1]},"object":{"uri":"b","boundaries":[0,1]},"predicate":{"uri":"c"}}`,
	`{"docid":"D","text":"a","sentences_boundaries":[[0,1]],"words_boundaries":[[0,1]],"triples":{}}`,
}

// A Cleaner reuses the triples array between documents: keys missing
// from a later document must not take values of an earlier one.
func TestCleanerReuse(t *testing.T) {
	for i, c := range reuseCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkReuse(t, []byte(c)) })
	}
}

func FuzzCleanerReuse(f *testing.F) {
	for _, c := range reuseCases {
		f.Add([]byte(c))
	}
	f.Add([]byte(warmDoc))
	f.Fuzz(func(t *testing.T, raw []byte) { checkReuse(t, raw) })
}
