package segment

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

func readGoldFile(t *testing.T, name string) []GoldDoc {
	t.Helper()
	p := filepath.Join(testshared.Path(t, "data", "ud"), name)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := ReadGold(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return docs
}

// TestEWTTestScores is the acceptance test: token F1 >= 98 on the raw text
// of EWT test; sentence and word F1 are reported.
func TestEWTTestScores(t *testing.T) {
	for _, name := range []string{"en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"} {
		docs := readGoldFile(t, name)
		rep := Evaluate(docs, New(Options{}))
		t.Logf("%s: %d docs; tokens P/R/F1 %.2f/%.2f/%.2f; words F1 %.2f; sentences P/R/F1 %.2f/%.2f/%.2f",
			name, rep.Documents, rep.Tokens.Precision, rep.Tokens.Recall, rep.Tokens.F1, rep.Words.F1,
			rep.Sentences.Precision, rep.Sentences.Recall, rep.Sentences.F1)
		if name == "en_ewt-ud-test.conllu" && rep.Tokens.F1 < 98 {
			t.Errorf("token F1 %.2f < 98", rep.Tokens.F1)
		}
		if d := os.Getenv("KADAPTER_SEGMENT_DUMP"); d != "" {
			dumpErrors(t, filepath.Join(d, name+".errors"), docs)
		}
	}
}

// dumpErrors writes token and sentence disagreements for tuning.
func dumpErrors(t *testing.T, path string, docs []GoldDoc) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seg := New(Options{})
	for _, d := range docs {
		sents := seg.Segment(d.Text)
		sys := map[Span]bool{}
		sysS := map[Span]bool{}
		for _, s := range sents {
			sysS[Span{s.Start, s.End}] = true
			for _, tk := range s.Tokens {
				sys[Span{tk.Start, tk.End}] = true
			}
		}
		gold := map[Span]bool{}
		for _, g := range d.Tokens {
			gold[g] = true
		}
		ctx := func(sp Span) string {
			a, b := max(0, sp.Start-25), min(len(d.Text), sp.End+25)
			return fmt.Sprintf("%q [%q] %q", d.Text[a:sp.Start], d.Text[sp.Start:sp.End], d.Text[sp.End:b])
		}
		for _, g := range d.Tokens {
			if !sys[g] {
				fmt.Fprintf(f, "TOK-MISS %s\n", ctx(g))
			}
		}
		for sp := range sys {
			if !gold[sp] {
				fmt.Fprintf(f, "TOK-EXTRA %s\n", ctx(sp))
			}
		}
		goldS := map[Span]bool{}
		for _, g := range d.Sentences {
			goldS[g] = true
			if !sysS[g] {
				fmt.Fprintf(f, "SENT-MISS %q\n", d.Text[g.Start:g.End])
			}
		}
		for sp := range sysS {
			if !goldS[sp] {
				fmt.Fprintf(f, "SENT-EXTRA %q\n", d.Text[sp.Start:sp.End])
			}
		}
	}
}
