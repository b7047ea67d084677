package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Tokenizer is a loaded byte-level BPE vocabulary with RoBERTa's special
// tokens. It is safe for concurrent use.
type Tokenizer struct {
	vocab  map[string]int32
	tokens []string // id -> spelling (vocabulary form; added tokens' content)
	tokLen []int32  // id -> number of text bytes the token stands for (-1: not a byte-level token)
	merges map[uint64]uint64
	byteID [256]int32

	added      []addedToken // matched in the text before pre-tokenization
	addedFirst [256]bool    // first bytes of added tokens' contents

	bos, eos, pad, unk, mask int32

	addPrefixSpace bool // default add_prefix_space (tokenizer.json's pre-tokenizer)
	trimOffsets    bool // RobertaProcessing's trim_offsets

	cache *wordCache
}

type addedToken struct {
	content    string
	id         int32
	lstrip     bool
	rstrip     bool
	singleWord bool
	normalized bool
}

// Load reads a tokenizer from dir: tokenizer.json when present (it carries
// the added tokens' flags and the pre- and post-processor settings),
// otherwise vocab.json and merges.txt with RoBERTa's special tokens. dir may
// also name a tokenizer.json file directly.
func Load(dir string) (*Tokenizer, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return LoadTokenizerJSON(dir)
	}
	tj := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(tj); err == nil {
		return LoadTokenizerJSON(tj)
	}
	vocab, merges := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	if _, err := os.Stat(vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s has neither tokenizer.json nor vocab.json + merges.txt", dir)
	}
	return LoadFiles(vocab, merges)
}

// LoadFiles reads vocab.json and merges.txt (GPT-2 / RoBERTa format). The
// special tokens <s>, <pad>, </s>, <unk> and <mask> (the last with lstrip,
// as RobertaTokenizerFast declares it) become added tokens when the
// vocabulary has them.
func LoadFiles(vocabPath, mergesPath string) (*Tokenizer, error) {
	v, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	m, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromVocabMerges(v, m)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s / %s: %w", vocabPath, mergesPath, err)
	}
	return t, nil
}

// LoadTokenizerJSON reads a Hugging Face tokenizer.json holding a byte-level
// BPE model (RoBERTa, GPT-2 style).
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// robertaSpecials are the special tokens a vocab.json + merges.txt pair gets.
var robertaSpecials = []addedToken{
	{content: "<s>", normalized: true},
	{content: "<pad>", normalized: true},
	{content: "</s>", normalized: true},
	{content: "<unk>", normalized: true},
	{content: "<mask>", lstrip: true, normalized: true},
}

// FromVocabMerges builds a tokenizer from the contents of vocab.json and
// merges.txt.
func FromVocabMerges(vocabJSON, mergesTxt []byte) (*Tokenizer, error) {
	vocab, err := parseVocab(vocabJSON)
	if err != nil {
		return nil, err
	}
	merges, err := parseMergesTxt(mergesTxt)
	if err != nil {
		return nil, err
	}
	var added []addedToken
	for _, a := range robertaSpecials {
		if id, ok := vocab[a.content]; ok {
			a.id = id
			added = append(added, a)
		}
	}
	return build(vocab, merges, added, false, true)
}

func parseVocab(data []byte) (map[string]int32, error) {
	var raw map[string]int64
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("vocab.json: %w", err)
	}
	return checkVocab(raw)
}

func checkVocab(raw map[string]int64) (map[string]int32, error) {
	if len(raw) == 0 {
		return nil, errors.New("vocab.json: empty vocabulary")
	}
	vocab := make(map[string]int32, len(raw))
	seen := make(map[int64]string, len(raw))
	for tok, id := range raw {
		if id < 0 || id >= 1<<24 {
			return nil, fmt.Errorf("vocab.json: token %q has id %d out of range [0, %d)", tok, id, 1<<24)
		}
		if other, dup := seen[id]; dup {
			a, b := other, tok
			if b < a {
				a, b = b, a
			}
			return nil, fmt.Errorf("vocab.json: tokens %q and %q share id %d", a, b, id)
		}
		seen[id] = tok
		vocab[tok] = int32(id)
	}
	return vocab, nil
}

