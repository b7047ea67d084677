// Package parser is a part-of-speech tagger and a transition-based labeled
// dependency parser for Universal Dependencies, trained from CoNLL-U.
//
// The tagger is a greedy averaged perceptron over word, affix, shape and
// context features with a tag dictionary for frequent words. The parser is
// greedy arc-hybrid with an averaged perceptron over Zhang & Nivre (2011)
// style features (words, tags, distance, valency, children and their
// labels, third-order features), trained with the dynamic oracle of
// Goldberg & Nivre (2013) on pseudo-projective (lifted) trees, on tags
// predicted by jackknifing so that training sees the tagger's errors.
//
// A trained Model is saved as one compact binary file (magic, version,
// zstd-compressed sparse weight tables) and is safe for concurrent use.
package parser

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/klauspost/compress/zstd"

	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/parser/conllu"
)

// Magic starts every model file; FormatVersion is the layout written by
// Save. Load refuses other versions.
const (
	Magic         = "KADPARSE"
	FormatVersion = 1
)

// Info describes how a model was trained; it is stored in the model file.
type Info struct {
	Treebank     string  `json:"treebank"`
	Sentences    int     `json:"sentences"`
	Tokens       int     `json:"tokens"`
	TaggerEpoch  int     `json:"tagger_epoch"`
	ParserEpoch  int     `json:"parser_epoch"`
	DevUPOS      float64 `json:"dev_upos"`
	DevUAS       float64 `json:"dev_uas"`
	DevLAS       float64 `json:"dev_las"`
	Seed         int64   `json:"seed"`
	Jackknife    int     `json:"jackknife"`
	Ensemble     int     `json:"ensemble"`
	NonProjMode  string  `json:"nonproj"`
	TrainSeconds float64 `json:"train_seconds"`
}

// Model is a trained tagger + parser. It is safe for concurrent use.
type Model struct {
	Info   Info
	tagger *tagger
	parser *depParser
}

// Tags returns the tag classes of the tagger: UPOS, or "UPOS|XPOS" pairs
// for a model trained with XPOS (Parse returns the UPOS part).
func (m *Model) Tags() []string { return append([]string(nil), m.tagger.tags...) }

// Labels returns the dependency relations the model predicts.
func (m *Model) Labels() []string { return append([]string(nil), m.parser.labels...) }

// Parse tags and parses one sentence of words (gold tokenization). It
// returns, for word i, its UPOS tag, its head (1-based index of the head
// word, 0 for the root) and its UD relation. An empty sentence gives empty
// slices.
func (m *Model) Parse(words []string) (upos []string, heads []int, rels []string) {
	tags := m.tagger.tag(words)
	upos = make([]string, len(words))
	for i, t := range tags {
		upos[i] = m.tagger.upos[t]
	}
	heads, labels := m.parser.parse(m.parser.wordHashes(words), suffixHashes(words), tags)
	rels = make([]string, len(words))
	for i, l := range labels {
		rels[i] = m.parser.labels[l]
	}
	return upos, heads, rels
}

// ParseSentence tags and parses s in place from its word forms: it sets
// UPOS, Head and Deprel of every word and leaves the other fields alone.
func (m *Model) ParseSentence(s *conllu.Sentence) {
	upos, heads, rels := m.Parse(s.Forms())
	for i := range s.Words {
		s.Words[i].UPOS, s.Words[i].Head, s.Words[i].Deprel = upos[i], heads[i], rels[i]
	}
}

// Save writes the model to path atomically (temporary file + rename).
func (m *Model) Save(path string) error {
	err := atomicfile.Write(path, func(w *bufio.Writer) error { return m.write(w) })
	if err != nil {
		return fmt.Errorf("writing model %s: %w", path, err)
	}
	return nil
}

// write writes the model file format to w.
func (m *Model) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(Magic)
	binary.Write(bw, binary.LittleEndian, uint32(FormatVersion))
	zw, err := zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	e := &enc{w: bufio.NewWriter(zw)}
	info, _ := json.Marshal(m.Info)
	e.str(string(info))
	e.strs(m.tagger.tags)
	e.u32(uint32(len(m.tagger.dict)))
	for _, k := range sortedKeys(m.tagger.dict) {
		e.str(k)
		e.u32(uint32(m.tagger.dict[k]))
	}
	e.table(m.tagger.w)
	e.strs(m.parser.labels)
	e.u32(uint32(m.parser.root))
	vocab := make([]string, 0, len(m.parser.vocab))
	for w := range m.parser.vocab {
		vocab = append(vocab, w)
	}
	sortStrings(vocab)
	e.strs(vocab)
	e.table(m.parser.w)
	if e.err != nil {
		return e.err
	}
	if err := e.w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// Load reads a model file written by Save.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("loading parser model %s: %w", path, err)
	}
	return m, nil
}

