package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxElement is the largest JSON array element ArrayReader buffers
// when ArrayOptions.MaxElement is 0 (256 MiB). Larger elements are skipped
// and reported with an *ElementTooLargeError.
const DefaultMaxElement = 256 << 20

// ArrayOptions tunes an ArrayReader.
type ArrayOptions struct {
	// MaxElement is the largest element (in bytes) that is returned; a
	// larger one is skipped without being held in memory and Next returns
	// an *ElementTooLargeError for it. 0 means DefaultMaxElement.
	MaxElement int
	// BufferSize is the initial read buffer (default 1 MiB). The buffer
	// grows to hold the largest element seen, up to MaxElement.
	BufferSize int
}

// SyntaxError reports a structural problem in the JSON array (not a top-level
// array, truncated input, unterminated string, missing comma, trailing
// garbage). The array cannot be read past it.
type SyntaxError struct {
	Name   string // the input's name
	Offset int64  // byte offset in the (decompressed) input
	Msg    string
}

// Error implements error: "NAME: byte offset N: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: byte offset %d: %s", e.Name, e.Offset, e.Msg)
}

// ElementTooLargeError reports an element larger than ArrayOptions.MaxElement.
// The element was skipped; the reader can go on with Next.
type ElementTooLargeError struct {
	Name   string
	Offset int64 // byte offset of the element's first byte
	Index  int   // 0-based element index
	Size   int64 // its size in bytes
	Limit  int
}

// Error implements error.
func (e *ElementTooLargeError) Error() string {
	return fmt.Sprintf("%s: element %d at byte offset %d: %d bytes, larger than the %d-byte limit",
		e.Name, e.Index, e.Offset, e.Size, e.Limit)
}

// ArrayReader splits a stream holding one top-level JSON array into the raw
// bytes of its elements, one at a time, without reading the whole stream
// into memory. A UTF-8 byte order mark before the array is skipped.
//
// The splitter checks structure only (brackets, strings, commas); the bytes
// of each element are not validated and should be given to a real decoder,
// which reports syntax errors inside an element as a bad record.
type ArrayReader struct {
	r       io.Reader
	name    string
	maxElem int

	buf             []byte
	start, pos, end int   // current element start, scan position, end of data
	base            int64 // stream offset of buf[0]
	eof             bool
	readErr         error

	state int // 0 before '[', 1 after '[', 2 after an element, 3 done
	err   error

	index   int   // index of the element being read / last returned
	count   int   // elements read to their end (returned or skipped as too large)
	elemOff int64 // stream offset of the last returned element

	// resumable scan state of the element in progress
	depth    int
	inStr    bool
	esc      bool
	skipping bool  // element exceeded maxElem; bytes are being discarded
	skipped  int64 // bytes discarded so far for a skipped element

	try     func(avail []byte) (int, bool) // NextPrefix's in-place decoder
	decoded bool
}

// NextPrefix is Next for a caller that can decode an element in place,
// which saves the structural scan of the element. At the start of each
// element, try is called with every buffered byte from the element's first
// byte on; when it decodes one complete value it returns the number of
// bytes used and true, and NextPrefix returns those bytes with decoded
// true. Otherwise (the element runs past the buffer, or try fails) the
// element is scanned as Next does and returned with decoded false: the
// caller then decodes the returned bytes itself. Errors are those of Next.
func (a *ArrayReader) NextPrefix(try func(avail []byte) (n int, ok bool)) (elem []byte, decoded bool, err error) {
	a.try, a.decoded = try, false
	elem, err = a.Next()
	a.try = nil
	return elem, a.decoded, err
}

const (
	stBefore = iota
	stFirst
	stAfter
	stDone
)

// NewArrayReader returns a reader of the JSON array in r; name is used in
// error messages.
func NewArrayReader(r io.Reader, name string, opts ArrayOptions) *ArrayReader {
	if opts.MaxElement <= 0 {
		opts.MaxElement = DefaultMaxElement
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 1 << 20
	}
	if opts.BufferSize > opts.MaxElement {
		opts.BufferSize = opts.MaxElement
	}
	if opts.BufferSize < 64 {
		opts.BufferSize = 64
	}
	return &ArrayReader{r: r, name: name, maxElem: opts.MaxElement, buf: make([]byte, opts.BufferSize), index: -1}
}

// Index returns the 0-based index of the element last returned (or being
// skipped); -1 before the first.
func (a *ArrayReader) Index() int { return a.index }

// Count returns the number of elements read to their end so far: those
// returned and those skipped as too large. After a *SyntaxError it is the
// number of complete elements before the problem (0 for an input that is
// not an array).
func (a *ArrayReader) Count() int { return a.count }

// Offset returns the byte offset, in the decompressed stream, of the first
// byte of the element last returned.
func (a *ArrayReader) Offset() int64 { return a.elemOff }

