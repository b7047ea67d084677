package tokenizer

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kadapter/kadapter/internal/testshared"
)

// classRegexp writes a RangeTable as a regexp character class body.
func classRegexp(tab *unicode.RangeTable) string {
	var b strings.Builder
	add := func(lo, hi uint32) {
		b.WriteString(`\x{` + strconv.FormatUint(uint64(lo), 16) + `}`)
		if hi > lo {
			b.WriteString(`-\x{` + strconv.FormatUint(uint64(hi), 16) + `}`)
		}
	}
	for _, r := range tab.R16 {
		add(uint32(r.Lo), uint32(r.Hi))
	}
	for _, r := range tab.R32 {
		add(r.Lo, r.Hi)
	}
	return b.String()
}

// refPreTokenize is a slow reference for nextWord: Go's regexp (leftmost-
// first alternation, like Oniguruma) for the alternatives without
// lookahead, and the \s+(?!\S)|\s+ tail written out.
type refPreTokenizer struct{ alt, space *regexp.Regexp }

func newRefPreTokenizer() *refPreTokenizer {
	L, N, S := classRegexp(onigLetter), classRegexp(onigNumber), classRegexp(onigSpace)
	return &refPreTokenizer{
		alt:   regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d| ?[` + L + `]+| ?[` + N + `]+| ?[^` + S + L + N + `]+)`),
		space: regexp.MustCompile(`^[` + S + `]+`),
	}
}

func (r *refPreTokenizer) split(s string) []string {
	var out []string
	for len(s) > 0 {
		if m := r.alt.FindString(s); m != "" {
			out = append(out, m)
			s = s[len(m):]
			continue
		}
		m := r.space.FindString(s)
		if m == "" { // cannot happen on valid UTF-8: every character is in one class
			_, w := utf8.DecodeRuneInString(s)
			m = s[:w]
		} else if len(m) < len(s) { // \s+(?!\S): give the last space back to the next token
			_, w := utf8.DecodeLastRuneInString(m)
			if len(m) > w {
				m = m[:len(m)-w]
			}
		}
		out = append(out, m)
		s = s[len(m):]
	}
	return out
}

func splitWords(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := nextWord(s, i)
		if j <= i {
			panic("nextWord did not advance")
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func TestPreTokenizeCases(t *testing.T) {
	cases := map[string][]string{
		"Hello world":             {"Hello", " world"},
		"a \n\nb":                 {"a", " \n", "\n", "b"},
		"   ":                     {"   "},
		"a   b":                   {"a", "  ", " b"},
		"I'm sure they'll":        {"I", "'m", " sure", " they", "'ll"},
		"DON'T":                   {"DON", "'", "T"},
		" 'sup":                   {" '", "sup"},
		"x2024 12:30pm":           {"x", "2024", " 12", ":", "30", "pm"},
		"tab\there":               {"tab", "\t", "here"},
		"€99,  ok!!":              {"€", "99", ",", " ", " ok", "!!"},
		"日本語のテキスト、中文":             {"日本語のテキスト", "、", "中文"},
		"a\u00a0b":                {"a", "\u00a0", "b"},
		"e\u0301":                 {"e", "\u0301"},                     // a combining mark is neither letter nor number
		"\U00013460x \U000323B0y": {"\U00013460x", " \U000323B0", "y"}, // Unicode 16 letter; Unicode 17 not yet
	}
	ref := newRefPreTokenizer()
	for in, want := range cases {
		got := splitWords(in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("pre-tokenize %q = %q, want %q", in, got, want)
		}
		if r := ref.split(in); strings.Join(r, "|") != strings.Join(want, "|") {
			t.Errorf("reference pre-tokenize %q = %q, want %q", in, r, want)
		}
	}
}

// FuzzPreTokenize checks the hand-written pre-tokenizer against the
// regexp reference, and that it tiles its input.
func FuzzPreTokenize(f *testing.F) {
	for _, s := range diffTexts(200, 9) {
		f.Add(s)
	}
	ref := newRefPreTokenizer()
	f.Fuzz(func(t *testing.T, s string) {
		got := splitWords(s)
		if strings.Join(got, "") != s {
			t.Fatalf("pieces %q do not tile %q", got, s)
		}
		if !utf8.ValidString(s) {
			return
		}
		if want := ref.split(s); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("pre-tokenize %q\n got %q\nwant %q", s, got, want)
		}
	})
}

// FuzzEncode checks invariants of Encode, AppendIDs and LegacyTokenize on
// arbitrary input (invalid UTF-8 included) with the real vocabulary.
func FuzzEncode(f *testing.F) {
	for _, s := range diffTexts(200, 10) {
		f.Add(s, false)
	}
	tok := loadShared(f, "data", "roberta")
	f.Fuzz(func(t *testing.T, s string, prefix bool) {
		opts := &Options{AddPrefixSpace: prefix, NoSpecialTokens: true}
		e := tok.Encode(s, opts)
		n := e.Len()
		if len(e.Tokens) != n || len(e.Offsets) != n || len(e.WordIDs) != n || len(e.SequenceIDs) != n {
			t.Fatalf("%q: slices of different lengths", s)
		}
		prevWord, prevStart := -1, 0
		for i, id := range e.IDs {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("%q: id %d out of range", s, id)
			}
			o := e.Offsets[i]
			// Starts never go back, except for the empty range Hugging Face
			// gives a lone prefix-space token (placed after the character
			// it was added before).
			if o[0] < 0 || o[0] > o[1] || o[1] > len(s) || (o[0] < prevStart && o[0] < o[1]) {
				t.Fatalf("%q: bad offsets %v at %d (previous start %d)", s, o, i, prevStart)
			}
			if o[0] < o[1] {
				prevStart = o[0]
			}
			if w := e.WordIDs[i]; w < prevWord || w > prevWord+1 {
				t.Fatalf("%q: word ids %v", s, e.WordIDs)
			} else {
				prevWord = w
			}
		}
		if got := tok.AppendIDs(nil, s, prefix); !slices.Equal(got, e.IDs) {
			t.Fatalf("%q: AppendIDs %v, Encode %v", s, got, e.IDs)
		}
		if !strings.Contains(s, "<") {
			want := ToValidUTF8(s)
			if prefix && want != "" && want[0] != ' ' {
				want = " " + want
			}
			if got := tok.Decode(e.IDs, false); got != want {
				t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
			}
		}
		for _, tk := range tok.LegacyTokenize(s) {
			if _, ok := tok.TokenID(tk); !ok {
				t.Fatalf("LegacyTokenize(%q) gave %q, not in the vocabulary", s, tk)
			}
		}
	})
}

// FuzzLoadVocabMerges feeds arbitrary vocab.json / merges.txt contents to the
// loader: it must return an error or a tokenizer that encodes without
// panicking.
func FuzzLoadVocabMerges(f *testing.F) {
	dir := testshared.Path(f, "fixtures", "kadapter-tiny", "tokenizer")
	v, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		f.Fatal(err)
	}
	m, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v, m)
	f.Add([]byte(`{"a": 0, "b": 1, "ab": 2, "<mask>": 3}`), []byte("#version: 0.2\na b\n"))
	f.Add([]byte(`{"a": 0, "b": 1}`), []byte("a b\n"))
	f.Add([]byte(`{"a": 0, "a": 1}`), []byte("a a\n"))
	f.Add([]byte(`{"a": -1}`), []byte(""))
	f.Add([]byte(`{"Ġ": 5, "x": 900000}`), []byte("Ġ x"))
	f.Add([]byte(`[]`), []byte("a b c\n"))
	f.Fuzz(func(t *testing.T, vocab, merges []byte) {
		tok, err := FromVocabMerges(vocab, merges)
		if err != nil {
			return
		}
		exercise(tok)
	})
}

// FuzzLoadTokenizerJSON feeds arbitrary tokenizer.json contents to the loader.
func FuzzLoadTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"added_tokens":[{"id":3,"content":"<mask>","lstrip":true,"normalized":true}],"normalizer":null,
"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0]},
"model":{"type":"BPE","vocab":{"<s>":0,"a":1,"</s>":2,"<mask>":3,"b":4,"ab":5},"merges":["a b"]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"ByteLevel"},"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"Whitespace"},"model":{"vocab":{"a":0}}}`))
	f.Add([]byte(`{"added_tokens":[{"id":9,"content":""}],"pre_tokenizer":{"type":"ByteLevel"},"model":{"vocab":{"a":0}}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"ByteLevel"},"post_processor":{"type":"RobertaProcessing","sep":["</s>",99],"cls":["<s>"]},"model":{"vocab":{"a":0}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromTokenizerJSON(data)
		if err != nil {
			return
		}
		exercise(tok)
	})
}

func exercise(tok *Tokenizer) {
	for _, s := range []string{"", "ab", "hello <mask> wörld", " a\xffb <s>x</s>", "'ll  \n😀"} {
		tok.Encode(s, nil)
		tok.EncodePair(s, s, &Options{AddPrefixSpace: true, MaxLength: 5, PadToLength: 8})
		tok.LegacyEncode(s)
		tok.Decode(tok.AppendIDs(nil, s, false), true)
	}
}