// Read reads a model in the file format from r.
func Read(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(Magic)+4)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, errors.New("not a kadapter parser model (file too short)")
	}
	if string(head[:len(Magic)]) != Magic {
		return nil, errors.New("not a kadapter parser model (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(head[len(Magic):]); v != FormatVersion {
		return nil, fmt.Errorf("model format version %d, this program reads version %d (retrain with kprep deps train)", v, FormatVersion)
	}
	zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	d := &dec{r: bufio.NewReader(zr)}
	m := &Model{tagger: &tagger{}, parser: &depParser{}}
	info := d.str()
	if d.err == nil {
		if err := json.Unmarshal([]byte(info), &m.Info); err != nil {
			return nil, fmt.Errorf("bad model info: %w", err)
		}
	}
	m.tagger.tags = d.strs()
	m.tagger.upos = uposOf(m.tagger.tags)
	m.parser.cats = tagCats(m.tagger.upos)
	nd := d.u32()
	m.tagger.dict = make(map[string]int, min(nd, 1<<20))
	for i := uint32(0); i < nd && d.err == nil; i++ {
		k := d.str()
		m.tagger.dict[k] = int(d.u32())
	}
	m.tagger.w = d.table()
	m.parser.labels = d.strs()
	m.parser.root = int(d.u32())
	vocab := d.strs()
	m.parser.vocab = make(map[string]struct{}, len(vocab))
	for _, w := range vocab {
		m.parser.vocab[w] = struct{}{}
	}
	m.parser.w = d.table()
	if d.err != nil {
		return nil, fmt.Errorf("corrupt model: %w", d.err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("corrupt model: %w", err)
	}
	return m, nil
}

// check validates the indexes a corrupt file could break.
func (m *Model) check() error {
	nt := len(m.tagger.tags)
	if nt == 0 || len(m.parser.labels) == 0 {
		return errors.New("no tags or no labels")
	}
	for _, t := range m.tagger.dict {
		if t < 0 || t >= nt {
			return errors.New("tag dictionary entry out of range")
		}
	}
	if m.parser.root < 0 || m.parser.root >= len(m.parser.labels) {
		return errors.New("root label out of range")
	}
	if m.tagger.w.nclass != nt || m.parser.w.nclass != m.parser.nclass() {
		return errors.New("weight table class count mismatch")
	}
	for _, t := range []*table{m.tagger.w, m.parser.w} {
		for _, c := range t.cls {
			if int(c) >= t.nclass {
				return errors.New("weight class out of range")
			}
		}
		for i := 1; i < len(t.off); i++ {
			if t.off[i] < t.off[i-1] {
				return errors.New("weight offsets not increasing")
			}
		}
		if len(t.off) == 0 || int(t.off[len(t.off)-1]) != len(t.w) {
			return errors.New("weight offsets do not match weights")
		}
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

type enc struct {
	w   *bufio.Writer
	err error
}

func (e *enc) u32(v uint32) {
	if e.err == nil {
		e.err = binary.Write(e.w, binary.LittleEndian, v)
	}
}

func (e *enc) str(s string) {
	e.u32(uint32(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *enc) strs(ss []string) {
	e.u32(uint32(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *enc) table(t *table) {
	e.u32(uint32(t.nclass))
	e.u32(uint32(len(t.keys)))
	e.u32(uint32(len(t.w)))
	for _, v := range []any{t.keys, t.off, t.cls, t.w} {
		if e.err == nil {
			e.err = binary.Write(e.w, binary.LittleEndian, v)
		}
	}
}

type dec struct {
	r   *bufio.Reader
	err error
}

// maxLen bounds lengths read from a file so that a corrupt header cannot
// make Load allocate without limit.
const maxLen = 1 << 30

func (d *dec) u32() uint32 {
	if d.err != nil {
		return 0
	}
	var v uint32
	d.err = binary.Read(d.r, binary.LittleEndian, &v)
	return v
}

func (d *dec) str() string {
	n := d.u32()
	if d.err != nil {
		return ""
	}
	if n > 1<<24 {
		d.err = fmt.Errorf("string length %d too large", n)
		return ""
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
	return string(b)
}

func (d *dec) strs() []string {
	n := d.u32()
	if n > 1<<24 {
		d.err = fmt.Errorf("list length %d too large", n)
	}
	var out []string
	for i := uint32(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (d *dec) table() *table {
	t := &table{nclass: int(d.u32())}
	nk, nw := d.u32(), d.u32()
	if d.err != nil {
		return t
	}
	if nk > maxLen/8 || nw > maxLen/4 || t.nclass > math.MaxUint16 {
		d.err = fmt.Errorf("table sizes %d/%d too large", nk, nw)
		return t
	}
	t.keys = make([]uint64, nk)
	t.off = make([]uint32, nk+1)
	t.cls = make([]uint16, nw)
	t.w = make([]float32, nw)
	for _, v := range []any{t.keys, t.off, t.cls, t.w} {
		if d.err == nil {
			d.err = binary.Read(d.r, binary.LittleEndian, v)
		}
	}
	if d.err == nil {
		for _, k := range t.keys {
			if k == 0 {
				d.err = errors.New("zero feature key")
				return t
			}
		}
		t.build()
	}
	return t
}

func sortStrings(s []string) { sort.Strings(s) }
