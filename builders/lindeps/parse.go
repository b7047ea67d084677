package lindeps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kadapter/kadapter/parser/conllu"
	"github.com/kadapter/kadapter/parser/segment"
)

// ParseOptions configure ParseStream.
type ParseOptions struct {
	// Format of the input: FormatText (raw text, segmented), FormatLines
	// (one pre-tokenized sentence per line) or FormatCoNLLU (re-parsed:
	// UPOS, HEAD and DEPREL replaced, the other columns kept).
	Format Format
	// LineIsSentence: in raw text, every line break ends a sentence.
	LineIsSentence bool
	// Bad is called for each bad record (a malformed CoNLL-U sentence,
	// an invalid UTF-8 line) with its reason ("bad_conllu", "bad_utf8")
	// and the error naming the input and line: nil skips the record, an
	// error stops the stream with it. Bad == nil stops at the first.
	Bad func(reason string, err error) error
}

// ParseStream reads the sentences of r (named name in errors), parses
// each with p and gives it to emit as CoNLL-U, in input order; raw text is
// read paragraph by paragraph (a blank line always ends a sentence), so
// memory stays bounded. It returns the number of sentences parsed.
func ParseStream(ctx context.Context, r io.Reader, name string, p Parser, opts ParseOptions, emit func(*conllu.Sentence) error) (int, error) {
	n := 0
	parseOne := func(cs *conllu.Sentence) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(cs.Words) == 0 {
			return nil
		}
		upos, heads, rels := p.Parse(cs.Forms())
		if len(heads) != len(cs.Words) || len(upos) != len(cs.Words) || len(rels) != len(cs.Words) {
			return fmt.Errorf("the parser returned %d heads for %d words", len(heads), len(cs.Words))
		}
		for i := range cs.Words {
			cs.Words[i].UPOS, cs.Words[i].Head, cs.Words[i].Deprel = upos[i], heads[i], rels[i]
		}
		n++
		return emit(cs)
	}
	bad := func(reason string, err error) error {
		if opts.Bad == nil {
			return err
		}
		return opts.Bad(reason, err)
	}
	switch opts.Format {
	case FormatCoNLLU:
		cr := conllu.NewReader(r)
		for {
			cs, err := cr.Read()
			if err == io.EOF {
				break
			}
			var pe *conllu.ParseError
			if errors.As(err, &pe) {
				if err := bad("bad_conllu", fmt.Errorf("%s: %w", name, err)); err != nil {
					return n, err
				}
				continue
			}
			if err != nil {
				return n, fmt.Errorf("%s: %w", name, err)
			}
			if err := parseOne(cs); err != nil {
				return n, err
			}
		}
	case FormatLines:
		rd := NewReader(r, name, FormatLines, nil)
		for {
			s, err := rd.Next()
			if err == io.EOF {
				break
			}
			var ie *InputError
			if errors.As(err, &ie) {
				if err := bad(ie.Reason, ie); err != nil {
					return n, err
				}
				continue
			}
			if err != nil {
				return n, err
			}
			if err := parseOne(s.CoNLLU(n + 1)); err != nil {
				return n, err
			}
		}
	default:
		// Stream paragraph by paragraph (a blank line always ends a sentence).
		seg := segment.New(segment.Options{LineIsSentence: opts.LineIsSentence})
		br := bufio.NewReaderSize(r, 1<<16)
		var para strings.Builder
		flush := func() error {
			text := strings.ToValidUTF8(para.String(), "\uFFFD")
			para.Reset()
			for _, ss := range seg.Segment(text) {
				if err := parseOne(SegmentCoNLLU(ss, n+1)); err != nil {
					return err
				}
			}
			return nil
		}
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if strings.TrimSpace(line) == "" || para.Len() >= MaxParagraph {
					if ferr := flush(); ferr != nil {
						return n, ferr
					}
				}
				para.WriteString(line)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return n, fmt.Errorf("%s: %w", name, err)
			}
		}
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// SegmentCoNLLU builds an unparsed CoNLL-U sentence (sent_id n) from a
// segmented sentence: multiword tokens as ranges, SpaceAfter=No where no
// space followed, "# text" with whitespace runs as single spaces.
func SegmentCoNLLU(ss segment.Sentence, n int) *conllu.Sentence {
	cs := &conllu.Sentence{}
	var tb strings.Builder
	for ti, t := range ss.Tokens {
		tb.WriteString(t.Text)
		spaceAfter := ti+1 < len(ss.Tokens) && t.End < ss.Tokens[ti+1].Start
		if spaceAfter {
			tb.WriteByte(' ')
		}
		misc := "_"
		if !spaceAfter && ti+1 < len(ss.Tokens) {
			misc = "SpaceAfter=No"
		}
		if len(t.Words) > 1 {
			first := len(cs.Words) + 1
			cs.Tokens = append(cs.Tokens, conllu.MultiwordToken{First: first, Last: first + len(t.Words) - 1, Form: t.Text, Misc: misc})
			misc = "_"
		}
		for _, wd := range t.Words {
			cs.Words = append(cs.Words, conllu.Word{ID: len(cs.Words) + 1, Form: wd.Text, Lemma: "_", UPOS: "_", XPOS: "_",
				Feats: "_", Head: conllu.NoHead, Deprel: "_", Deps: "_", Misc: misc})
		}
	}
	cs.SetMeta("sent_id", fmt.Sprint(n))
	cs.SetMeta("text", tb.String())
	return cs
}

// CoNLLU returns the sentence's words as an unparsed CoNLL-U sentence
// (sent_id n, "# text" its text).
func (s *Sentence) CoNLLU(n int) *conllu.Sentence {
	cs := &conllu.Sentence{}
	for _, w := range s.Words {
		cs.Words = append(cs.Words, conllu.Word{ID: len(cs.Words) + 1, Form: w.Form, Lemma: "_", UPOS: "_", XPOS: "_",
			Feats: "_", Head: conllu.NoHead, Deprel: "_", Deps: "_", Misc: "_"})
	}
	cs.SetMeta("sent_id", fmt.Sprint(n))
	cs.SetMeta("text", s.Text)
	return cs
}
