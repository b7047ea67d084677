package conllu

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Writer writes CoNLL-U sentences. Call Flush when done.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write writes one sentence followed by a blank line: its comments, then
// the word lines with each multiword range just before its first word and
// each empty node just after the word it follows. A sentence that fails
// Validate is refused (nothing is written).
func (w *Writer) Write(s *Sentence) error {
	if w.err != nil {
		return w.err
	}
	if len(s.Words) == 0 {
		return fmt.Errorf("conllu: cannot write a sentence without words")
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("conllu: invalid sentence %q: %w", s.SentID(), err)
	}
	b := w.w
	for _, c := range s.Comments {
		b.WriteString(c)
		b.WriteByte('\n')
	}
	ti, ei := 0, 0
	writeEmpty := func(major int) {
		for ei < len(s.Empty) && s.Empty[ei].Major == major {
			e := &s.Empty[ei]
			b.WriteString(strconv.Itoa(e.Major))
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(e.Minor))
			for _, f := range [...]string{e.Form, e.Lemma, e.UPOS, e.XPOS, e.Feats, "_", "_", e.Deps, e.Misc} {
				b.WriteByte('\t')
				b.WriteString(f)
			}
			b.WriteByte('\n')
			ei++
		}
	}
	writeEmpty(0)
	for i := range s.Words {
		wd := &s.Words[i]
		if ti < len(s.Tokens) && s.Tokens[ti].First == wd.ID {
			t := &s.Tokens[ti]
			b.WriteString(strconv.Itoa(t.First))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(t.Last))
			b.WriteByte('\t')
			b.WriteString(t.Form)
			b.WriteString("\t_\t_\t_\t_\t_\t_\t_\t")
			b.WriteString(t.Misc)
			b.WriteByte('\n')
			ti++
		}
		b.WriteString(strconv.Itoa(wd.ID))
		for _, f := range [...]string{wd.Form, wd.Lemma, wd.UPOS, wd.XPOS, wd.Feats, formatHead(wd.Head), wd.Deprel, wd.Deps, wd.Misc} {
			b.WriteByte('\t')
			b.WriteString(f)
		}
		b.WriteByte('\n')
		writeEmpty(wd.ID)
	}
	_, err := b.WriteString("\n")
	if err != nil {
		w.err = err
	}
	return err
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}
