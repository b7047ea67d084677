package segment

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func tokenTexts(ts []Token) string {
	var b []string
	for _, t := range ts {
		b = append(b, t.Text)
	}
	return strings.Join(b, " ")
}

func wordTexts(s Sentence) string {
	var b []string
	for _, w := range s.Words() {
		b = append(b, w.Text)
	}
	return strings.Join(b, " ")
}

func TestTokenize(t *testing.T) {
	cases := []struct{ in, tokens string }{
		{"Hello, world!", "Hello , world !"},
		{"I don't know.", "I don't know ."},
		{"Mr. Smith went to Washington, D.C. yesterday.", "Mr. Smith went to Washington , D.C. yesterday ."},
		{"e.g. the U.S. and etc.", "e.g. the U.S. and etc."},
		{"It costs $5,000.50 (about 3.5%).", "It costs $ 5,000.50 ( about 3.5 % ) ."},
		{"Mail john.doe@example.com or see http://www.example.com/a?b=1.", "Mail john.doe@example.com or see http://www.example.com/a?b=1 ."},
		{"Nice :-) really :)", "Nice :-) really :)"},
		{"a search-engine and e-mail, non-commercial", "a search - engine and e-mail , non-commercial"},
		{"Call 713-853-3989 at 5:00 on 11/28/2000.", "Call 713-853-3989 at 5:00 on 11/28/2000 ."},
		{`He said "no" -- twice...`, `He said " no " -- twice ...`},
		{"Wait... what?!", "Wait ... what ?!"},
		{"and/or the 'quoted' word", "and / or the ' quoted ' word"},
		{"the soldiers' home", "the soldiers' home"},
		{"Inc.. Next", "Inc. . Next"},
		{"See No. 5. I said no.", "See No. 5 . I said no ."},
	}
	for _, c := range cases {
		if got := tokenTexts(Tokenize(c.in)); got != c.tokens {
			t.Errorf("Tokenize(%q)\n got %q\nwant %q", c.in, got, c.tokens)
		}
	}
}

func TestMultiwordTokens(t *testing.T) {
	cases := []struct{ in, words string }{
		{"I don't know.", "I do n't know ."},
		{"I'm sure it's Bush's dog.", "I 'm sure it 's Bush 's dog ."},
		{"You cannot go, you're gonna stay.", "You can not go , you 're gon na stay ."},
		{"We can't and won't.", "We ca n't and wo n't ."},
		{"It’s fine, don’t worry.", "It ’s fine , do n’t worry ."},
		{"i dont care, im here", "i do nt care , i m here"},
	}
	for _, c := range cases {
		sents := Segment(c.in)
		var got []string
		for _, s := range sents {
			got = append(got, wordTexts(s))
		}
		if g := strings.Join(got, " "); g != c.words {
			t.Errorf("words of %q\n got %q\nwant %q", c.in, g, c.words)
		}
	}
	// Word offsets partition the token.
	tok := Tokenize("don't")[0]
	if len(tok.Words) != 2 || tok.Words[0].End != 2 || tok.Words[1].Start != 2 || tok.Words[1].End != 5 {
		t.Errorf("don't words = %+v", tok.Words)
	}
	if got := New(Options{NoMultiword: true}).Segment("don't")[0].Words(); len(got) != 1 {
		t.Errorf("NoMultiword: %+v", got)
	}
}

func TestSentences(t *testing.T) {
	text := "It was a dark night. Mr. Holmes sat\nby the fire, reading\nthe Times. \"Watson!\" he cried. Was it\nthe U.S. Army? No.\n\nA new paragraph without a stop\n\nand another one... It ended."
	want := []string{
		"It was a dark night .",
		"Mr. Holmes sat by the fire , reading the Times .",
		`" Watson ! " he cried .`,
		"Was it the U.S. Army ?",
		"No .",
		"A new paragraph without a stop",
		"and another one ...",
		"It ended .",
	}
	sents := Segment(text)
	var got []string
	for _, s := range sents {
		got = append(got, tokenTexts(s.Tokens))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sentences\n got %q\nwant %q", got, want)
	}
	for _, s := range sents {
		if text[s.Start:s.End] == "" || s.Start != s.Tokens[0].Start || s.End != s.Tokens[len(s.Tokens)-1].End {
			t.Errorf("bad sentence span %+v", s)
		}
	}
	// Line mode: every line is a sentence.
	lines := New(Options{LineIsSentence: true}).Segment("first line\nsecond line")
	if len(lines) != 2 {
		t.Errorf("LineIsSentence: %d sentences", len(lines))
	}
}

