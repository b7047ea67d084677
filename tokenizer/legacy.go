package tokenizer

import (
	"strings"
	"unicode"
)

// legacySpecials are the strings pytorch_transformers 1.2.0's
// RobertaTokenizer splits on before BPE (its all_special_tokens).
var legacySpecials = []string{"<s>", "</s>", "<pad>", "<unk>", "<mask>"}

// LegacyTokenize reproduces pytorch_transformers 1.2.0
// RobertaTokenizer.tokenize, which the original K-Adapter feature
// converters call (spec §5):
//
//   - the text is split on the special-token strings <s> </s> <pad> <unk>
//     <mask>, which are kept as tokens;
//   - every other piece is stripped of surrounding whitespace (Python's
//     str.strip) and dropped when empty;
//   - each piece is byte-level BPE-encoded with ONE space prepended, so its
//     first word always gets the "Ġ" prefix and trailing spaces vanish.
//
// Deviation: a text that is empty or only whitespace gives no tokens (the
// original returns one special token chosen by Python's hash-seeded set
// order).
//
// The result holds vocabulary spellings ("Ġworld", "</s>"); convert them
// with ConvertTokensToIDs.
func (t *Tokenizer) LegacyTokenize(text string) []string {
	var out []string
	var ids []int32
	for _, p := range legacySplit(text) {
		if p.special {
			out = append(out, p.text)
			continue
		}
		ids = t.legacyBPE(ids[:0], p.text)
		for _, id := range ids {
			if id < 0 { // a byte missing from the vocabulary: GPT-2 keeps its character, which maps to <unk>
				out = append(out, "<unk>")
				continue
			}
			out = append(out, t.spelling(id))
		}
	}
	return out
}

// LegacyEncode returns the ids of LegacyTokenize(text) (unknown tokens map
// to <unk>), without <s>/</s>.
func (t *Tokenizer) LegacyEncode(text string) []int {
	return t.ConvertTokensToIDs(t.LegacyTokenize(text))
}

type legacyPiece struct {
	text    string
	special bool
}

// legacySplit splits text on the special-token strings, strips the pieces
// and drops the empty ones, as split_on_tokens does.
func legacySplit(text string) []legacyPiece {
	var out []legacyPiece
	for len(text) > 0 {
		at, which := -1, ""
		for i := 0; i < len(text) && at < 0; i++ {
			if text[i] != '<' {
				continue
			}
			for _, sp := range legacySpecials {
				if strings.HasPrefix(text[i:], sp) {
					at, which = i, sp
					break
				}
			}
		}
		if at < 0 {
			if p := pyStrip(text); p != "" {
				out = append(out, legacyPiece{text: p})
			}
			break
		}
		if p := pyStrip(text[:at]); p != "" {
			out = append(out, legacyPiece{text: p})
		}
		out = append(out, legacyPiece{text: which, special: true})
		text = text[at+len(which):]
	}
	return out
}

// pyStrip is Python's str.strip(): it removes characters for which
// str.isspace() is true (Unicode White_Space plus the separators U+001C to
// U+001F).
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F)
	})
}

// legacyBPE runs GPT-2's _tokenize on " " + piece: the pre-tokenization
// pattern, then BPE on each pre-token.
func (t *Tokenizer) legacyBPE(dst []int32, piece string) []int32 {
	work := " " + piece
	for i := 0; i < len(work); {
		j := nextWord(work, i)
		dst = t.wordIDs(dst, work[i:j])
		i = j
	}
	return dst
}

// TokenID returns the id of a token spelling (vocabulary form, or an added
// token's content).
func (t *Tokenizer) TokenID(tok string) (int, bool) {
	if id, ok := t.vocab[tok]; ok {
		return int(id), true
	}
	for _, a := range t.added {
		if a.content == tok {
			return int(a.id), true
		}
	}
	return 0, false
}

// IDToken returns the spelling of id ("" and false when id is out of range
// or unused).
func (t *Tokenizer) IDToken(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
		return "", false
	}
	return t.tokens[id], true
}

// ConvertTokensToIDs maps spellings to ids; unknown spellings become the
// <unk> id (as pytorch_transformers' convert_tokens_to_ids does).
func (t *Tokenizer) ConvertTokensToIDs(toks []string) []int {
	out := make([]int, len(toks))
	for i, tok := range toks {
		if id, ok := t.TokenID(tok); ok {
			out[i] = id
		} else {
			out[i] = int(t.unk)
		}
	}
	return out
}

// ConvertIDsToTokens maps ids to spellings ("" for unknown ids).
func (t *Tokenizer) ConvertIDsToTokens(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _ = t.IDToken(id)
	}
	return out
}

// VocabSize returns the number of ids (the largest id + 1).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Special token ids looked up in the vocabulary (-1 when absent).

// BOS returns the id of <s> (RoBERTa's cls token).
func (t *Tokenizer) BOS() int { return int(t.bos) }

// EOS returns the id of </s> (RoBERTa's sep token).
func (t *Tokenizer) EOS() int { return int(t.eos) }

// PadID returns the id of <pad>.
func (t *Tokenizer) PadID() int { return int(t.pad) }

// UnkID returns the id of <unk>.
func (t *Tokenizer) UnkID() int { return int(t.unk) }

// MaskID returns the id of <mask>.
func (t *Tokenizer) MaskID() int { return int(t.mask) }

// Decode turns ids back into text: byte-level tokens become their bytes,
// added tokens their content (skipped when skipSpecial). Invalid UTF-8 that
// a partial sequence leaves is kept as is.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	var b []byte
	for _, id := range ids {
		tok, ok := t.IDToken(id)
		if !ok {
			continue
		}
		if t.isAdded(int32(id)) {
			if !skipSpecial {
				b = append(b, tok...)
			}
			continue
		}
		if raw, ok := FromByteLevel(tok); ok {
			b = append(b, raw...)
		} else {
			b = append(b, tok...)
		}
	}
	return string(b)
}

func (t *Tokenizer) isAdded(id int32) bool {
	for _, a := range t.added {
		if a.id == id {
			return true
		}
	}
	return false
}
