package tokenizer

import (
	"runtime"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Encoding is a tokenized text or pair of texts, in the layout Hugging
// Face's Encoding has. All slices have the same length.
type Encoding struct {
	// IDs are the token ids, <s>/</s> included unless NoSpecialTokens.
	IDs []int
	// Tokens are the tokens' spellings: the byte-level vocabulary form for
	// BPE tokens ("Ġworld"), the matched text for added tokens (with the
	// whitespace an lstrip token took, as Hugging Face reports it).
	Tokens []string
	// Offsets are UTF-8 byte ranges [start, end) into the text the token
	// came from (the second text for the second sequence of a pair); [0, 0]
	// for template tokens and padding. They are trimmed as RoBERTa's post-
	// processor trims them (a leading "Ġ" is not part of the range) and
	// always fall on character boundaries.
	Offsets [][2]int
	// WordIDs number the pre-tokens ("words") of each sequence from 0
	// (an added token found in the text is a word); -1 for template tokens
	// and padding.
	WordIDs []int
	// SequenceIDs are 0 for tokens of the first text, 1 for the second,
	// -1 for template tokens and padding.
	SequenceIDs []int
	// SpecialTokensMask is 1 for template tokens and padding, else 0.
	SpecialTokensMask []int
	// AttentionMask is 1 for every token but padding.
	AttentionMask []int
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

// TruncationStrategy says which text of a pair loses tokens.
type TruncationStrategy int

// Truncation strategies, as in Hugging Face.
const (
	// LongestFirst shortens the longer text first; when both are too long
	// each gets half of the room (the longer one the odd token).
	LongestFirst TruncationStrategy = iota
	// OnlyFirst shortens only the first text.
	OnlyFirst
	// OnlySecond shortens only the second text.
	OnlySecond
)

// Options change how Encode and EncodePair work. The zero value (or nil) is
// RoBERTa's default: no prefix space, <s>/</s> added, no truncation, no
// padding.
type Options struct {
	// AddPrefixSpace adds a space before every text piece that does not
	// start with one, and keeps that space out of the first token's
	// offsets, like add_prefix_space=True in Hugging Face (pre-tokenizer
	// and post-processor). A tokenizer.json that enables it enables it
	// whatever this field says.
	AddPrefixSpace bool
	// NoSpecialTokens leaves out <s> and </s>.
	NoSpecialTokens bool
	// MaxLength truncates so that the encoding, template tokens included,
	// has at most MaxLength tokens; 0 means no truncation. Tokens are
	// removed from the end of the text(s).
	MaxLength int
	// Truncation picks the text of a pair that loses tokens.
	Truncation TruncationStrategy
	// PadToLength pads on the right with <pad> up to this length; 0 means
	// no padding. Longer encodings are left as they are.
	PadToLength int
}

var seqPool = sync.Pool{New: func() any { return new(seq) }}

func getSeq() *seq { return seqPool.Get().(*seq) }

func putSeq(q *seq) {
	if cap(q.ids) > 1<<16 { // do not keep huge buffers around
		return
	}
	clear(q.added[:cap(q.added)]) // drop references to the texts added tokens point into
	seqPool.Put(q)
}

// seq is one tokenized text before the template is applied.
type seq struct {
	ids     []int32
	added   []addedValue // spellings of the added tokens matched in the text (BPE tokens are spelled from their id)
	offsets bool         // offs and words are filled
	offs    [][2]int
	words   []int
}

// addedValue is the text an added token matched (with the whitespace an
// lstrip/rstrip token took), at token index pos of its sequence.
type addedValue struct {
	pos int
	val string
}

// fixMissingBytes replaces the tokens of bytes missing from the vocabulary
// (id -1) by unk, or drops them when there is no <unk> (as Hugging Face's BPE
// without unk_token does).
func (q *seq) fixMissingBytes(unk int32) {
	missing := false
	for _, id := range q.ids {
		if id < 0 {
			missing = true
			break
		}
	}
	if !missing {
		return
	}
	k, a := 0, 0
	for i, id := range q.ids {
		for a < len(q.added) && q.added[a].pos < i {
			a++
		}
		if id < 0 {
			if unk < 0 {
				continue
			}
			id = unk
		}
		q.ids[k] = id
		if q.offsets {
			q.offs[k], q.words[k] = q.offs[i], q.words[i]
		}
		if a < len(q.added) && q.added[a].pos == i {
			q.added[a].pos = k
		}
		k++
	}
	q.ids = q.ids[:k]
	if q.offsets {
		q.offs, q.words = q.offs[:k], q.words[:k]
	}
}

func (q *seq) truncate(n int) {
	if n < 0 {
		n = 0
	}
	if len(q.ids) > n {
		q.ids = q.ids[:n]
		if q.offsets {
			q.offs, q.words = q.offs[:n], q.words[:n]
		}
		for len(q.added) > 0 && q.added[len(q.added)-1].pos >= n {
			q.added = q.added[:len(q.added)-1]
		}
	}
}

// Encode tokenizes one text as Hugging Face's tokenizer does with RoBERTa's
// tokenizer.json. opts may be nil.
func (t *Tokenizer) Encode(text string, opts *Options) *Encoding {
	if opts == nil {
		opts = &Options{}
	}
	a := t.encodeSeq(getSeq(), text, opts.AddPrefixSpace || t.addPrefixSpace, true)
	defer putSeq(a)
	if opts.MaxLength > 0 {
		room := opts.MaxLength
		if !opts.NoSpecialTokens {
			room -= 2
		}
		a.truncate(room)
	}
	return t.assemble(a, nil, opts)
}

// EncodePair tokenizes a pair of texts with RoBERTa's pair template
// <s> A </s></s> B </s>. opts may be nil.
func (t *Tokenizer) EncodePair(first, second string, opts *Options) *Encoding {
	if opts == nil {
		opts = &Options{}
	}
	prefix := opts.AddPrefixSpace || t.addPrefixSpace
	a := t.encodeSeq(getSeq(), first, prefix, true)
	defer putSeq(a)
	b := t.encodeSeq(getSeq(), second, prefix, true)
	defer putSeq(b)
	if opts.MaxLength > 0 {
		room := opts.MaxLength
		if !opts.NoSpecialTokens {
			room -= 4
		}
		truncatePair(a, b, max(room, 0), opts.Truncation)
	}
	return t.assemble(a, b, opts)
}

// truncatePair follows tokenizers' truncate_encodings (utils/truncation.rs):
// with LongestFirst the shorter text is kept whole when the longer one can
// make room; otherwise each gets half of room, the longer one the odd token.
// No room at all empties both.
func truncatePair(a, b *seq, room int, strategy TruncationStrategy) {
	n1, n2 := len(a.ids), len(b.ids)
	if room == 0 { // tokenizers empties both when no room is left
		a.truncate(0)
		b.truncate(0)
		return
	}
	if n1+n2 <= room {
		return
	}
	remove := n1 + n2 - room
	switch strategy {
	case OnlyFirst:
		a.truncate(n1 - remove)
	case OnlySecond:
		b.truncate(n2 - remove)
	default:
		swap := false
		if n1 > n2 {
			swap = true
			n1, n2 = n2, n1
		}
		if n1 > room {
			n2 = n1
		} else {
			n2 = max(n1, room-n1)
		}
		if n1+n2 > room {
			n1 = room / 2
			n2 = n1 + room%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		a.truncate(n1)
		b.truncate(n2)
	}
}

func (t *Tokenizer) assemble(a, b *seq, opts *Options) *Encoding {
	special := !opts.NoSpecialTokens
	n := len(a.ids)
	if b != nil {
		n += len(b.ids)
	}
	if special {
		n += 2
		if b != nil {
			n += 2
		}
	}
	size := max(n, opts.PadToLength)
	ints := make([]int, 5*size) // one backing array for the five int columns
	col := func(k int) []int { return ints[k*size : k*size+n : (k+1)*size] }
	e := &Encoding{
		IDs: col(0), Tokens: make([]string, n, size), Offsets: make([][2]int, n, size),
		WordIDs: col(1), SequenceIDs: col(2), SpecialTokensMask: col(3), AttentionMask: col(4),
	}
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	pos := 0
	addSpecial := func(id int32) {
		e.IDs[pos] = int(id)
		e.Tokens[pos] = t.spelling(id)
		e.WordIDs[pos] = -1
		e.SequenceIDs[pos] = -1
		e.SpecialTokensMask[pos] = 1
		pos++
	}
	addSeq := func(q *seq, sid int) {
		m := len(q.ids)
		ids := e.IDs[pos : pos+m]
		for i, id := range q.ids {
			ids[i] = int(id)
		}
		toks := e.Tokens[pos : pos+m]
		for i, id := range q.ids {
			toks[i] = t.spelling(id)
		}
		for _, a := range q.added {
			toks[a.pos] = a.val
		}
		copy(e.Offsets[pos:pos+m], q.offs)
		copy(e.WordIDs[pos:pos+m], q.words)
		if sid != 0 {
			seqIDs := e.SequenceIDs[pos : pos+m]
			for i := range seqIDs {
				seqIDs[i] = sid
			}
		}
		pos += m
	}
	if special {
		addSpecial(t.bos)
	}
	addSeq(a, 0)
	if special {
		addSpecial(t.eos)
	}
	if b != nil {
		if special {
			addSpecial(t.eos)
		}
		addSeq(b, 1)
		if special {
			addSpecial(t.eos)
		}
	}
	if opts.PadToLength > 0 {
		e.Pad(opts.PadToLength, int(t.pad))
	}
	return e
}

// Pad appends padding tokens (id padID, attention 0, spelled "<pad>"
// whatever the id) on the right until the encoding has length tokens.
func (e *Encoding) Pad(length, padID int) {
	for len(e.IDs) < length {
		e.IDs = append(e.IDs, padID)
		e.Tokens = append(e.Tokens, "<pad>")
		e.Offsets = append(e.Offsets, [2]int{})
		e.WordIDs = append(e.WordIDs, -1)
		e.SequenceIDs = append(e.SequenceIDs, -1)
		e.SpecialTokensMask = append(e.SpecialTokensMask, 1)
		e.AttentionMask = append(e.AttentionMask, 0)
	}
}

// EncodeBatch encodes texts on all CPUs (the result keeps the input order).
// With opts.PadToLength < 0 every encoding is padded to the longest one.
func (t *Tokenizer) EncodeBatch(texts []string, opts *Options) []*Encoding {
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	longest := o.PadToLength < 0
	if longest {
		o.PadToLength = 0
	}
	out := make([]*Encoding, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var wg sync.WaitGroup
	var next int64
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next += 16
				mu.Unlock()
				if int(i) >= len(texts) {
					return
				}
				for j := int(i); j < min(int(i)+16, len(texts)); j++ {
					out[j] = t.Encode(texts[j], &o)
				}
			}
		}()
	}
	wg.Wait()
	if longest {
		n := 0
		for _, e := range out {
			n = max(n, e.Len())
		}
		for _, e := range out {
			e.Pad(n, int(t.pad))
		}
	}
	return out
}

// AppendIDs appends the ids of text (no <s>/</s>, no offsets) to dst: the
// fast path for callers that need ids only. The ids equal Encode's.
func (t *Tokenizer) AppendIDs(dst []int, text string, addPrefixSpace bool) []int {
	q := t.encodeSeq(getSeq(), text, addPrefixSpace || t.addPrefixSpace, false)
	for _, id := range q.ids {
		dst = append(dst, int(id))
	}
	putSeq(q)
	return dst
}

func (t *Tokenizer) spelling(id int32) string {
	if id >= 0 && int(id) < len(t.tokens) {
		return t.tokens[id]
	}
	return ""
}

// encodeSeq runs added-token matching, pre-tokenization and BPE on one text
// and, when withOffsets, the tokens' spellings, offsets and word ids.
func (t *Tokenizer) encodeSeq(q *seq, text string, prefix, withOffsets bool) *seq {
	s, orig := sanitize(text)
	q.ids, q.added, q.offs, q.words = q.ids[:0], q.added[:0], q.offs[:0], q.words[:0]
	q.offsets = withOffsets
	var segBuf [8]segment
	segs := t.splitAdded(segBuf[:0], s)
	word := 0
	for _, sg := range segs {
		if sg.tok >= 0 {
			a := t.added[sg.tok]
			q.ids = append(q.ids, a.id)
			if withOffsets {
				val := s[sg.start:sg.end]
				q.added = append(q.added, addedValue{len(q.ids) - 1, val})
				q.offs = append(q.offs, t.trimAdded(s, sg.start, sg.end, len(q.ids)-1, prefix))
				q.words = append(q.words, word)
			}
			word++
			continue
		}
		piece := s[sg.start:sg.end]
		shift := 0
		work := piece
		if prefix && piece[0] != ' ' {
			work = " " + piece
			shift = 1
		}
		for i := 0; i < len(work); {
			j := nextWord(work, i)
			n := len(q.ids)
			q.ids = t.wordIDs(q.ids, work[i:j])
			if withOffsets {
				p := i
				for _, id := range q.ids[n:] {
					l := 1 // a byte missing from the vocabulary
					if id >= 0 {
						l = int(t.tokLen[id])
					}
					if l <= 0 || p+l > j { // cannot happen with a consistent vocabulary
						l = j - p
					}
					q.offs = append(q.offs, t.tokenOffsets(s, sg.start, work[p:p+l], p-shift, p+l-1-shift, len(q.offs), prefix))
					q.words = append(q.words, word)
					p += l
				}
			}
			word++
			i = j
		}
	}
	q.fixMissingBytes(t.unk)
	if withOffsets && orig != nil {
		for k := range q.offs {
			q.offs[k] = [2]int{int(orig[q.offs[k][0]]), int(orig[q.offs[k][1]])}
		}
	}
	return q
}

// tokenOffsets returns the offsets in s of a BPE token of the piece that
// starts at base in s. raw is the token's bytes in the (possibly
// space-prefixed) pre-token; first and last index its first and last byte in
// the piece (-1 for the prefix space, which stands for the piece's first
// character).
func (t *Tokenizer) tokenOffsets(s string, base int, raw string, first, last, idx int, prefix bool) [2]int {
	first, last = base+max(first, 0), base+max(last, 0)
	for first > 0 && s[first]&0xC0 == 0x80 {
		first--
	}
	end := last + 1
	for end < len(s) && s[end]&0xC0 == 0x80 {
		end++
	}
	off := [2]int{first, end}
	if !t.trimOffsets {
		return off
	}
	lead, trail := 0, 0
	for lead < len(raw) && raw[lead] == ' ' {
		lead++
	}
	for trail < len(raw) && raw[len(raw)-1-trail] == ' ' {
		trail++
	}
	return trim(s, off, lead, trail, idx, prefix)
}

// trimAdded applies the offset trimming to an added token whose matched text
// (s[start:end]) may hold whitespace taken by lstrip/rstrip.
func (t *Tokenizer) trimAdded(s string, start, end, idx int, prefix bool) [2]int {
	off := [2]int{start, end}
	if !t.trimOffsets {
		return off
	}
	val := s[start:end]
	lead, trail := 0, 0
	for _, r := range val {
		if r != 'Ġ' && !unicode.IsSpace(r) {
			break
		}
		lead++
	}
	for rest := val; len(rest) > 0; {
		r, w := utf8.DecodeLastRuneInString(rest)
		if r != 'Ġ' && !unicode.IsSpace(r) {
			break
		}
		trail++
		rest = rest[:len(rest)-w]
	}
	return trim(s, off, lead, trail, idx, prefix)
}

// trim is tokenizers' process_offsets (the RobertaProcessing post-processor
// with trim_offsets) for one token: lead and trail count the whitespace
// characters ("Ġ") at the ends of its spelling, and as many characters are
// taken off each end of its range. The bindings run it on character offsets
// (encode_char_offsets), so the counts are characters of s, not bytes.
func trim(s string, off [2]int, lead, trail, idx int, prefix bool) [2]int {
	if lead > 0 {
		isFirst := idx == 0 || off[0] == 0
		if isFirst && prefix && lead == 1 {
			lead = 0
		}
		p := off[0]
		for k := 0; k < lead && p < off[1]; k++ {
			_, w := utf8.DecodeRuneInString(s[p:])
			p += w
		}
		off[0] = min(p, off[1])
	}
	if trail > 0 {
		p, k := off[1], 0
		for ; k < trail && p > 0; k++ {
			_, w := utf8.DecodeLastRuneInString(s[:p])
			p -= w
		}
		if k == trail { // offsets.1 >= trailing_spaces, in characters
			off[1] = max(p, off[0])
		}
	}
	return off
}
