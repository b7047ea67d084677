package lindeps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/parser/conllu"
)

type refWord map[string]struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Token string `json:"token"`
}

// refRecord is a find_head JSON record (the original layout).
type refRecord struct {
	ID     string    `json:"id"`
	Sent   string    `json:"sent"`
	Tokens []refWord `json:"tokens"`
	Pairs  []struct {
		Dependent int `json:"dependent_index"`
		Governor  int `json:"governor_index"`
	} `json:"pairs"`
}

type refCase struct {
	Input     refRecord `json:"input"`
	Status    string    `json:"status"`
	InputIDs  []int64   `json:"input_ids"`
	InputMask []int64   `json:"input_mask"`
	LabelID   []int64   `json:"label_id"`
}

func loadReference(t *testing.T) ([]refCase, int) {
	t.Helper()
	p := filepath.Join(testshared.Path(t, "fixtures", "kadapter-tiny", "preprocessing"), "preprocessing_reference.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		FindHead struct {
			Cases        []refCase `json:"cases"`
			MaxSeqLength int       `json:"max_seq_length"`
		} `json:"find_head"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.FindHead.Cases) == 0 || ref.FindHead.MaxSeqLength == 0 {
		t.Fatalf("%s: no find_head cases or max_seq_length", p)
	}
	return ref.FindHead.Cases, ref.FindHead.MaxSeqLength
}

// conlluOf writes a fixture case as a parsed CoNLL-U sentence: words from
// its tokens, heads from its pairs ("_" for a word without a pair).
func conlluOf(c refCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sent_id = %s\n# text = %s\n", c.Input.ID, c.Input.Sent)
	gov := map[int]int{}
	for _, p := range c.Input.Pairs {
		gov[p.Dependent] = p.Governor
	}
	for i, tw := range c.Input.Tokens {
		w := tw[fmt.Sprint(i+1)]
		head, rel := "_", "_"
		if g, ok := gov[i+1]; ok {
			head, rel = fmt.Sprint(g), "dep"
			if g == 0 {
				rel = "root"
			}
		}
		fmt.Fprintf(&b, "%d\t%s\t_\t_\t_\t_\t%s\t%s\t_\t_\n", i+1, w.Token, head, rel)
	}
	b.WriteString("\n")
	return b.String()
}

// TestFindHeadMatchesOriginal: CoNLL-U input -> sentences -> find_head
// features equal the original converter's outputs (ids, mask, labels, drops).
func TestFindHeadMatchesOriginal(t *testing.T) {
	cases, maxLen := loadReference(t)
	tok, err := features.LoadTokenizer(testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(tok, Options{MaxSeqLength: maxLen})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, c := range cases {
		all.WriteString(conlluOf(c))
	}
	rd := NewReader(strings.NewReader(all.String()), "ref.conllu", FormatCoNLLU, nil)
	for i, c := range cases {
		s, err := rd.Next()
		if err != nil {
			t.Fatalf("case %s: %v", c.Input.ID, err)
		}
		if s.Text != c.Input.Sent {
			t.Errorf("case %s: sent %q, want %q", c.Input.ID, s.Text, c.Input.Sent)
		}
		row := b.Build(i, s)
		switch c.Status {
		case "ok":
			if row.Drop != "" {
				t.Errorf("case %s: dropped (%s), original kept it", c.Input.ID, row.DropDetail)
				continue
			}
			if !reflect.DeepEqual(row.Example.InputIDs, c.InputIDs) || !reflect.DeepEqual(row.Example.AttentionMask, c.InputMask) ||
				!reflect.DeepEqual(row.Example.Labels, c.LabelID) {
				t.Errorf("case %s:\n ids %v\nwant %v\n labels %v\nwant %v", c.Input.ID, row.Example.InputIDs, c.InputIDs, row.Example.Labels, c.LabelID)
			}
		case "dropped":
			if row.Drop == "" {
				t.Errorf("case %s: kept, original dropped it", c.Input.ID)
			}
		default:
			t.Fatalf("case %s: unexpected status %q", c.Input.ID, c.Status)
		}
		// The JSON record has the original layout and the fixture's values.
		var got refRecord
		if err := json.Unmarshal(s.AppendJSON(nil), &got); err != nil {
			t.Fatalf("case %s: JSON: %v", c.Input.ID, err)
		}
		if got.Sent != c.Input.Sent || !reflect.DeepEqual(got.Tokens, c.Input.Tokens) || !reflect.DeepEqual(got.Pairs, c.Input.Pairs) {
			t.Errorf("case %s: JSON record differs:\n got %+v\nwant %+v", c.Input.ID, got, c.Input)
		}
		// And the features helper's JSON decoder reads it back to the same features.
		rec, err := features.DecodeFindHead(s.AppendJSON(nil))
		if err != nil {
			t.Fatalf("case %s: DecodeFindHead: %v", c.Input.ID, err)
		}
		want := s.FindHeadRecord()
		if !reflect.DeepEqual(rec.Words, want.Words) || !reflect.DeepEqual(rec.Pairs, want.Pairs) || rec.Sent != want.Sent {
			t.Errorf("case %s: decoded record differs", c.Input.ID)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("extra sentence or error at end: %v", err)
	}
}

func TestCorrectedMapping(t *testing.T) {
	cases, maxLen := loadReference(t)
	tok, err := features.LoadTokenizer(testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(tok, Options{MaxSeqLength: maxLen, Mapping: features.HeadMappingFirstSubToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Input.ID != "multi_subword" && c.Input.ID != "last_word_is_governor" {
			continue
		}
		s, err := NewReader(strings.NewReader(conlluOf(c)), "x", FormatCoNLLU, nil).Next()
		if err != nil {
			t.Fatal(err)
		}
		row := b.Build(0, s)
		if row.Drop != "" {
			t.Fatalf("%s: corrected mapping dropped: %s", c.Input.ID, row.DropDetail)
		}
		if c.Input.ID == "multi_subword" {
			// She(1) visited(2) B..t(3-10) yesterday(11) .(12): labels at first
			// sub-tokens, values = governor's first sub-token (root = 0).
			l := row.Example.Labels
			if l[1] != 2 || l[2] != 0 || l[3] != 2 || l[11] != 2 || l[12] != 2 || l[4] != features.IgnoreLabel {
				t.Errorf("multi_subword corrected labels %v", l[:14])
			}
		}
	}
}

func TestReaders(t *testing.T) {
	// BookCorpus lines.
	rd := NewReader(strings.NewReader("he said , `` do n't . ''\n\n  two   spaces \n"), "bc.txt", FormatLines, nil)
	s, err := rd.Next()
	if err != nil || s.Text != "he said , `` do n't . ''" || len(s.Words) != 8 || s.ID != "bc.txt#0" {
		t.Fatalf("lines: %+v %v", s, err)
	}
	s, _ = rd.Next()
	if s.Text != "two spaces" || s.Words[1].Start != 4 {
		t.Errorf("lines 2: %+v", s)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("want EOF, got %v", err)
	}
	// Raw hard-wrapped text.
	text := "“I don’t know,” said\nMr. Darcy. It was\nlate.\n\nNew paragraph"
	rd = NewReader(strings.NewReader(text), "book.txt", FormatText, nil)
	var got []string
	for {
		s, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Text+" |"+strings.Join(s.Forms(), " "))
		checkOffsets(t, s)
	}
	want := []string{
		"“I don’t know,” said Mr. Darcy. |“ I do n’t know , ” said Mr. Darcy .",
		"It was late. |It was late .",
		"New paragraph |New paragraph",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("text:\n got %q\nwant %q", got, want)
	}
	// CoNLL-U without # text, with a multiword token and SpaceAfter=No.
	in := "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No\n1\tdo\t_\tAUX\t_\t_\t0\troot\t_\t_\n2\tn't\t_\tPART\t_\t_\t1\tadvmod\t_\t_\n3\t!\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_\n\n" +
		"# text = I don't!\n1\tI\t_\tPRON\t_\t_\t2\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No\n2\tdo\t_\tAUX\t_\t_\t0\troot\t_\t_\n3\tn't\t_\tPART\t_\t_\t2\tadvmod\t_\t_\n4\t!\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n" +
		"1\tbad\n\n"
	rd = NewReader(strings.NewReader(in), "x.conllu", FormatCoNLLU, nil)
	s, err = rd.Next()
	if err != nil || s.Text != "do n't!" || s.Words[1].Start != 3 || s.Words[0].UPOS != "AUX" || s.Words[1].Head != 1 {
		t.Errorf("conllu 1: %+v %v", s, err)
	}
	s, err = rd.Next()
	if err != nil || s.Text != "I don't!" || s.Words[1].Start != 2 || s.Words[1].End != 4 || s.Words[2].End != 7 {
		t.Errorf("conllu 2: %+v %v", s, err)
	}
	_, err = rd.Next()
	var ie *InputError
	if !errorsAs(err, &ie) || ie.Reason != "bad_conllu" || ie.Line != 13 {
		t.Errorf("want a bad_conllu InputError at line 13, got %v", err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("want EOF after the bad sentence, got %v", err)
	}
}

func errorsAs(err error, target **InputError) bool {
	e, ok := err.(*InputError)
	if ok {
		*target = e
	}
	return ok
}

func checkOffsets(t *testing.T, s *Sentence) {
	t.Helper()
	rs := []rune(s.Text)
	prev := 0
	for _, w := range s.Words {
		if w.Start < prev || w.End <= w.Start || w.End > len(rs) {
			t.Fatalf("bad offsets %+v in %q", w, s.Text)
		}
		prev = w.End
	}
	if strings.ContainsAny(s.Text, "\n\r") {
		t.Fatalf("multi-line sent %q", s.Text)
	}
}

func TestJSONEscaping(t *testing.T) {
	s := &Sentence{ID: "a\"b", Text: "x\u2028\t\"\\ \x01é", Words: []Word{{Form: "x", Start: 0, End: 1, Head: 0}}}
	var v map[string]any
	if err := json.Unmarshal(s.AppendJSON(nil), &v); err != nil {
		t.Fatal(err)
	}
	if v["sent"] != s.Text || v["id"] != s.ID {
		t.Errorf("round trip: %v", v)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("Hello world. Mr. Smith's here\nwrapped.\n\nPara two", uint8(0))
	f.Add("do n't . ''\n\n x", uint8(1))
	f.Add("# text = I don't\n1\tI\t_\t_\t_\t_\t2\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\t_\t_\t_\t_\t0\troot\t_\t_\n3\tn't\t_\t_\t_\t_\t2\tadvmod\t_\t_\n\n", uint8(2))
	f.Fuzz(func(t *testing.T, in string, fm uint8) {
		format := Format(fm % 3)
		rd := NewReader(strings.NewReader(in), "fuzz", format, nil)
		for i := 0; i < 10000; i++ {
			s, err := rd.Next()
			if err == io.EOF {
				return
			}
			if _, ok := err.(*InputError); ok {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != FormatCoNLLU || utf8.ValidString(s.Text) {
				checkOffsets(t, s)
			}
			var v map[string]any
			if err := json.Unmarshal(s.AppendJSON(nil), &v); err != nil {
				t.Fatalf("invalid JSON for %+v: %v", s, err)
			}
		}
		t.Fatal("reader did not end")
	})
}

type fakeParser struct{ got []string }

func (f *fakeParser) Parse(words []string) ([]string, []int, []string) {
	f.got = words
	n := len(words)
	upos, heads, rels := make([]string, n), make([]int, n), make([]string, n)
	for i := range words {
		upos[i], heads[i], rels[i] = "X", i, "dep"
	}
	return upos, heads, rels
}

func TestParseUsesParserForms(t *testing.T) {
	s := FromLine("he said `` hi -lrb- x -rrb- '' .")
	var p fakeParser
	s.Parse(&p)
	if strings.Join(p.got, " ") != `he said " hi ( x ) " .` {
		t.Errorf("parser saw %q", p.got)
	}
	if s.Words[2].Form != "``" || s.Words[1].Head != 1 || s.Words[0].Head != 0 || s.Words[3].Deprel != "dep" {
		t.Errorf("words %+v", s.Words)
	}
}

// chainParser attaches every word to the one before it (the first to the
// root).
type chainParser struct{}

func (chainParser) Parse(words []string) ([]string, []int, []string) {
	upos, heads, rels := make([]string, len(words)), make([]int, len(words)), make([]string, len(words))
	for i := range words {
		upos[i], heads[i], rels[i] = "X", i, "dep"
	}
	rels[0] = "root"
	return upos, heads, rels
}

// TestParseStream: each format gives parsed CoNLL-U sentences in order;
// a bad record goes to Bad with its reason and the stream goes on when Bad
// returns nil, and stops with Bad's error (or at once when Bad is nil).
func TestParseStream(t *testing.T) {
	good := "# text = a b\n1\ta\t_\t_\t_\t_\t_\t_\t_\t_\n2\tb\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
	bad := "1\tx\n\n"
	for _, tc := range []struct {
		name, in string
		format   Format
		sents    int
		reasons  []string
	}{
		{"conllu", bad + good + bad + good, FormatCoNLLU, 2, []string{"bad_conllu", "bad_conllu"}},
		{"lines", "a b c\nbad \xff\nd e\n", FormatLines, 2, []string{"bad_utf8"}},
		{"text", "I came. I saw.\n\nThen I left.", FormatText, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*conllu.Sentence
			var reasons []string
			n, err := ParseStream(context.Background(), strings.NewReader(tc.in), "in", chainParser{},
				ParseOptions{Format: tc.format, Bad: func(r string, err error) error {
					if !strings.Contains(err.Error(), "in: ") {
						t.Errorf("bad record error %q does not name the input", err)
					}
					reasons = append(reasons, r)
					return nil
				}}, func(s *conllu.Sentence) error { got = append(got, s); return nil })
			if err != nil || n != tc.sents || len(got) != n || !reflect.DeepEqual(reasons, tc.reasons) {
				t.Fatalf("%d sentences (%d emitted), bad %v, err %v; want %d, %v", n, len(got), reasons, err, tc.sents, tc.reasons)
			}
			for _, s := range got {
				if err := s.Validate(); err != nil || s.Words[0].Head != 0 || (tc.format != FormatCoNLLU && s.SentID() == "") {
					t.Errorf("sentence %+v: %v", s, err)
				}
			}
			if tc.reasons != nil {
				if _, err := ParseStream(context.Background(), strings.NewReader(tc.in), "in", chainParser{}, ParseOptions{Format: tc.format},
					func(*conllu.Sentence) error { return nil }); err == nil {
					t.Error("Bad == nil: the bad record did not stop the stream")
				}
			}
		})
	}
}