func TestReadGoldErrors(t *testing.T) {
	cases := map[string]string{
		"missing text":     "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n",
		"bad columns":      "# text = a\n1\ta\n\n",
		"form not in text": "# text = a b\n1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n2\tc\t_\t_\t_\t_\t1\tdep\t_\t_\n\n",
		"bad id":           "# text = a\nx\ta\t_\t_\t_\t_\t0\troot\t_\t_\n\n",
	}
	for name, in := range cases {
		_, err := ReadGold(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%s: err = %v, want an error naming the line", name, err)
		}
	}
	docs, err := ReadGold(strings.NewReader("# newdoc id = d1\n# newpar\n# text = I don't.\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" +
		"1\tI\t_\t_\t_\t_\t0\troot\t_\t_\n1-2\tx\t_\t_\t_\t_\t_\t_\t_\t_\n"))
	if err == nil {
		t.Errorf("expected an error for a misplaced range, got %+v", docs)
	}
	docs, err = ReadGold(strings.NewReader("# newdoc id = d1\n# text = I don't.\n1\tI\t_\t_\t_\t_\t2\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" +
		"2\tdo\t_\t_\t_\t_\t0\troot\t_\t_\n3\tn't\t_\t_\t_\t_\t2\tadvmod\t_\tSpaceAfter=No\n4\t.\t_\t_\t_\t_\t2\tpunct\t_\t_\n\n# text = Yes.\n1\tYes\t_\t_\t_\t_\t0\troot\t_\tSpaceAfter=No\n2\t.\t_\t_\t_\t_\t1\tpunct\t_\t_\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	if d.ID != "d1" || d.Text != "I don't. Yes." || len(d.Tokens) != 5 || len(d.Words) != 6 || len(d.Sentences) != 2 {
		t.Fatalf("doc = %+v", d)
	}
	rep := Evaluate(docs, New(Options{}))
	if rep.Tokens.F1 != 100 || rep.Words.F1 != 100 || rep.Sentences.F1 != 100 {
		t.Errorf("report = %+v", rep)
	}
}

func checkInvariants(t *testing.T, text string, sents []Sentence) {
	t.Helper()
	prev := 0
	for _, s := range sents {
		if len(s.Tokens) == 0 {
			t.Fatalf("empty sentence in %q", text)
		}
		for _, tk := range s.Tokens {
			if tk.Start < prev || tk.End <= tk.Start || tk.End > len(text) {
				t.Fatalf("bad token span %+v in %q", tk, text)
			}
			if text[tk.Start:tk.End] != tk.Text {
				t.Fatalf("token text %q != %q", tk.Text, text[tk.Start:tk.End])
			}
			if strings.ContainsFunc(tk.Text, isSpace) {
				t.Fatalf("token with space %q", tk.Text)
			}
			at := tk.Start
			for _, w := range tk.Words {
				if w.Start != at || w.End <= w.Start || text[w.Start:w.End] != w.Text {
					t.Fatalf("words %+v do not partition token %q", tk.Words, tk.Text)
				}
				at = w.End
			}
			if at != tk.End {
				t.Fatalf("words %+v do not cover token %q", tk.Words, tk.Text)
			}
			prev = tk.End
		}
	}
	// Every non-space character is in some token.
	var n int
	for _, s := range sents {
		for _, tk := range s.Tokens {
			n += utf8.RuneCountInString(tk.Text)
		}
	}
	var want int
	for _, r := range text {
		if !isSpace(r) {
			want++
		}
	}
	if n != want {
		t.Fatalf("tokens cover %d non-space runes of %d in %q", n, want, text)
	}
}

func FuzzSegment(f *testing.F) {
	for _, s := range []string{"Hello, world!", "I don't know. Mr. Smith's e-mail: a@b.com :-)",
		"\"Quoted...\" she said.\n\nNew para", "$$$ --== '90s 'em rock 'n' roll", "U.S.A.. etc.!? …",
		"http://x.com/a-b_c?d=1). www.foo.org,", "1998-30 713-853-3989 -0.5 #1 #tag w/ f/2.7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			text = strings.ToValidUTF8(text, "?")
		}
		checkInvariants(t, text, Segment(text))
		checkInvariants(t, text, New(Options{LineIsSentence: true}).Segment(text))
	})
}

func FuzzReadGold(f *testing.F) {
	f.Add("# text = I don't.\n1\tI\t_\t_\t_\t_\t2\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\t_\t_\t_\t_\t0\troot\t_\t_\n3\tn't\t_\t_\t_\t_\t2\tadvmod\t_\t_\n4\t.\t_\t_\t_\t_\t2\tpunct\t_\t_\n\n")
	f.Add("# newdoc\n# newpar\n# text = a\n1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n1.1\tb\t_\t_\t_\t_\t_\t_\t_\t_\n")
	f.Fuzz(func(t *testing.T, in string) {
		docs, err := ReadGold(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, d := range docs {
			for _, sp := range append(append(append([]Span{}, d.Tokens...), d.Words...), d.Sentences...) {
				if sp.Start < 0 || sp.End > len(d.Text) || sp.Start > sp.End {
					t.Fatalf("span %+v outside text of %d bytes", sp, len(d.Text))
				}
			}
		}
	})
}
