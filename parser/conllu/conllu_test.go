package conllu

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// L joins fields with tabs into one CoNLL-U line.
func L(fields ...string) string { return strings.Join(fields, "\t") + "\n" }

func word(id, form, head, rel string) string {
	return L(id, form, "_", "X", "_", "_", head, rel, "_", "_")
}

const good = "# sent_id = s1\n# text = I don't know\n" +
	"1\tI\tI\tPRON\tPRP\tCase=Nom\t3\tnsubj\t3:nsubj\t_\n" +
	"2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" +
	"2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_\n" +
	"3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_\n" +
	"3.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\t_\n" +
	"4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\tSpaceAfter=No\n" +
	"\n"

func TestReadGood(t *testing.T) {
	// A sentence with a multiword token (2-3 = do + n't), an empty node
	// (3.1) and SpaceAfter=No: check the parsed fields, then that writing it
	// back gives the input byte for byte (which covers the other fields).
	r := NewReader(strings.NewReader(good))
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if s.SentID() != "s1" || s.Text() != "I don't know" {
		t.Errorf("meta: %q %q", s.SentID(), s.Text())
	}
	if len(s.Words) != 4 || s.Words[0].Form != "I" || s.Words[0].Head != 3 || s.Words[3].Deprel != "root" {
		t.Errorf("words: %+v", s.Words)
	}
	if !reflect.DeepEqual(s.Tokens, []MultiwordToken{{First: 2, Last: 3, Form: "don't", Misc: "_"}}) {
		t.Errorf("tokens: %+v", s.Tokens)
	}
	if len(s.Empty) != 1 || s.Empty[0].Major != 3 || s.Empty[0].Minor != 1 || s.Empty[0].Deps != "0:root" {
		t.Errorf("empty: %+v", s.Empty)
	}
	if SpaceAfter(s.Words[3].Misc) || !SpaceAfter(s.Words[0].Misc) {
		t.Error("SpaceAfter")
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("want EOF, got %v", err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != good {
		t.Errorf("round trip:\n%s\nwant\n%s", buf.String(), good)
	}
}

func TestLenient(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
	}{
		{"no final blank line", word("1", "a", "0", "root"), 1},
		{"crlf", "# x\r\n1\ta\t_\tX\t_\t_\t0\troot\t_\t_\r\n\r\n", 1},
		{"extra blank lines", "\n\n" + word("1", "a", "0", "root") + "\n\n\n" + word("1", "b", "0", "root") + "\n\n", 2},
		{"unparsed heads", word("1", "a", "_", "_") + word("2", "b", "_", "_"), 1},
		{"empty node before first word", L("0.1", "x", "_", "_", "_", "_", "_", "_", "1:dep", "_") + word("1", "a", "0", "root"), 1},
		{"space in form", word("1", "1 000", "0", "root"), 1},
		{"empty input", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadAll(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("got %d sentences, want %d", len(got), tc.n)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	ok := word("1", "a", "0", "root")
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"nine fields", "1\ta\t_\tX\t_\t_\t0\troot\t_\n", 1, "9 tab-separated fields"},
		{"eleven fields", strings.TrimSuffix(ok, "\n") + "\t_\n", 1, "11 tab-separated fields"},
		{"empty field", "1\t\t_\tX\t_\t_\t0\troot\t_\t_\n", 1, "empty FORM"},
		{"bad id", word("x", "a", "0", "root"), 1, "bad word ID"},
		{"zero id", word("0", "a", "0", "root"), 1, "bad word ID"},
		{"leading zero", word("01", "a", "0", "root"), 1, "bad word ID"},
		{"signed id", word("+1", "a", "0", "root"), 1, "bad word ID"},
		{"id gap", ok + word("3", "b", "1", "dep"), 2, "out of sequence, want 2"},
		{"bad head", word("1", "a", "x", "root"), 1, "bad HEAD"},
		{"negative head", word("1", "a", "-1", "root"), 1, "bad HEAD"},
		{"self head", word("1", "a", "1", "root"), 1, "itself as HEAD"},
		{"head past end", ok + word("2", "b", "5", "dep") + "\n", 2, "HEAD 5 is not a word"},
		{"space in deprel", word("1", "a", "0", "ro ot"), 1, "contains a space"},
		{"range reversed", L("2-1", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + ok, 1, "multiword token range 2-1 must come just before word 2"},
		{"range empty", L("1-1", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + ok, 1, "empty or reversed"},
		{"range not before word", ok + L("1-2", "ab", "_", "_", "_", "_", "_", "_", "_", "_"), 2, "must come just before word 1"},
		{"range past end", L("1-3", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + ok + word("2", "b", "1", "dep") + "\n", 1, "runs past the last word 2"},
		{"range with lemma", L("1-2", "ab", "x", "_", "_", "_", "_", "_", "_", "_") + ok, 1, "only FORM and MISC"},
		{"range then empty node", L("1-2", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + L("0.1", "x", "_", "_", "_", "_", "_", "_", "_", "_"), 2, "not followed by its first word"},
		{"range at end", ok + L("2-3", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + "\n", 2, "not followed by its first word"},
		{"overlapping ranges", L("1-3", "abc", "_", "_", "_", "_", "_", "_", "_", "_") + ok + L("2-3", "bc", "_", "_", "_", "_", "_", "_", "_", "_"), 3, "overlaps range 1-3"},
		{"empty node seq", ok + L("1.2", "x", "_", "_", "_", "_", "_", "_", "_", "_"), 2, "out of sequence, want 1.1"},
		{"empty node wrong place", ok + L("2.1", "x", "_", "_", "_", "_", "_", "_", "_", "_"), 2, "must follow word 2 directly"},
		{"empty node with head", ok + L("1.1", "x", "_", "_", "_", "_", "1", "dep", "_", "_"), 2, "HEAD and DEPREL"},
		{"empty node minor 0", ok + L("1.0", "x", "_", "_", "_", "_", "_", "_", "_", "_"), 2, "bad empty node ID"},
		{"comment after words", ok + "# late\n", 2, "comment after the first word line"},
		{"comments only", "# a\n# b\n\n", 1, "comment lines not followed by any word line"},
		{"invalid utf8", "1\t\xff\t_\tX\t_\t_\t0\troot\t_\t_\n", 1, "invalid UTF-8"},
		{"inner carriage return", "1\ta\r\t_\tX\t_\t_\t0\troot\t_\t_\n", 1, "carriage return"},
		{"whitespace line", " \n", 1, "1 tab-separated fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadAll(strings.NewReader(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Fatalf("got line %d %q, want line %d containing %q", pe.Line, pe.Msg, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "conllu: line ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestRecoverAfterError(t *testing.T) {
	in := word("1", "a", "0", "root") + "\n" +
		word("1", "b", "0", "root") + word("5", "c", "1", "dep") + word("3", "d", "1", "dep") + "\n" +
		word("1", "e", "0", "root") + "\n"
	r := NewReader(strings.NewReader(in))
	var forms []string
	var errs []int
	for {
		s, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			errs = append(errs, pe.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		forms = append(forms, s.Words[0].Form)
	}
	if !reflect.DeepEqual(forms, []string{"a", "e"}) || !reflect.DeepEqual(errs, []int{4}) {
		t.Fatalf("forms %v errs %v", forms, errs)
	}
}

func TestWriterRefusesInvalid(t *testing.T) {
	for _, s := range []*Sentence{
		{},
		{Words: []Word{{ID: 2, Form: "a", Lemma: "_", UPOS: "X", XPOS: "_", Feats: "_", Head: 0, Deprel: "root", Deps: "_", Misc: "_"}}},
		{Words: []Word{{ID: 1, Form: "", Lemma: "_", UPOS: "X", XPOS: "_", Feats: "_", Head: 0, Deprel: "root", Deps: "_", Misc: "_"}}},
		{Words: []Word{{ID: 1, Form: "a", Lemma: "_", UPOS: "X", XPOS: "_", Feats: "_", Head: 3, Deprel: "root", Deps: "_", Misc: "_"}}},
		{Comments: []string{"no hash"}, Words: []Word{{ID: 1, Form: "a", Lemma: "_", UPOS: "X", XPOS: "_", Feats: "_", Head: 0, Deprel: "root", Deps: "_", Misc: "_"}}},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Write(s); err == nil {
			t.Errorf("Write accepted %+v", s)
		}
		w.Flush()
		if buf.Len() != 0 {
			t.Errorf("wrote %q", buf.String())
		}
	}
}

func TestMeta(t *testing.T) {
	s := &Sentence{Comments: []string{"# newdoc", "#text=a b ", "# sent_id = x = y"}}
	if v, ok := s.Meta("newdoc"); !ok || v != "" {
		t.Errorf("newdoc %q %v", v, ok)
	}
	if s.Text() != "a b" || s.SentID() != "x = y" {
		t.Errorf("%q %q", s.Text(), s.SentID())
	}
	s.SetMeta("text", "c")
	s.SetMeta("new", "1")
	if s.Comments[1] != "# text = c" || s.Comments[3] != "# new = 1" {
		t.Errorf("%q", s.Comments)
	}
}

// TestTreebankRoundTrip reads the UD English EWT files and writes them back
// byte for byte.
func TestTreebankRoundTrip(t *testing.T) {
	for _, name := range []string{"en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu", "en_ewt-ud-train.conllu"} {
		path := testshared.Path(t, "data", "ud", name)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sents, err := ReadAll(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		mw, en := 0, 0
		for _, s := range sents {
			mw += len(s.Tokens)
			en += len(s.Empty)
			if err := w.Write(s); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		if !bytes.Equal(buf.Bytes(), raw) {
			t.Errorf("%s: round trip differs", name)
		}
		t.Logf("%s: %d sentences, %d multiword tokens, %d empty nodes", name, len(sents), mw, en)
		if name == "en_ewt-ud-dev.conllu" && len(sents) != 2001 {
			t.Errorf("dev has %d sentences, want 2001", len(sents))
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(good)
	f.Add(word("1", "a", "0", "root") + "\n" + word("1", "b", "_", "_"))
	f.Add("# c\n" + L("0.1", "x", "_", "_", "_", "_", "_", "_", "_", "_") + L("1-2", "ab", "_", "_", "_", "_", "_", "_", "_", "_") + word("1", "a", "0", "root") + word("2", "b", "1", "dep"))
	f.Add("1\ta\r\n\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		for i := 0; i < 1000; i++ {
			s, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var pe *ParseError
			if err != nil {
				if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > r.Line() {
					t.Fatalf("bad error %v (line %d read)", err, r.Line())
				}
				continue
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("reader returned an invalid sentence: %v", err)
			}
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.Write(s); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			again, err := ReadAll(&buf)
			if err != nil || len(again) != 1 {
				t.Fatalf("re-read: %v (%d sentences) of %q", err, len(again), buf.String())
			}
			if !reflect.DeepEqual(normalize(again[0]), normalize(s)) {
				t.Fatalf("round trip differs:\n%+v\n%+v", again[0], s)
			}
		}
	})
}

func normalize(s *Sentence) *Sentence {
	c := s.Clone()
	if len(c.Comments) == 0 {
		c.Comments = nil
	}
	if len(c.Tokens) == 0 {
		c.Tokens = nil
	}
	if len(c.Empty) == 0 {
		c.Empty = nil
	}
	return c
}
