package tokenizer

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// TestLegacyProbes checks LegacyTokenize against the probes the original
// pytorch_transformers 1.2.0 tokenizer produced with the toy vocabulary.
func TestLegacyProbes(t *testing.T) {
	path := testshared.Path(t, "fixtures", "kadapter-tiny", "preprocessing", "preprocessing_reference.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Probes []struct {
			Text   string   `json:"text"`
			Tokens []string `json:"tokens"`
		} `json:"tokenize_probes"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Probes) == 0 {
		t.Fatal("no tokenize_probes in the reference")
	}
	tok := loadShared(t, "fixtures", "kadapter-tiny", "tokenizer")
	for _, p := range ref.Probes {
		got := tok.LegacyTokenize(p.Text)
		if len(got) == 0 && len(p.Tokens) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, p.Tokens) {
			t.Errorf("LegacyTokenize(%q) = %q, want %q", p.Text, got, p.Tokens)
		}
	}
}

func TestLegacyRules(t *testing.T) {
	tok := loadShared(t, "data", "roberta")
	cases := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"   ", nil}, // documented deviation: the original returns one random special token
		{"He met ", []string{"ĠHe", "Ġmet"}},
		{"  He", []string{"ĠHe"}},
		{"@", []string{"Ġ@"}},
		{"question </s> answer", []string{"Ġquestion", "</s>", "Ġanswer"}},
		{"</s>", []string{"</s>"}},
		{"</s></s>", []string{"</s>", "</s>"}},
		{"a<mask>b", []string{"Ġa", "<mask>", "Ġb"}},
		{"<s>x<pad> <unk>", []string{"<s>", "Ġx", "<pad>", "<unk>"}},
		{"\x1ctext\x1f", []string{"Ġtext"}}, // Python's strip also removes U+001C..U+001F
		{"x\u00a0", []string{"Ġx"}},
		{"it's", []string{"Ġit", "'s"}},
	}
	for _, c := range cases {
		got := tok.LegacyTokenize(c.text)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("LegacyTokenize(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	ids := tok.LegacyEncode("question </s> answer")
	if want := []int{864, 2, 1948}; !reflect.DeepEqual(ids, want) {
		t.Errorf("LegacyEncode = %v, want %v", ids, want)
	}
}

func TestLookups(t *testing.T) {
	for _, dir := range [][]string{{"data", "roberta"}, {"fixtures", "kadapter-tiny", "tokenizer"}} {
		tok := loadShared(t, dir...)
		if tok.BOS() != 0 || tok.PadID() != 1 || tok.EOS() != 2 || tok.UnkID() != 3 {
			t.Errorf("%v: specials bos=%d pad=%d eos=%d unk=%d", dir, tok.BOS(), tok.PadID(), tok.EOS(), tok.UnkID())
		}
		if id, ok := tok.TokenID("<mask>"); !ok || id != tok.MaskID() {
			t.Errorf("%v: <mask> = %d %v, MaskID %d", dir, id, ok, tok.MaskID())
		}
		for _, s := range []string{"@", "Ġ@", "#"} {
			id, ok := tok.TokenID(s)
			if !ok {
				t.Errorf("%v: %q not found", dir, s)
				continue
			}
			if back, _ := tok.IDToken(id); back != s {
				t.Errorf("%v: IDToken(%d) = %q, want %q", dir, id, back, s)
			}
		}
		if got := tok.ConvertTokensToIDs([]string{"</s>", "no-such-token-xyz"}); got[0] != 2 || got[1] != 3 {
			t.Errorf("%v: ConvertTokensToIDs = %v", dir, got)
		}
	}
	tok := loadShared(t, "data", "roberta")
	if tok.MaskID() != 50264 || tok.VocabSize() != 50265 {
		t.Errorf("roberta: mask %d, vocab size %d", tok.MaskID(), tok.VocabSize())
	}
}