// InputOffset returns how many bytes of the stream have been consumed by
// the splitter so far.
func (a *ArrayReader) InputOffset() int64 { return a.base + int64(a.pos) }

// Next returns the raw bytes of the next element. The slice is valid until
// the next call. At the end of the array it returns io.EOF (after checking
// that only whitespace follows). It returns a *SyntaxError for a structural
// problem (after which every call returns the same error), an
// *ElementTooLargeError for a skipped oversize element (reading can go on),
// or the underlying read error wrapped with the input's name.
func (a *ArrayReader) Next() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	for {
		switch a.state {
		case stBefore:
			if err := a.skipSpace(true); err != nil {
				return nil, a.fail(err)
			}
			if a.pos >= a.end {
				return nil, a.fail(a.syntax("empty input: expected a JSON array"))
			}
			if a.buf[a.pos] != '[' {
				return nil, a.fail(a.syntax(fmt.Sprintf("expected '[' (a top-level JSON array), found %s", quoteByte(a.buf[a.pos]))))
			}
			a.pos++
			a.state = stFirst
		case stFirst, stAfter:
			if err := a.skipSpace(false); err != nil {
				return nil, a.fail(err)
			}
			if a.pos >= a.end {
				return nil, a.fail(a.syntax("unexpected end of input: the JSON array is not closed (truncated file?)"))
			}
			c := a.buf[a.pos]
			if c == ']' {
				a.pos++
				a.state = stDone
				continue
			}
			if a.state == stAfter {
				if c != ',' {
					return nil, a.fail(a.syntax(fmt.Sprintf("expected ',' or ']' after element %d, found %s", a.index, quoteByte(c))))
				}
				a.pos++
				if err := a.skipSpace(false); err != nil {
					return nil, a.fail(err)
				}
				if a.pos >= a.end {
					return nil, a.fail(a.syntax("unexpected end of input after ',' (truncated file?)"))
				}
				if c := a.buf[a.pos]; c == ']' || c == ',' {
					return nil, a.fail(a.syntax(fmt.Sprintf("expected an element after ',', found %s", quoteByte(c))))
				}
			}
			if a.try != nil && a.end > a.pos {
				if n, ok := a.try(a.buf[a.pos:a.end]); ok && n > 0 && n <= a.end-a.pos {
					a.index++
					a.elemOff = a.base + int64(a.pos)
					elem := a.buf[a.pos : a.pos+n]
					a.pos += n
					a.start = a.pos
					a.state = stAfter
					a.decoded = true
					a.count++
					return elem, nil
				}
			}
			elem, err := a.element()
			a.state = stAfter
			if err != nil {
				var tl *ElementTooLargeError
				if errors.As(err, &tl) {
					return nil, err
				}
				return nil, a.fail(err)
			}
			return elem, nil
		case stDone:
			if err := a.skipSpace(false); err != nil {
				return nil, a.fail(err)
			}
			if a.pos < a.end {
				return nil, a.fail(a.syntax(fmt.Sprintf("unexpected %s after the end of the JSON array", quoteByte(a.buf[a.pos]))))
			}
			a.err = io.EOF
			return nil, io.EOF
		}
	}
}

func (a *ArrayReader) fail(err error) error {
	a.err = err
	return err
}

