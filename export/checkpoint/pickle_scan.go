package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// source is a sequential reader over a checkpoint that knows how many bytes
// are left, so that no length read from the file can make us allocate more
// than the file holds.
type source struct {
	r    *bufio.Reader
	off  int64
	size int64
}

func newSource(r io.ReaderAt, off, size int64) *source {
	return &source{r: bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 1<<16), off: off, size: size}
}

func (s *source) remaining() int64 { return s.size - s.off }

// ReadByte implements io.ByteReader over the bounded source.
func (s *source) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, io.ErrUnexpectedEOF
	}
	s.off++
	return b, nil
}

func (s *source) readFull(p []byte) error {
	if int64(len(p)) > s.remaining() {
		return io.ErrUnexpectedEOF
	}
	n, err := io.ReadFull(s.r, p)
	s.off += int64(n)
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Pickle opcodes by argument layout (see Python's pickletools).
const (
	opStop = '.'
)

var errPickleTooBig = errors.New("pickle is larger than the limit")

// scanPickle copies one complete pickle (up to and including STOP) from s,
// checking every length field against the bytes left in the file, so that the
// unpickler that later runs on the copy cannot be asked to allocate more than
// the file holds. It rejects unknown opcodes.
func scanPickle(s *source, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	tmp := make([]byte, 8)
	copyN := func(n int64) error {
		if n < 0 || n > s.remaining() {
			return fmt.Errorf("pickle argument of %d bytes at offset %d runs past the end of the file: %w", n, s.off, io.ErrUnexpectedEOF)
		}
		if int64(buf.Len())+n > limit {
			return errPickleTooBig
		}
		m, err := io.CopyN(&buf, s.r, n)
		s.off += m
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	readArg := func(n int) ([]byte, error) {
		if err := s.readFull(tmp[:n]); err != nil {
			return nil, err
		}
		buf.Write(tmp[:n])
		return tmp[:n], nil
	}
	readLine := func() error {
		for i := 0; i < 1<<16; i++ {
			b, err := s.ReadByte()
			if err != nil {
				return err
			}
			buf.WriteByte(b)
			if b == '\n' {
				return nil
			}
		}
		return fmt.Errorf("pickle text argument longer than 64 KiB at offset %d", s.off)
	}
	for {
		start := s.off
		op, err := s.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("pickle ends before its STOP opcode: %w", io.ErrUnexpectedEOF)
		}
		buf.WriteByte(op)
		switch op {
		case opStop:
			return buf.Bytes(), nil
		// no argument
		case '(', '0', '1', '2', 'N', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u', 'Q',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94:
		// fixed-size arguments
		case 'K', 'h', 'q', 0x80, 0x82:
			_, err = readArg(1)
		case 'M', 0x83:
			_, err = readArg(2)
		case 'J', 'j', 'r', 0x84:
			_, err = readArg(4)
		case 'G':
			_, err = readArg(8)
		case 0x95: // FRAME: 8-byte length of the frame that follows; the frame holds ordinary opcodes
			var a []byte
			if a, err = readArg(8); err == nil {
				if n := binary.LittleEndian.Uint64(a); n > uint64(s.remaining()) {
					err = fmt.Errorf("pickle frame of %d bytes runs past the end of the file: %w", n, io.ErrUnexpectedEOF)
				}
			}
		// 1-byte length
		case 'U', 0x8a, 0x8c, 'C':
			var a []byte
			if a, err = readArg(1); err == nil {
				err = copyN(int64(a[0]))
			}
		// 4-byte length
		case 'T', 'X', 0x8b, 'B':
			var a []byte
			if a, err = readArg(4); err == nil {
				n := int64(binary.LittleEndian.Uint32(a))
				if op == 'T' || op == 0x8b {
					n = int64(int32(binary.LittleEndian.Uint32(a)))
				}
				err = copyN(n)
			}
		// 8-byte length
		case 0x8d, 0x8e, 0x96:
			var a []byte
			if a, err = readArg(8); err == nil {
				n := binary.LittleEndian.Uint64(a)
				if n > uint64(s.remaining()) {
					err = fmt.Errorf("pickle argument of %d bytes runs past the end of the file: %w", n, io.ErrUnexpectedEOF)
				} else {
					err = copyN(int64(n))
				}
			}
		// newline-terminated text argument
		case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p':
			err = readLine()
		// two text lines
		case 'c', 'i':
			if err = readLine(); err == nil {
				err = readLine()
			}
		default:
			return nil, fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, start)
		}
		if err != nil {
			return nil, err
		}
		if int64(buf.Len()) > limit {
			return nil, errPickleTooBig
		}
	}
}
