// Package trex turns raw T-REx documents (the re-nlg_*.json dump) into the
// relation-classification examples of K-Adapter's scripts/clean_T_REx.py
// func(): same examples, same order, same word indices (spec §8.1,
// quirks 28-29), with every dropped triple counted by reason.
//
// Offsets in T-REx are Unicode code points, as Python indexes str; they
// are converted to byte offsets without copying the text into runes.
// Property ids stay strings ("P17"); the integer ids of the original
// __main__ (quirk 30) are not produced.
package trex

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/decoder"
)

// Entity is the subject, object or predicate of a triple; only the fields
// the cleaner needs are decoded. They are kept as raw JSON (no copy, no
// allocation) and parsed by the cleaner: a missing key is nil.
type Entity struct {
	URI        sonic.NoCopyRawMessage `json:"uri"`
	Boundaries sonic.NoCopyRawMessage `json:"boundaries"`
}

// Triple is one aligned Wikidata triple of a document.
type Triple struct {
	SentenceID sonic.NoCopyRawMessage `json:"sentence_id"`
	Subject    Entity                 `json:"subject"`
	Object     Entity                 `json:"object"`
	Predicate  Entity                 `json:"predicate"`
}

// Document is the part of a T-REx document that the cleaner reads, as
// decoded by sonic; other keys (title, uri, entities, ...) are skipped.
// The boundary lists stay raw JSON and are parsed into flat offset arrays
// without per-word allocations.
type Document struct {
	DocID               sonic.NoCopyRawMessage `json:"docid"`
	Text                *string                `json:"text"`
	SentencesBoundaries sonic.NoCopyRawMessage `json:"sentences_boundaries"`
	WordsBoundaries     sonic.NoCopyRawMessage `json:"words_boundaries"`
	Triples             []Triple               `json:"triples"`
}

// Example is one cleaned example, in the layout of the original
// T_REx_example.json (before its integer relation ids). Word indices are
// inclusive. Tokens and the strings are only valid during the callback
// that receives the example: copy them to keep them, and do not modify
// Tokens (the examples of one sentence share it).
type Example struct {
	DocID     string
	Tokens    []string
	Relation  string // property id, e.g. "P17"
	SubjStart int64
	SubjEnd   int64
	ObjStart  int64
	ObjEnd    int64
	SubjLabel string // last path component of the subject URI
	ObjLabel  string
}

// Drop reasons, as used in Counts.ByReason and manifests.
const (
	ReasonNullBoundaries    = "null_boundaries"      // subject or object boundaries null or empty (the original's falsy test)
	ReasonUnaligned         = "unaligned_boundaries" // boundaries not on word edges of the sentence (count != 4)
	ReasonBadSentenceID     = "bad_sentence_id"      // sentence_id missing, negative or past the sentences
	ReasonMalformedTriple   = "malformed_triple"     // subject/object/predicate or a URI missing, boundaries with < 2 values
	ReasonMalformedDocument = "malformed_document"   // not a JSON object of the expected types, or a required key missing
	ReasonDocumentTooLarge  = "document_too_large"   // larger than the splitter's element limit (counted by callers)
)

