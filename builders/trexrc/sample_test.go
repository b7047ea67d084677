package trexrc_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sampleNames are the names each entity of the hand-written T-REx sample
// (testdata/trex, made by make_testdata.py) may be spelled with in its
// text: a triple's subject or object must cover exactly one of them.
var sampleNames = map[string][]string{
	"Q3343462": {"Nora Zaïdi"},          // Nora Zaïdi
	"Q3361":    {"Bethoncourt"},         // Bethoncourt
	"Q3340":    {"Doubs"},               // Doubs (department)
	"Q142":     {"French"},              // France (citizenship, as T-REx aligns demonyms)
	"Q82955":   {"politician"},          // politician
	"Q27169":   {"European Parliament"}, // European Parliament
	"Q174":     {"São Paulo"},           // São Paulo (city)
	"Q175":     {"São Paulo"},           // São Paulo (state)
	"Q155":     {"Brazil"},              // Brazil
	"Q515":     {"city"},                // city
	"Q31487":   {"Kraków"},              // Kraków
	"Q36":      {"Poland"},              // Poland
	"Q548":     {"Vistula"},             // Vistula
	"Q1490":    {"東京", "Tokyo", "Its"},  // Tokyo (and the pronoun of its population sentence)
	"Q17":      {"日本"},                  // Japan
	"Q0":       {"14 million"},          // the population figure (a quantity, not an item)
	"Q649":     {"Москва", "Moscow"},    // Moscow
	"Q159":     {"Russia"},              // Russia
}

type sampleEntity struct {
	Boundaries  []int   `json:"boundaries"`
	Surfaceform *string `json:"surfaceform"`
	URI         string  `json:"uri"`
}

type sampleDoc struct {
	DocID     string   `json:"docid"`
	Text      string   `json:"text"`
	Words     [][2]int `json:"words_boundaries"`
	Sentences [][2]int `json:"sentences_boundaries"`
	Triples   []struct {
		SentenceID int          `json:"sentence_id"`
		Predicate  sampleEntity `json:"predicate"`
		Subject    sampleEntity `json:"subject"`
		Object     sampleEntity `json:"object"`
		Annotator  string       `json:"annotator"`
	} `json:"triples"`
	Entities []sampleEntity `json:"entities"`
}

func readSample(t *testing.T, path string) []sampleDoc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var docs []sampleDoc
	if err := json.NewDecoder(r).Decode(&docs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return docs
}

// TestSampleFacts checks every triple of the hand-written T-REx sample
// against its words: the subject's and object's code-point boundaries lie
// in the triple's sentence and on word edges, the surface form is the text
// they cover, and that text names the entity (sampleNames), so the sample
// states true facts. The sample's deliberate defects (one null subject,
// one subject cut one code point short) must be exactly those.
func TestSampleFacts(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "trex", "*.json*"))
	if err != nil || len(paths) != 2 {
		t.Fatalf("testdata/trex: %v %v, want the two sample files", paths, err)
	}
	var triples, nulls, misaligned int
	for _, path := range paths {
		for _, d := range readSample(t, path) {
			text := []rune(d.Text)
			starts, ends := map[int]bool{}, map[int]bool{}
			for _, w := range d.Words {
				starts[w[0]], ends[w[1]] = true, true
			}
			for ti, tr := range d.Triples {
				triples++
				where := func() string {
					return filepath.Base(path) + ": " + d.DocID + " triple " + strings.TrimPrefix(tr.Predicate.URI, "http://www.wikidata.org/prop/direct/")
				}
				if tr.SentenceID < 0 || tr.SentenceID >= len(d.Sentences) {
					t.Errorf("%s (%d): sentence_id %d out of range", where(), ti, tr.SentenceID)
					continue
				}
				sent := d.Sentences[tr.SentenceID]
				for role, e := range map[string]sampleEntity{"subject": tr.Subject, "object": tr.Object} {
					if e.Boundaries == nil {
						if role != "subject" || tr.Annotator != "NoSubject-Triple-aligner" {
							t.Errorf("%s: %s without boundaries", where(), role)
						}
						nulls++
						continue
					}
					b0, b1 := e.Boundaries[0], e.Boundaries[1]
					if b0 < sent[0] || b1 > sent[1] || b0 >= b1 {
						t.Errorf("%s: %s boundaries [%d, %d] outside sentence %d [%d, %d]", where(), role, b0, b1, tr.SentenceID, sent[0], sent[1])
						continue
					}
					got := string(text[b0:b1])
					if e.Surfaceform == nil || *e.Surfaceform != got {
						t.Errorf("%s: %s surfaceform %v, but its boundaries cover %q", where(), role, e.Surfaceform, got)
					}
					if !starts[b0] || !ends[b1] {
						// The one deliberate defect: a subject cut one code
						// point short of its word's end.
						if role == "subject" && starts[b0] && ends[b1+1] {
							misaligned++
							continue
						}
						t.Errorf("%s: %s boundaries [%d, %d] (%q) are not on word edges", where(), role, b0, b1, got)
						continue
					}
					qid := strings.TrimPrefix(e.URI, "http://www.wikidata.org/entity/")
					names, ok := sampleNames[qid]
					if !ok {
						t.Errorf("%s: %s %s is not a known entity of the sample", where(), role, qid)
					} else if !slices.Contains(names, got) {
						t.Errorf("%s: %s %s is %v, but its boundaries cover %q", where(), role, qid, names, got)
					}
				}
			}
		}
	}
	if triples != 16 || nulls != 1 || misaligned != 1 {
		t.Errorf("%d triples, %d null subjects, %d misaligned subjects; want 16, 1 and 1", triples, nulls, misaligned)
	}
}