// parseMergesTxt reads merges.txt: an optional "#version" line, then one
// "left right" pair a line, in rank order. Empty lines are skipped.
func parseMergesTxt(data []byte) ([][2]string, error) {
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimRight(sc.Text(), "\r")
		if l == "" || (line == 1 && strings.HasPrefix(l, "#version")) {
			continue
		}
		parts := strings.Split(l, " ")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("merges.txt line %d: want two tokens separated by one space, got %q", line, l)
		}
		out = append(out, [2]string{parts[0], parts[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("merges.txt: %w", err)
	}
	return out, nil
}

type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer *struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type           string            `json:"type"`
		Sep            []json.RawMessage `json:"sep"`
		Cls            []json.RawMessage `json:"cls"`
		TrimOffsets    *bool             `json:"trim_offsets"`
		AddPrefixSpace bool              `json:"add_prefix_space"`
	} `json:"post_processor"`
	Model struct {
		Type                    string            `json:"type"`
		Vocab                   map[string]int64  `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
		ContinuingSubwordPrefix string            `json:"continuing_subword_prefix"`
		EndOfWordSuffix         string            `json:"end_of_word_suffix"`
		ByteFallback            bool              `json:"byte_fallback"`
	} `json:"model"`
}

// FromTokenizerJSON builds a tokenizer from the contents of a Hugging Face
// tokenizer.json. Only what RoBERTa uses is supported (BPE model, no
// normalizer, ByteLevel pre-tokenizer, RobertaProcessing post-processor);
// anything else is an error rather than a silent difference.
func FromTokenizerJSON(data []byte) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, err
	}
	m := tj.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (want BPE)", m.Type)
	}
	if m.ContinuingSubwordPrefix != "" || m.EndOfWordSuffix != "" || m.ByteFallback {
		return nil, errors.New("BPE with continuing_subword_prefix, end_of_word_suffix or byte_fallback is not supported")
	}
	if n := bytes.TrimSpace(tj.Normalizer); len(n) > 0 && string(n) != "null" {
		return nil, fmt.Errorf("normalizer %s is not supported", n)
	}
	addPrefix := false
	if p := tj.PreTokenizer; p != nil {
		if p.Type != "ByteLevel" || (p.UseRegex != nil && !*p.UseRegex) {
			return nil, fmt.Errorf("pre_tokenizer %q is not supported (want ByteLevel with use_regex)", p.Type)
		}
		addPrefix = p.AddPrefixSpace
	} else {
		return nil, errors.New("pre_tokenizer missing (want ByteLevel)")
	}
	trim := false
	if p := tj.PostProcessor; p != nil {
		if p.Type != "RobertaProcessing" {
			return nil, fmt.Errorf("post_processor %q is not supported (want RobertaProcessing)", p.Type)
		}
		trim = p.TrimOffsets == nil || *p.TrimOffsets
	}
	vocab, err := checkVocab(m.Vocab)
	if err != nil {
		return nil, err
	}
	merges := make([][2]string, 0, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			parts := strings.Split(s, " ")
			if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
				return nil, fmt.Errorf("model.merges[%d]: want two tokens separated by one space, got %q", i, s)
			}
			merges = append(merges, [2]string{parts[0], parts[1]})
			continue
		}
		var pair []string
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("model.merges[%d]: want \"a b\" or [\"a\", \"b\"], got %s", i, raw)
		}
		merges = append(merges, [2]string{pair[0], pair[1]})
	}
	var added []addedToken
	for i, a := range tj.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if a.ID < 0 || a.ID >= 1<<24 {
			return nil, fmt.Errorf("added_tokens[%d] %q: id %d out of range", i, a.Content, a.ID)
		}
		added = append(added, addedToken{content: a.Content, id: int32(a.ID), lstrip: a.Lstrip, rstrip: a.Rstrip,
			singleWord: a.SingleWord, normalized: a.Normalized})
	}
	t, err := build(vocab, merges, added, addPrefix, trim)
	if err != nil {
		return nil, err
	}
	if p := tj.PostProcessor; p != nil {
		for _, x := range []struct {
			name string
			raw  []json.RawMessage
			dst  *int32
		}{{"sep", p.Sep, &t.eos}, {"cls", p.Cls, &t.bos}} {
			if len(x.raw) != 2 {
				return nil, fmt.Errorf("post_processor.%s: want [token, id]", x.name)
			}
			var tok string
			var id int64
			if json.Unmarshal(x.raw[0], &tok) != nil || json.Unmarshal(x.raw[1], &id) != nil || id < 0 || int(id) >= len(t.tokens) {
				return nil, fmt.Errorf("post_processor.%s: want [token, id], got [%s, %s]", x.name, x.raw[0], x.raw[1])
			}
			*x.dst = int32(id)
		}
	}
	return t, nil
}

// build assembles a Tokenizer from its parsed parts.
func build(vocab map[string]int32, merges [][2]string, added []addedToken, addPrefix, trim bool) (*Tokenizer, error) {
	maxID := int32(-1)
	for _, id := range vocab {
		maxID = max(maxID, id)
	}
	for _, a := range added {
		maxID = max(maxID, a.id)
	}
	if n := len(vocab) + len(added); int(maxID) >= 2*n+1024 {
		return nil, fmt.Errorf("ids are too sparse: largest id %d for %d tokens", maxID, n)
	}
	t := &Tokenizer{
		vocab:          vocab,
		tokens:         make([]string, maxID+1),
		tokLen:         make([]int32, maxID+1),
		merges:         make(map[uint64]uint64, len(merges)),
		addPrefixSpace: addPrefix,
		trimOffsets:    trim,
		cache:          newWordCache(DefaultCacheWords),
	}
	for i := range t.tokLen {
		t.tokLen[i] = -1
	}
	for tok, id := range vocab {
		t.tokens[id] = tok
		if utf8.ValidString(tok) {
			if b, ok := FromByteLevel(tok); ok && len(b) > 0 {
				t.tokLen[id] = int32(len(b))
			}
		}
	}
	for b := 0; b < 256; b++ {
		if id, ok := vocab[byteStr[b]]; ok {
			t.byteID[b] = id
		} else {
			t.byteID[b] = -1
		}
	}
	for i, m := range merges {
		a, okA := vocab[m[0]]
		b, okB := vocab[m[1]]
		c, okC := vocab[m[0]+m[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("merge %d (%s %s): %q is not in the vocabulary", i+1, m[0], m[1], m[0])
		case !okB:
			return nil, fmt.Errorf("merge %d (%s %s): %q is not in the vocabulary", i+1, m[0], m[1], m[1])
		case !okC:
			return nil, fmt.Errorf("merge %d (%s %s): %q is not in the vocabulary", i+1, m[0], m[1], m[0]+m[1])
		}
		// A repeated pair takes its last rank, as in Hugging Face and GPT-2's
		// dict(zip(merges, range(len(merges)))).
		t.merges[pairKey(a, b)] = uint64(i)<<32 | uint64(uint32(c))
	}
	seen := map[string]bool{}
	for _, a := range added {
		if seen[a.content] {
			continue
		}
		seen[a.content] = true
		if int(a.id) < len(t.tokens) && t.tokens[a.id] == "" {
			t.tokens[a.id] = a.content
		}
		t.added = append(t.added, a)
		t.addedFirst[a.content[0]] = true
	}
	t.bos, t.eos, t.pad, t.unk, t.mask = t.specialID("<s>"), t.specialID("</s>"), t.specialID("<pad>"), t.specialID("<unk>"), t.specialID("<mask>")
	return t, nil
}

func (t *Tokenizer) specialID(tok string) int32 {
	for _, a := range t.added {
		if a.content == tok {
			return a.id
		}
	}
	if id, ok := t.vocab[tok]; ok {
		return id
	}
	return -1
}
