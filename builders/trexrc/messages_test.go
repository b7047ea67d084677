package trexrc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every warning and --strict error names the file, the record (document
// index and byte offset, and the triple when one is at fault) and the
// problem in words; counts of kept documents are right. Both cleaning
// paths (one worker, and the documents of one input on several) are run.
func TestBadRecordMessages(t *testing.T) {
	tri := func(sid, subj string) string {
		return `{"sentence_id":` + sid + `,"subject":{"uri":` + subj + `,"boundaries":[0,5]},"object":{"uri":"http://x/Q3","boundaries":[15,21]},"predicate":{"uri":"http://x/P551"}}`
	}
	doc := func(docid string, triples ...string) string {
		return `{` + docid + `"text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[` + strings.Join(triples, ",") + `]}`
	}
	good := doc(`"docid":"D",`, tri("0", `"u/Q2"`))
	off2 := int64(1 + len(good) + 2) // byte offset of the second document in "[good, X"
	for _, tc := range []struct {
		name, in string
		strict   bool
		want     []string // substrings of the warnings (or the --strict error)
		not      []string
	}{
		{"empty file", ``, false, []string{"f.json: byte offset 0: empty input", "(no document before it)"}, []string{"-1"}},
		{"not an array", `{"a": 1}`, false, []string{`expected '['`, "(no document before it)"}, []string{"-1"}},
		{"trailing garbage", "[" + good + ", " + good + "] x", false, []string{"after the end of the JSON array (the 2 documents before it are kept)"}, nil},
		{"missing comma", "[" + good + " " + good + "]", false, []string{"expected ',' or ']' after element 0", "(the document before it is kept)"}, nil},
		{"truncated", "[" + good + ", " + good[:40], false, []string{"inside element 1", "(the document before it is kept)"}, nil},
		{"string document", "[" + good + `, "str"]`, false, []string{"f.json: document 1 at byte offset " + itoa(off2) + ": malformed_document: the document is a string, not an object (skipped)"}, []string{"Mismatch"}},
		{"number document", "[" + good + `, 12]`, false, []string{"document 1 at byte offset " + itoa(off2) + ": malformed_document: the document is a number, not an object (skipped)"}, nil},
		{"null document", "[" + good + `, null]`, false, []string{"document 1 at byte offset " + itoa(off2) + ": malformed_document: the document is null, not an object"}, []string{`"text"`}},
		{"wrong type", "[" + good + `, {"text": 5}]`, false, []string{`document 1 at byte offset ` + itoa(off2) + `: malformed_document: key "text" is a number, not a string`}, []string{"Mismatch"}},
		{"too large", "[" + good + `, {"pad":"` + strings.Repeat("x", 2<<20) + `"}]`, false, []string{"f.json: document 1 at byte offset " + itoa(off2) + ": document_too_large: ", "larger than the limit of 1048576 bytes (--max-doc-mb) (skipped)"}, nil},
		{"too large, strict", "[" + good + `, {"pad":"` + strings.Repeat("x", 2<<20) + `"}]`, true, []string{"f.json: document 1 at byte offset " + itoa(off2) + ": document_too_large: ", "larger than the limit of 1048576 bytes (--max-doc-mb)"}, []string{"skipped"}},
		{"bad sentence id, strict", "[" + good + ", " + doc(`"docid":"D",`, tri("0", `"u/Q2"`), tri("9", `"u/Q2"`)) + "]", true,
			[]string{`f.json: document 1 at byte offset ` + itoa(off2) + `, triple 1: bad_sentence_id: "sentence_id" 9 is past the last sentence (the document has 1)`}, nil},
		{"malformed triple, strict", "[" + doc(`"docid":"D",`, tri("0", `7`)) + "]", true,
			[]string{`f.json: document 0 at byte offset 1, triple 0: malformed_triple: "subject" has no string "uri"`}, nil},
		{"docid missing, strict", "[" + doc(``, tri("0", `"u/Q2"`)) + "]", true,
			[]string{`f.json: document 0 at byte offset 1, triple 0: malformed_document: key "docid" is missing or not a string`}, nil},
		{"docid missing, nothing kept, strict", "[" + doc(``, `{"sentence_id":0,"subject":{"uri":"a","boundaries":null},"object":{"uri":"b","boundaries":[0,1]},"predicate":{"uri":"c"}}`) + "]", true,
			nil, nil},
	} {
		for _, workers := range []int{1, 2} {
			t.Run(tc.name+"/workers="+itoa(int64(workers)), func(t *testing.T) {
				dir := copyTree(t, map[string][]byte{"f.json": []byte(tc.in)})
				var log bytes.Buffer
				o := DefaultOptions(t.TempDir())
				o.Strict, o.MaxDocumentBytes, o.Workers, o.Log = tc.strict, 1<<20, workers, &log
				_, err := Run(context.Background(), sources(t, filepath.Join(dir, "f.json")), &o)
				got := log.String()
				if tc.strict {
					var bre *BadRecordError
					if len(tc.want) == 0 {
						if err != nil {
							t.Fatalf("strict run failed: %v", err)
						}
						return
					}
					if !errors.As(err, &bre) {
						t.Fatalf("want a BadRecordError, got %v", err)
					}
					got = err.Error()
				} else if err != nil {
					t.Fatal(err)
				}
				for _, w := range tc.want {
					if !strings.Contains(got, w) {
						t.Errorf("message %q\nwant it to contain %q", got, w)
					}
				}
				for _, w := range tc.not {
					if strings.Contains(got, w) {
						t.Errorf("message %q\nshould not contain %q", got, w)
					}
				}
			})
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A lone surrogate escape is written to train.json as \ufffd and counted
// in the manifest (Python would write \ud800 back; see docs/trex.md).
func TestLoneSurrogateCounted(t *testing.T) {
	d := strings.Replace(goodDoc, `"text":"Zaïdi`, `"text":"Za\ud800di`, 1)
	dir := copyTree(t, map[string][]byte{"s.json": []byte("[" + d + "," + goodDoc + "]")})
	sum, out := run(t, sources(t, dir), func(o *Options) { o.Format, o.MinPerRelation, o.DevFraction = "json", 1, 0 })
	if sum.Counts.Cleaning.LoneSurrogates != 1 || sum.Counts.Cleaning.Examples != 2 {
		t.Fatalf("counts %+v", sum.Counts.Cleaning)
	}
	b, err := os.ReadFile(filepath.Join(out, "train.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Za\ufffddi"`) {
		t.Fatalf("train.json: %s", b)
	}
	if m := mustManifest(t, out); m.Counts.Cleaning.LoneSurrogates != 1 {
		t.Fatalf("manifest counts %+v", m.Counts.Cleaning)
	}
}