func (a *ArrayReader) syntax(msg string) error {
	return &SyntaxError{Name: a.name, Offset: a.base + int64(a.pos), Msg: msg}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", string(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// fill reads more data, keeping buf[a.start:] (or nothing before a.pos when
// skipping). It returns false at the end of the input.
func (a *ArrayReader) fill() (bool, error) {
	if a.eof {
		return false, a.readErr
	}
	keep := a.start
	if a.skipping || a.state != stFirst && a.state != stAfter || keep > a.pos {
		keep = a.pos
	}
	if a.skipping {
		a.skipped += int64(a.pos - a.start)
		a.start = a.pos
	}
	if keep > 0 {
		n := copy(a.buf, a.buf[keep:a.end])
		a.base += int64(keep)
		a.start -= keep
		if a.start < 0 {
			a.start = 0
		}
		a.pos -= keep
		a.end = n
	}
	if a.end == len(a.buf) {
		// The element in progress fills the buffer: grow it, or start
		// skipping when it is over the limit.
		if len(a.buf) >= a.maxElem {
			if !a.skipping {
				a.skipping = true
				a.skipped = 0
			}
			a.skipped += int64(a.pos - a.start)
			n := copy(a.buf, a.buf[a.pos:a.end])
			a.base += int64(a.pos)
			a.start, a.pos, a.end = 0, 0, n
		} else {
			n := len(a.buf) * 2
			if n > a.maxElem {
				n = a.maxElem
			}
			nb := make([]byte, n)
			copy(nb, a.buf[:a.end])
			a.buf = nb
		}
	}
	for {
		n, err := a.r.Read(a.buf[a.end:])
		a.end += n
		if err != nil {
			a.eof = true
			if err != io.EOF {
				a.readErr = fmt.Errorf("%s: read error at byte offset %d: %w", a.name, a.base+int64(a.end), err)
				if n == 0 {
					return false, a.readErr
				}
			}
			return n > 0, nil
		}
		if n > 0 {
			return true, nil
		}
	}
}

// skipSpace skips JSON whitespace (and a BOM at the very start).
func (a *ArrayReader) skipSpace(bom bool) error {
	for {
		for a.pos < a.end {
			switch a.buf[a.pos] {
			case ' ', '\t', '\n', '\r':
				a.pos++
				continue
			}
			if bom && a.base+int64(a.pos) == 0 && a.buf[a.pos] == 0xEF {
				for a.end-a.pos < 3 && !a.eof {
					if _, err := a.fill(); err != nil {
						return err
					}
				}
				if a.end-a.pos >= 3 && a.buf[a.pos+1] == 0xBB && a.buf[a.pos+2] == 0xBF {
					a.pos += 3
					continue
				}
			}
			return nil
		}
		a.start = a.pos
		ok, err := a.fill()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
}

var structural = func() (t [256]bool) {
	for _, c := range []byte(`"{}[]`) {
		t[c] = true
	}
	return
}()

// element scans one element starting at a.pos.
func (a *ArrayReader) element() ([]byte, error) {
	a.index++
	a.start = a.pos
	startOff := a.base + int64(a.pos)
	a.depth, a.inStr, a.esc, a.skipping, a.skipped = 0, false, false, false, 0
	c := a.buf[a.pos]
	scalar := false
	switch c {
	case '{', '[':
		a.depth = 1
		a.pos++
	case '"':
		a.inStr = true
		a.pos++
	case '}', ']':
		return nil, a.syntax(fmt.Sprintf("unexpected %s", quoteByte(c)))
	default:
		scalar = true
	}
	for {
		done := false
		if scalar {
			done = a.scanScalar()
		} else {
			done = a.scanValue()
		}
		if done {
			break
		}
		ok, err := a.fill()
		if err != nil {
			return nil, err
		}
		if !ok {
			if scalar {
				break // a scalar may end at the end of input; the ']' check reports the truncation
			}
			return nil, &SyntaxError{Name: a.name, Offset: a.base + int64(a.end),
				Msg: fmt.Sprintf("unexpected end of input inside element %d, which starts at byte offset %d (truncated file?)", a.index, startOff)}
		}
	}
	a.elemOff = startOff
	a.count++
	if a.skipping {
		size := a.skipped + int64(a.pos-a.start)
		a.skipping = false
		a.start = a.pos
		return nil, &ElementTooLargeError{Name: a.name, Offset: startOff, Index: a.index, Size: size, Limit: a.maxElem}
	}
	return a.buf[a.start:a.pos], nil
}

func (a *ArrayReader) scanScalar() bool {
	for a.pos < a.end {
		switch a.buf[a.pos] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return true
		}
		a.pos++
	}
	return false
}

// scanValue advances over an object, array or string; it returns true when
// the value is complete.
func (a *ArrayReader) scanValue() bool {
	buf := a.buf[:a.end]
	pos := a.pos
	for {
		if a.inStr {
			if a.esc {
				if pos >= len(buf) {
					a.pos = pos
					return false
				}
				pos++
				a.esc = false
			}
			q := bytes.IndexByte(buf[pos:], '"')
			lim := len(buf)
			if q >= 0 {
				lim = pos + q
			}
			// Skip the escapes before the candidate closing quote; each
			// backslash escapes the byte after it.
			for {
				b := bytes.IndexByte(buf[pos:lim], '\\')
				if b < 0 {
					break
				}
				pos += b + 2
				if pos > lim {
					break
				}
			}
			if pos > len(buf) { // the data ends with a backslash
				a.esc = true
				a.pos = len(buf)
				return false
			}
			if q < 0 {
				a.pos = len(buf)
				return false
			}
			if pos > lim { // the quote was escaped: look for the next one
				continue
			}
			pos = lim + 1
			a.inStr = false
			if a.depth == 0 {
				a.pos = pos
				return true
			}
		}
		for pos < len(buf) && !structural[buf[pos]] {
			pos++
		}
		if pos >= len(buf) {
			a.pos = pos
			return false
		}
		switch buf[pos] {
		case '"':
			a.inStr = true
		case '{', '[':
			a.depth++
		default: // '}' or ']'
			a.depth--
			if a.depth == 0 {
				a.pos = pos + 1
				return true
			}
		}
		pos++
	}
}
