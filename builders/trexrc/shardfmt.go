package trexrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// The shard of an input is a compact binary file, written once in pass 1
// and read once in pass 2, so that the second pass copies bytes instead of
// decoding Arrow or JSON:
//
//	header   shardMagic (8 bytes)
//	record*  uvarint(len(body)) body
//	body     str(docid) uvarint(#tokens) str(token)* varint(subj_start)
//	         varint(subj_end) varint(obj_start) varint(obj_end)
//	         str(subj_label) str(obj_label)
//	str(s)   uvarint(len(s)) s
//
// The relation and the content hash of record i are entry i of the key
// file (see keysPath), which the split draw reads on its own.
var shardMagic = []byte("KTREXSH\x03")

// shardBufSize is the write buffer of a shard and the initial read buffer.
const shardBufSize = 1 << 20

// uvarintLen is the size of binary.AppendUvarint(nil, v).
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendShardRecord appends ex as one shard record (length prefix
// included) to b.
func appendShardRecord(b []byte, ex *trex.Example) []byte {
	strLen := func(s string) int { return uvarintLen(uint64(len(s))) + len(s) }
	n := strLen(ex.DocID) + uvarintLen(uint64(len(ex.Tokens))) + strLen(ex.SubjLabel) + strLen(ex.ObjLabel)
	for _, t := range ex.Tokens {
		n += strLen(t)
	}
	for _, v := range [4]int64{ex.SubjStart, ex.SubjEnd, ex.ObjStart, ex.ObjEnd} {
		n += uvarintLen(uint64(v<<1) ^ uint64(v>>63)) // zig-zag, as AppendVarint
	}
	b = binary.AppendUvarint(b, uint64(n))
	start := len(b)
	str := func(b []byte, s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	b = str(b, ex.DocID)
	b = binary.AppendUvarint(b, uint64(len(ex.Tokens)))
	for _, t := range ex.Tokens {
		b = str(b, t)
	}
	b = binary.AppendVarint(b, ex.SubjStart)
	b = binary.AppendVarint(b, ex.SubjEnd)
	b = binary.AppendVarint(b, ex.ObjStart)
	b = binary.AppendVarint(b, ex.ObjEnd)
	b = str(b, ex.SubjLabel)
	b = str(b, ex.ObjLabel)
	if len(b)-start != n {
		panic("trexrc: shard record length mismatch")
	}
	return b
}

// shardRecord is a decoded shard record; its byte slices point into the
// reader's buffer and are valid until the next call of shardReader.next.
type shardRecord struct {
	docID        []byte
	tokens       [][]byte
	ints         [4]int64 // subj_start, subj_end, obj_start, obj_end
	subjL, objL  []byte
	tokensLength int // total bytes of the tokens
}

var errBadRecord = errors.New("corrupt record")

// decode parses a record body.
func (x *shardRecord) decode(b []byte) error {
	i := 0
	str := func() ([]byte, bool) {
		n, k := binary.Uvarint(b[i:])
		if k <= 0 || n > uint64(len(b)-i-k) {
			return nil, false
		}
		i += k
		s := b[i : i+int(n) : i+int(n)]
		i += int(n)
		return s, true
	}
	var ok bool
	if x.docID, ok = str(); !ok {
		return errBadRecord
	}
	nt, k := binary.Uvarint(b[i:])
	if k <= 0 || nt > uint64(len(b)-i-k) {
		return errBadRecord
	}
	i += k
	x.tokens = x.tokens[:0]
	x.tokensLength = 0
	for j := uint64(0); j < nt; j++ {
		t, ok := str()
		if !ok {
			return errBadRecord
		}
		x.tokens = append(x.tokens, t)
		x.tokensLength += len(t)
	}
	for j := range x.ints {
		v, k := binary.Varint(b[i:])
		if k <= 0 {
			return errBadRecord
		}
		x.ints[j] = v
		i += k
	}
	if x.subjL, ok = str(); !ok {
		return errBadRecord
	}
	if x.objL, ok = str(); !ok {
		return errBadRecord
	}
	if i != len(b) {
		return errBadRecord
	}
	return nil
}

// shardReader reads the records of a shard with one reusable buffer.
type shardReader struct {
	f    *os.File
	path string
	buf  []byte
	r, w int
	eof  bool
	off  int64 // file offset of buf[r]
}

func openShard(path string) (*shardReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &shardReader{f: f, path: path, buf: make([]byte, shardBufSize)}
	if err := s.ensure(len(shardMagic)); err != nil || !bytes.Equal(s.buf[:len(shardMagic)], shardMagic) {
		f.Close()
		return nil, fmt.Errorf("%s: not a kprep trex shard of format %d", path, shardFormat)
	}
	s.r = len(shardMagic)
	s.off = int64(s.r)
	return s, nil
}

func (s *shardReader) close() { s.f.Close() }

// ensure makes at least n bytes available in buf[r:w], unless the file
// ends first (then it returns io.ErrUnexpectedEOF).
func (s *shardReader) ensure(n int) error {
	if s.w-s.r >= n {
		return nil
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	if n > len(s.buf) {
		nb := make([]byte, max(n, 2*len(s.buf)))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	for s.w < n && !s.eof {
		k, err := s.f.Read(s.buf[s.w:])
		s.w += k
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	if s.w < n {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// next returns the body of the next record, or io.EOF after the last.
func (s *shardReader) next() ([]byte, error) {
	if err := s.ensure(binary.MaxVarintLen64); err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if s.r == s.w {
		return nil, io.EOF
	}
	n, k := binary.Uvarint(s.buf[s.r:s.w])
	if k <= 0 || n > 1<<40 {
		return nil, fmt.Errorf("%s: byte offset %d: %w", s.path, s.off, errBadRecord)
	}
	if err := s.ensure(k + int(n)); err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%s: byte offset %d: truncated record", s.path, s.off)
		}
		return nil, err
	}
	body := s.buf[s.r+k : s.r+k+int(n) : s.r+k+int(n)]
	s.r += k + int(n)
	s.off += int64(k + int(n))
	return body, nil
}

// shardWriter writes one input's shard and key file.
type shardWriter struct {
	f, keys *pipeline.AtomicFile
	buf     []byte // pending shard bytes
	kbuf    []byte // pending key bytes
}

func newShardWriter(path string) (*shardWriter, error) {
	f, err := pipeline.CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	k, err := pipeline.CreateAtomic(keysPath(path))
	if err != nil {
		f.Abort()
		return nil, err
	}
	w := &shardWriter{f: f, keys: k, buf: make([]byte, 0, shardBufSize+64<<10), kbuf: make([]byte, 0, 64<<10+12)}
	w.buf = append(w.buf, shardMagic...)
	return w, nil
}

func (w *shardWriter) abort() {
	w.f.Abort()
	w.keys.Abort()
}

// commit publishes the shard and its key file.
func (w *shardWriter) commit() error {
	if err := w.flush(0, 0); err != nil {
		return err
	}
	if err := w.f.Commit(); err != nil {
		return err
	}
	return w.keys.Commit()
}

// flush writes the pending bytes of the shard when there are at least
// n, and those of the key file when there are at least k.
func (w *shardWriter) flush(n, k int) error {
	if len(w.buf) >= n && len(w.buf) > 0 {
		if _, err := w.f.Write(w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	if len(w.kbuf) >= k && len(w.kbuf) > 0 {
		if _, err := w.keys.Write(w.kbuf); err != nil {
			return err
		}
		w.kbuf = w.kbuf[:0]
	}
	return nil
}

// add appends one example (rel: the index of its relation in the input's
// InputResult.Relations).
func (w *shardWriter) add(ex *trex.Example, rel int) error {
	h := hashExample(ex)
	w.kbuf = binary.LittleEndian.AppendUint64(w.kbuf, h)
	w.kbuf = binary.LittleEndian.AppendUint32(w.kbuf, uint32(rel))
	w.buf = appendShardRecord(w.buf, ex)
	return w.flush(shardBufSize, 64<<10)
}