// Counts are the cleaner's tallies. Triples counts the triples of the
// documents that could be decoded; every one of them is either an example
// or dropped for exactly one reason.
type Counts struct {
	Documents          int64 `json:"documents"`           // documents decoded
	MalformedDocuments int64 `json:"malformed_documents"` // documents rejected whole
	TooLargeDocuments  int64 `json:"too_large_documents"`
	Triples            int64 `json:"triples"`
	Examples           int64 `json:"examples"`
	NullBoundaries     int64 `json:"null_boundaries"`
	Unaligned          int64 `json:"unaligned_boundaries"`
	BadSentenceID      int64 `json:"bad_sentence_id"`
	MalformedTriples   int64 `json:"malformed_triple"`
	// LoneSurrogates counts the documents with examples whose text holds
	// a lone UTF-16 surrogate escape (\ud800-\udfff without its pair).
	// Python keeps such a code point; kadapter writes U+FFFD instead (Go
	// strings, Arrow and Hugging Face datasets hold UTF-8 only), with the
	// same code-point offsets. Counted, not dropped.
	LoneSurrogates int64 `json:"lone_surrogate_documents,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Documents += o.Documents
	c.MalformedDocuments += o.MalformedDocuments
	c.TooLargeDocuments += o.TooLargeDocuments
	c.Triples += o.Triples
	c.Examples += o.Examples
	c.NullBoundaries += o.NullBoundaries
	c.Unaligned += o.Unaligned
	c.BadSentenceID += o.BadSentenceID
	c.MalformedTriples += o.MalformedTriples
	c.LoneSurrogates += o.LoneSurrogates
}

// DroppedTriples is the number of triples dropped for any reason.
func (c Counts) DroppedTriples() int64 {
	return c.NullBoundaries + c.Unaligned + c.BadSentenceID + c.MalformedTriples
}

// ByReason returns the drop counts keyed by reason name (documents and
// triples together; see the Reason constants).
func (c Counts) ByReason() map[string]int64 {
	return map[string]int64{
		ReasonNullBoundaries:    c.NullBoundaries,
		ReasonUnaligned:         c.Unaligned,
		ReasonBadSentenceID:     c.BadSentenceID,
		ReasonMalformedTriple:   c.MalformedTriples,
		ReasonMalformedDocument: c.MalformedDocuments,
		ReasonDocumentTooLarge:  c.TooLargeDocuments,
	}
}

// DocumentError describes a document rejected whole.
type DocumentError struct {
	Msg string // what is wrong with the document
	// Triple is the index of the triple that made the document invalid
	// (its example needs the missing docid), or -1.
	Triple int
}

// Error implements error.
func (e *DocumentError) Error() string { return e.Msg }

// Cleaner turns documents into examples. It reuses its buffers between
// documents, so one Cleaner must not be used by two goroutines at once;
// make one per worker.
type Cleaner struct {
	doc      Document
	raw      []byte // the raw document last decoded
	badTri   TripleProblem
	dec      decoder.Decoder
	docID    string
	words    []int64 // flat [start0, end0, start1, end1, ...] of words_boundaries
	sents    []int64 // same for sentences_boundaries
	prepared bool
	cp       []int32 // breakpoints (code point index, byte index) after each non-ASCII character
	ascii    bool
	replaced bool  // the prepared text holds U+FFFD (or invalid UTF-8)
	textLen  int64 // length of the text in code points
	cpHint   int   // byteOffset's last answer (count of breakpoints <= cp): tokens come in order
	sentIdx  [][]int32
	sentDone []bool
	sentTok  [][]string // tokens of each sentence, made on first use in a document
	tokDone  []bool
	counts   Counts
	// triples is the backing array of Document.Triples, reused between
	// documents (sonic appends into a slice with capacity instead of
	// allocating); its first `dirty` elements may hold values of an
	// earlier document, the others are zero.
	triples []Triple
	dirty   int
}

// TripleProblem describes the first triple of a document dropped as
// bad_sentence_id or malformed_triple (the drops that are errors in the
// original).
type TripleProblem struct {
	Index  int    // 0-based index of the triple in the document's "triples"
	Reason string // ReasonBadSentenceID or ReasonMalformedTriple
	Msg    string // the problem in words
}

// BadTriple returns the first bad_sentence_id or malformed_triple triple
// of the document last cleaned, if there is one.
func (c *Cleaner) BadTriple() (TripleProblem, bool) {
	return c.badTri, c.badTri.Reason != ""
}

// NewCleaner returns a Cleaner.
func NewCleaner() *Cleaner { return &Cleaner{} }

// Counts returns the tallies of everything cleaned so far.
func (c *Cleaner) Counts() Counts { return c.counts }

// CountTooLarge counts a document that was skipped before decoding
// because it is larger than the reader's limit.
func (c *Cleaner) CountTooLarge() { c.counts.TooLargeDocuments++ }

// ResetCounts sets the tallies to zero (for per-file counts).
func (c *Cleaner) ResetCounts() { c.counts = Counts{} }

// sonicAPI skips the keys the cleaner does not read without validating
// them: the array splitter has already checked the document's structure
// (brackets and strings), and the decoded keys are fully validated.
// Keys are matched case-sensitively, as Python's dict does ("Text" is not
// "text"), which also spares sonic a case-insensitive lookup of every
// unknown key.
var sonicAPI = sonic.Config{NoValidateJSONSkip: true, CaseSensitive: true}.Froze()

// DecodePrefix decodes the document at the start of buf, which may be
// followed by other data, and returns the number of bytes it used. It
// fails when buf does not start with a complete document that decodes;
// the caller then isolates the document and calls Decode (or Clean),
// which reports the problem. The Document refers to buf.
func (c *Cleaner) DecodePrefix(buf []byte) (*Document, int, bool) {
	if len(buf) == 0 || buf[0] != '{' {
		return nil, 0, false
	}
	d := c.resetDoc()
	c.dec.Reset(unsafe.String(&buf[0], len(buf)))
	c.dec.SetOptions(decoder.OptionNoValidateJSON | decoder.OptionCaseSensitive)
	err := c.dec.Decode(d)
	c.afterDecode(d)
	if err != nil {
		return nil, 0, false
	}
	n := c.dec.Pos()
	if n <= 0 || n > len(buf) || buf[n-1] != '}' {
		return nil, 0, false
	}
	if _, err := c.check(d); err != nil {
		return nil, 0, false
	}
	c.raw = buf[:n]
	return d, n, true
}

// Decode decodes one raw document with sonic into c's reusable Document,
// checks its required keys and parses its boundary lists. The Document
// refers to raw: it is valid until the next call.
func (c *Cleaner) Decode(raw []byte) (*Document, error) {
	c.raw = raw
	c.badTri = TripleProblem{}
	if msg := notObject(raw); msg != "" {
		c.doc = Document{}
		return nil, &DocumentError{Msg: msg, Triple: -1}
	}
	d := c.resetDoc()
	// No copy of the input: the decoded strings may refer to raw.
	err := sonicAPI.UnmarshalFromString(unsafe.String(&raw[0], len(raw)), d)
	c.afterDecode(d)
	if err != nil {
		return nil, &DocumentError{Msg: describeInvalid(raw, err), Triple: -1}
	}
	return c.check(d)
}

// resetDoc empties c.doc for the next decode, handing sonic the reusable
// triples array with every element zero (sonic does not clear the
// elements it reuses, and a key missing from a triple must stay nil).
func (c *Cleaner) resetDoc() *Document {
	clear(c.triples[:c.dirty])
	c.dirty = 0
	c.doc = Document{Triples: c.triples[:0]}
	return &c.doc
}

// afterDecode takes back the triples array after a decode (sonic may have
// grown it) and restores the meaning of a nil Triples: key missing.
func (c *Cleaner) afterDecode(d *Document) {
	t := d.Triples
	switch {
	case cap(t) > 0 && unsafe.SliceData(t) == unsafe.SliceData(c.triples):
		// Ours, used for len(t) elements; an untouched (len 0) array means
		// the key was missing ("triples": [] gives another, empty slice).
		c.dirty = len(t)
		if len(t) == 0 {
			d.Triples = nil
		}
	case cap(t) > 0:
		// Grown by sonic: its elements past len(t) are zero.
		c.triples, c.dirty = t[:cap(t)], len(t)
	default:
		// null, [] or a failed decode: what sonic wrote to our array
		// before is unknown, so clear it all next time.
		c.dirty = len(c.triples)
	}
}

// check validates the required keys of a decoded document and parses its
// boundary lists.
func (c *Cleaner) check(d *Document) (*Document, error) {
	switch {
	case d.Text == nil:
		return nil, &DocumentError{Msg: `key "text" is missing or null`, Triple: -1}
	case d.Triples == nil:
		return nil, &DocumentError{Msg: `key "triples" is missing or null`, Triple: -1}
	case isNull(d.SentencesBoundaries):
		return nil, &DocumentError{Msg: `key "sentences_boundaries" is missing or null`, Triple: -1}
	case isNull(d.WordsBoundaries):
		return nil, &DocumentError{Msg: `key "words_boundaries" is missing or null`, Triple: -1}
	}
	// docid is read when the first example is made, as the original
	// reads ele['docid'] only when it appends one.
	c.docID = ""
	var ok bool
	if c.sents, ok = parsePairs(d.SentencesBoundaries, c.sents[:0]); !ok {
		return nil, &DocumentError{Msg: `key "sentences_boundaries" is not a list of [start, end] integer pairs`, Triple: -1}
	}
	if c.words, ok = parsePairs(d.WordsBoundaries, c.words[:0]); !ok {
		return nil, &DocumentError{Msg: `key "words_boundaries" is not a list of [start, end] integer pairs`, Triple: -1}
	}
	return d, nil
}

// shortErr is the first line of err's message, at most 300 bytes.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// Clean decodes one raw document and calls emit for each example it
// yields, in triple order. A document that cannot be decoded is counted
// as malformed and returned as a *DocumentError (no example is emitted);
// an error from emit stops the document and is returned as is.
func (c *Cleaner) Clean(raw []byte, emit func(*Example) error) error {
	d, err := c.Decode(raw)
	if err != nil {
		c.counts.MalformedDocuments++
		return err
	}
	return c.CleanDocument(d, emit)
}

// lastComponent is Python's s.split("/")[-1].
func lastComponent(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// CleanDocument runs the original loops on the document last returned by
// Decode. A document whose first example finds no string "docid" is
// counted as malformed (and none of its triples is counted) and returned
// as a *DocumentError.
func (c *Cleaner) CleanDocument(d *Document, emit func(*Example) error) error {
	before := c.counts
	c.badTri = TripleProblem{}
	c.counts.Documents++
	c.counts.Triples += int64(len(d.Triples))
	text := *d.Text
	c.prepared = false
	haveID := false
	nsent := len(c.sents) / 2
	if cap(c.sentIdx) < nsent {
		c.sentIdx = make([][]int32, nsent)
		c.sentDone = make([]bool, nsent)
		c.sentTok = make([][]string, nsent)
		c.tokDone = make([]bool, nsent)
	}
	c.sentIdx = c.sentIdx[:nsent]
	c.sentDone = c.sentDone[:nsent]
	c.sentTok = c.sentTok[:nsent]
	c.tokDone = c.tokDone[:nsent]
	clear(c.sentDone)
	clear(c.tokDone)
	var ex Example
	for ti := range d.Triples {
		tri := &d.Triples[ti]
		// The original reads sentences_boundaries[sentence_id] first.
		sid, ok := parseInt(tri.SentenceID)
		if !ok || sid < 0 || sid >= int64(nsent) {
			c.counts.BadSentenceID++
			c.noteBad(ti, tri, ReasonBadSentenceID, nsent)
			continue
		}
		subjURI, ok1 := parseString(tri.Subject.URI)
		objURI, ok2 := parseString(tri.Object.URI)
		predURI, ok3 := parseString(tri.Predicate.URI)
		if !ok1 || !ok2 || !ok3 {
			c.counts.MalformedTriples++
			c.noteBad(ti, tri, ReasonMalformedTriple, 0)
			continue
		}
		s0, s1, sst := parseBoundaries(tri.Subject.Boundaries)
		o0, o1, ost := parseBoundaries(tri.Object.Boundaries)
		if sst == bndBad || ost == bndBad {
			c.counts.MalformedTriples++
			c.noteBad(ti, tri, ReasonMalformedTriple, 0)
			continue
		}
		if sst == bndFalsy || ost == bndFalsy { // Python: `if entity1_index and entity2_index`
			c.counts.NullBoundaries++
			continue
		}
		if sst == bndShort || ost == bndShort {
			c.counts.MalformedTriples++
			c.noteBad(ti, tri, ReasonMalformedTriple, 0)
			continue
		}
		words := c.sentenceWords(int(sid))
		// The in-place rewrite of the original, on local copies (quirk 28):
		// once a boundary matched, later words are compared with the word
		// index that replaced the character offset.
		count := 0
		for j, wi := range words {
			w0, w1 := c.words[2*wi], c.words[2*wi+1]
			if w0 == s0 {
				s0 = int64(j)
				count++
			}
			if w1 == s1 {
				s1 = int64(j)
				count++
			}
			if w0 == o0 {
				o0 = int64(j)
				count++
			}
			if w1 == o1 {
				o1 = int64(j)
				count++
			}
		}
		if count != 4 {
			c.counts.Unaligned++
			continue
		}
		if !haveID {
			id, ok := parseString(d.DocID)
			if !ok {
				// The original raises KeyError here; nothing of this
				// document was emitted yet.
				c.counts = before
				c.counts.MalformedDocuments++
				c.badTri = TripleProblem{}
				return &DocumentError{Msg: fmt.Sprintf(`key "docid" is missing or not a string, and triple %d makes an example`, ti), Triple: ti}
			}
			c.docID, haveID = lastComponent(id), true
		}
		if !c.prepared {
			c.prepareText(text)
			if c.replaced && hasLoneSurrogate(c.raw) {
				c.counts.LoneSurrogates++
			}
		}
		// The tokens of a sentence are shared by its examples.
		toks := c.sentTok[sid]
		if !c.tokDone[sid] {
			toks = toks[:0]
			for _, wi := range words {
				toks = append(toks, c.slice(text, c.words[2*wi], c.words[2*wi+1]))
			}
			c.sentTok[sid], c.tokDone[sid] = toks, true
		}
		ex = Example{
			DocID:     c.docID,
			Tokens:    toks,
			Relation:  lastComponent(predURI),
			SubjStart: s0, SubjEnd: s1, ObjStart: o0, ObjEnd: o1,
			SubjLabel: lastComponent(subjURI),
			ObjLabel:  lastComponent(objURI),
		}
		c.counts.Examples++
		if err := emit(&ex); err != nil {
			return err
		}
	}
	return nil
}

// sentenceWords returns the indices of the words lying entirely inside
// sentence sid, in file order (quirk 29: straddling words are excluded).
func (c *Cleaner) sentenceWords(sid int) []int32 {
	if c.sentDone[sid] {
		return c.sentIdx[sid]
	}
	lo, hi := c.sents[2*sid], c.sents[2*sid+1]
	idx := c.sentIdx[sid][:0]
	w := c.words
	for i := 0; i+1 < len(w); i += 2 {
		if w[i] >= lo && w[i+1] <= hi {
			idx = append(idx, int32(i/2))
		}
	}
	c.sentIdx[sid] = idx
	c.sentDone[sid] = true
	return idx
}

// prepareText indexes the code points of text. Between two non-ASCII
// characters every code point is one byte, so only a breakpoint after each
// non-ASCII character is kept: (code point index, byte index) just after
// it. Mostly-ASCII text costs one fast pass and a few breakpoints.
func (c *Cleaner) prepareText(text string) {
	c.prepared = true
	c.replaced = false
	c.ascii = true
	c.cpHint = 0
	bp := c.cp[:0]
	var cps int64
	i := 0
	tb := unsafe.Slice(unsafe.StringData(text), len(text))
	for i < len(text) {
		// Skip ASCII eight bytes at a time (one load each).
		for i+8 <= len(tb) && binary.LittleEndian.Uint64(tb[i:])&0x8080808080808080 == 0 {
			i += 8
			cps += 8
		}
		if i >= len(text) {
			break
		}
		if text[i] < utf8.RuneSelf {
			i++
			cps++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError {
			c.replaced = true
		}
		i += n
		cps++
		bp = append(bp, int32(cps), int32(i))
		c.ascii = false
	}
	c.cp = bp
	c.textLen = cps
}

// byteOffset converts a code point index (0 <= cp <= textLen) of the
// prepared text to a byte index.
func (c *Cleaner) byteOffset(cp int64) int {
	bp := c.cp
	n := len(bp) / 2
	// lo = the number of breakpoints whose code point index is <= cp.
	// Tokens are mostly sliced in text order: start from the previous
	// answer and step forward a little, else search.
	lo := min(c.cpHint, n)
	if lo > 0 && int64(bp[2*(lo-1)]) > cp {
		lo = c.searchBreak(cp)
	} else {
		for steps := 0; lo < n && int64(bp[2*lo]) <= cp; steps++ {
			if steps == 8 {
				lo = c.searchBreak(cp)
				break
			}
			lo++
		}
	}
	c.cpHint = lo
	if lo == 0 {
		return int(cp)
	}
	return int(bp[2*(lo-1)+1]) + int(cp-int64(bp[2*(lo-1)]))
}

// searchBreak is the number of breakpoints whose code point index is
// <= cp (binary search).
func (c *Cleaner) searchBreak(cp int64) int {
	bp := c.cp
	lo, hi := 0, len(bp)/2
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int64(bp[2*m]) <= cp {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// slice is Python's text[a:b] on code points.
func (c *Cleaner) slice(text string, a, b int64) string {
	n := c.textLen
	a, b = pyIndex(a, n), pyIndex(b, n)
	if a >= b {
		return ""
	}
	if c.ascii {
		return text[a:b]
	}
	return text[c.byteOffset(a):c.byteOffset(b)]
}

// pyIndex normalises a slice bound the way Python does for str slices.
func pyIndex(i, n int64) int64 {
	if i < 0 {
		i += n
		if i < 0 {
			return 0
		}
	}
	if i > n {
		return n
	}
	return i
}
