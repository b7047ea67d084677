package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	"github.com/kadapter/kadapter/tokenizer"
)

func init() {
	program.Register(&cli.Command{
		Name:    "tokenize",
		Summary: "tokenize JSON lines {\"text\": ...} from stdin with RoBERTa's BPE",
		Run:     runTokenize,
	})
}

const tokenizeHelp = `
Reads JSON lines {"text": "..."} on standard input and writes one line
{"ids": [...], "offsets": [[start, end], ...]} per text on standard output,
exactly as Hugging Face's tokenizer encodes it with RoBERTa's tokenizer.json:
<s> and </s> included, offsets as UTF-8 byte ranges [start, end) into the
text (after JSON decoding), [0, 0] for <s> and </s>.

With --legacy the tokens are those of pytorch_transformers 1.2.0's
RobertaTokenizer.tokenize (what the original K-Adapter feature converters
use), wrapped in <s> ... </s>, and the lines hold "ids" and "tokens".

A line that is not a JSON object with a string "text" is a bad record: by
default it is skipped (no output line) and counted by reason; with --strict
the command stops at the first one, naming its line. Invalid UTF-8 is read
as U+FFFD per maximal subpart, as Hugging Face's bindings read it. Blank
lines are ignored. A line longer than --max-line-mb (default 8 MB) is a
bad record too ("line too long"): it is skipped without being held in
memory, or stops the command under --strict. A text longer than 64 KB is
encoded in pieces cut before spaces, with the same output as whole: about
20 times a line's size at the peak (an 8 MB line: 160-185 MB), per worker;
about 55 times with --add-prefix-space, --legacy or a text without spaces.
A summary goes to standard error at the end (as JSON with --json); progress
goes to standard error while it runs.

Example:
  echo '{"text": "Hello world"}' | kprep tokenize --vocab ../shared/data/roberta
`

type tokenizeSummary struct {
	Lines    int64            `json:"lines"`
	Texts    int64            `json:"texts"`
	Tokens   int64            `json:"tokens"`
	Skipped  int64            `json:"skipped"`
	Reasons  map[string]int64 `json:"skipped_by_reason"`
	BadUTF8  int64            `json:"invalid_utf8_lines"`
	Seconds  float64          `json:"seconds"`
	Mode     string           `json:"mode"`
	Vocab    string           `json:"vocab"`
	FirstBad string           `json:"first_skipped,omitempty"`
}

type tokLine struct {
	n    int64 // 1-based input line
	text []byte
	// tooLong is the size of a line over --max-line-mb (its bytes were
	// discarded; text is nil), 0 otherwise.
	tooLong int64
	limitMB int // --max-line-mb, for the message
}

// reasonTooLong is the skip reason of a line over --max-line-mb.
const reasonTooLong = "line too long"

type tokResult struct {
	n       int64
	out     []byte // the output line, newline included; nil when skipped
	tokens  int
	reason  string
	detail  string
	badUTF8 bool
}

func runTokenize(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "tokenize", "--vocab DIR [--add-prefix-space] [--legacy] [--strict] [--json] < in.jsonl > out.jsonl",
		tokenizeHelp, env.Stdout)
	vocab := fs.String("vocab", "", "tokenizer folder: tokenizer.json, or vocab.json + merges.txt (required)")
	prefix := fs.Bool("add-prefix-space", false, "add a space before the text, like add_prefix_space=True in Hugging Face")
	legacy := fs.Bool("legacy", false, "tokenize as pytorch_transformers 1.2.0 RobertaTokenizer.tokenize; write ids and tokens")
	withTokens := fs.Bool("tokens", false, "also write the tokens' spellings (\"tokens\")")
	strict := fs.Bool("strict", false, "stop at the first bad line instead of skipping it")
	asJSON := fs.Bool("json", false, "write the final summary to stderr as JSON")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "tokenizing goroutines")
	quiet := fs.Bool("quiet", false, "no progress output")
	maxLineMB := fs.Int("max-line-mb", 8, "skip (and count) input lines larger than N MB without holding them in memory (tokenizing takes about 20x a line's size, 55x with --legacy or --add-prefix-space)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q (input is read from stdin)", fs.Args())
	}
	if *maxLineMB < 1 {
		return cli.Usagef("--max-line-mb must be at least 1")
	}
	maxLine := int64(*maxLineMB) << 20
	if *vocab == "" {
		return cli.Usagef("--vocab is required")
	}
	if *workers < 1 {
		return cli.Usagef("--workers must be at least 1")
	}
	if *legacy && *prefix {
		return cli.Usagef("--legacy and --add-prefix-space do not go together (legacy mode always adds one space per piece)")
	}
	tok, err := tokenizer.Load(*vocab)
	if err != nil {
		return err
	}
	start := time.Now()
	mode := "hf"
	if *legacy {
		mode = "legacy"
	} else if *prefix {
		mode = "hf-prefix-space"
	}
	sum := tokenizeSummary{Reasons: map[string]int64{}, Mode: mode, Vocab: *vocab}
	pm := pipeline.ProgressAuto
	if *quiet {
		pm = pipeline.ProgressOff
	}
	prog := pipeline.NewProgress(env.Stderr, pipeline.ProgressOptions{Label: "kprep tokenize", Mode: pm, Unit: "texts"})

	in := bufio.NewReaderSize(env.Stdin, 1<<20)
	out := bufio.NewWriterSize(env.Stdout, 1<<20)
	var lineNo int64
	var readErr error
	next := func() ([]tokLine, bool, error) {
		if readErr != nil {
			return nil, false, nil
		}
		var batch []tokLine
		size := 0
		for len(batch) < 256 && size < 4<<20 {
			line, n, err := readLimitedLine(in, maxLine)
			if n > 0 {
				lineNo++
				prog.AddBytes(n)
				prog.AddDocs(1) // input lines
				l := tokLine{n: lineNo, text: line}
				if line == nil {
					l.tooLong, l.limitMB = n, *maxLineMB
				}
				batch = append(batch, l)
				size += len(line)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = fmt.Errorf("reading stdin after line %d: %w", lineNo, err)
				} else {
					readErr = io.EOF
				}
				break
			}
		}
		return batch, len(batch) > 0, nil
	}
	opts := &tokenizer.Options{AddPrefixSpace: *prefix}
	work := func(_ context.Context, batch []tokLine) ([]tokResult, error) {
		res := make([]tokResult, 0, len(batch))
		for _, l := range batch {
			res = append(res, tokenizeLine(tok, l, opts, *legacy, *withTokens))
		}
		return res, nil
	}
	var stopErr error
	emit := func(res []tokResult) error {
		for _, r := range res {
			sum.Lines = r.n
			if r.badUTF8 {
				sum.BadUTF8++
			}
			if r.reason == "blank" {
				continue
			}
			if r.reason != "" {
				if *strict {
					stopErr = fmt.Errorf("stdin line %d: %s (--strict)", r.n, r.detail)
					return stopErr
				}
				sum.Skipped++
				sum.Reasons[r.reason]++
				if sum.FirstBad == "" {
					sum.FirstBad = fmt.Sprintf("stdin line %d: %s", r.n, r.detail)
				}
				continue
			}
			sum.Texts++
			sum.Tokens += int64(r.tokens)
			prog.AddRecords(1)
			if _, err := out.Write(r.out); err != nil {
				return fmt.Errorf("writing stdout: %w", err)
			}
		}
		return nil
	}
	err = pipeline.Ordered(ctx, *workers, next, work, emit)
	prog.Finish()
	if err == nil && readErr != nil && !errors.Is(readErr, io.EOF) {
		err = readErr
	}
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing stdout: %w", ferr)
	}
	sum.Seconds = time.Since(start).Seconds()
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(sum)
		fmt.Fprintf(env.Stderr, "%s\n", b)
	} else {
		fmt.Fprintf(env.Stderr, "kprep tokenize: %d texts, %d tokens (%s) in %.2fs; %d lines skipped",
			sum.Texts, sum.Tokens, mode, sum.Seconds, sum.Skipped)
		if sum.Skipped > 0 {
			reasons := make([]string, 0, len(sum.Reasons))
			for r := range sum.Reasons {
				reasons = append(reasons, r)
			}
			sort.Strings(reasons)
			for i, r := range reasons {
				sep := ", "
				if i == 0 {
					sep = " ("
				}
				fmt.Fprintf(env.Stderr, "%s%s: %d", sep, r, sum.Reasons[r])
			}
			fmt.Fprintf(env.Stderr, "); first: %s", sum.FirstBad)
		}
		if sum.BadUTF8 > 0 {
			fmt.Fprintf(env.Stderr, "; %d lines had invalid UTF-8 (read as U+FFFD)", sum.BadUTF8)
		}
		fmt.Fprintln(env.Stderr)
	}
	return nil
}

// readLimitedLine reads one line (its newline included) of at most max
// bytes. It returns the line and its size n; for a longer line it returns
// a nil line and its full size, having discarded its bytes as they came
// (memory stays within max plus the reader's buffer). n is 0 only at the
// end of the input; err is the read error (io.EOF at the end) that ended
// the line, if any.
func readLimitedLine(r *bufio.Reader, max int64) (line []byte, n int64, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		n += int64(len(chunk))
		if n <= max {
			line = append(line, chunk...)
		} else {
			line = nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if n > max {
			return nil, n, err
		}
		return line, n, err
	}
}

// tokenizeLine decodes and tokenizes one input line.
func tokenizeLine(tok *tokenizer.Tokenizer, l tokLine, opts *tokenizer.Options, legacy, withTokens bool) tokResult {
	r := tokResult{n: l.n}
	if l.tooLong > 0 {
		r.reason, r.detail = reasonTooLong, fmt.Sprintf("%d bytes, larger than the --max-line-mb limit of %d MB", l.tooLong, l.limitMB)
		return r
	}
	raw := l.text
	for len(raw) > 0 && (raw[len(raw)-1] == '\n' || raw[len(raw)-1] == '\r') {
		raw = raw[:len(raw)-1]
	}
	if len(bytes.Trim(raw, " \t\r\n")) == 0 {
		r.reason = "blank"
		return r
	}
	if !utf8.Valid(raw) {
		r.badUTF8 = true
		raw = []byte(tokenizer.ToValidUTF8(string(raw)))
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rec); err != nil {
		r.reason, r.detail = "invalid JSON object", "not a JSON object: "+err.Error()
		return r
	}
	field, ok := rec["text"]
	if !ok {
		r.reason, r.detail = "missing text", `no "text" field`
		return r
	}
	var text string
	if err := json.Unmarshal(field, &text); err != nil {
		r.reason, r.detail = "text not a string", fmt.Sprintf(`"text" is %s, not a string`, truncateForMsg(string(field)))
		return r
	}
	var b []byte
	if len(text) <= longTextPiece || legacy {
		b = make([]byte, 0, 16+len(text)*4)
	}
	if legacy {
		toks := append(append([]string{"<s>"}, tok.LegacyTokenize(text)...), "</s>")
		ids := tok.ConvertTokensToIDs(toks)
		b = append(b, `{"ids": `...)
		b = appendInts(b, ids)
		b = append(b, `, "tokens": `...)
		b = appendStrings(b, toks)
		r.tokens = len(ids)
	} else {
		b, r.tokens = appendHFEncoding(b, tok, text, opts, withTokens, longTextPiece)
	}
	r.out = append(b, "}\n"...)
	return r
}

// longTextPiece is the size of the pieces a long text is encoded in: the
// tokenizer's working memory (about 120 bytes per token for all the
// fields of an Encoding) then grows with the piece, not with the text.
const longTextPiece = 64 << 10

// appendHFEncoding appends the output line's fields ({"ids": ...,
// "offsets": ... [, "tokens": ...]) of text's Hugging Face encoding to b
// and returns it with the number of tokens. A text longer than piece bytes
// is encoded piece by piece (textPieces), keeping only the ids (written to
// b as they come), the offsets (int32 pairs) and, with withTokens, the
// tokens: the same output as encoding it whole. (Not with a prefix space:
// see addsPrefixSpace.)
func appendHFEncoding(b []byte, tok *tokenizer.Tokenizer, text string, opts *tokenizer.Options, withTokens bool, piece int) ([]byte, int) {
	if opts == nil {
		opts = &tokenizer.Options{}
	}
	var tmpl *tokenizer.Encoding
	if len(text) > piece && len(text) < math.MaxInt32 && !addsPrefixSpace(tok, opts) {
		tmpl = tok.Encode("", opts)
	}
	if tmpl == nil || len(tmpl.IDs) != 2 {
		e := tok.Encode(text, opts)
		b = append(b, `{"ids": `...)
		b = appendInts(b, e.IDs)
		b = append(b, `, "offsets": [`...)
		for i, o := range e.Offsets {
			b = appendOffset(b, i, o[0], o[1])
		}
		b = append(b, ']')
		if withTokens {
			b = append(b, `, "tokens": `...)
			b = appendStrings(b, e.Tokens)
		}
		return b, len(e.IDs)
	}
	// <s> pieces... </s>: the template of the empty text around the
	// pieces' tokens (offsets shifted by each piece's start). Ids and
	// offsets are kept as int32 (12 bytes a token), then the line is
	// written into a buffer of its exact size.
	po := *opts
	po.NoSpecialTokens = true
	ids := []int32{int32(tmpl.IDs[0])}
	offs := []int32{0, 0}
	var toks []string
	if withTokens {
		toks = append(toks, tmpl.Tokens[0])
	}
	textPieces(text, piece, func(p string, base int) {
		e := tok.Encode(p, &po)
		for i, id := range e.IDs {
			ids = append(ids, int32(id))
			offs = append(offs, int32(e.Offsets[i][0]+base), int32(e.Offsets[i][1]+base))
		}
		if withTokens {
			toks = append(toks, e.Tokens...)
		}
	})
	ids = append(ids, int32(tmpl.IDs[1]))
	offs = append(offs, 0, 0)
	if withTokens {
		toks = append(toks, tmpl.Tokens[1])
	}
	size := len(`{"ids": [], "offsets": []`)
	for i, id := range ids {
		size += digits(int64(id)) + digits(int64(offs[2*i])) + digits(int64(offs[2*i+1])) + 2 + 6
	}
	if cap(b)-len(b) < size {
		b = append(make([]byte, 0, len(b)+size), b...)
	}
	b = append(b, `{"ids": [`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, `], "offsets": [`...)
	for i := range ids {
		b = appendOffset(b, i, int(offs[2*i]), int(offs[2*i+1]))
	}
	b = append(b, ']')
	if withTokens {
		b = append(b, `, "tokens": `...)
		b = appendStrings(b, toks)
	}
	return b, len(ids)
}

// digits returns the length of v in decimal.
func digits(v int64) int {
	n := 1
	if v < 0 {
		n, v = 2, -v
	}
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// addsPrefixSpace reports whether encoding adds a prefix space (the
// option, or a tokenizer.json that enables it). Then pieces are not used:
// the post-processor keeps the added space out of the first token's
// offsets only, so a piece's first token would be trimmed unlike the same
// token inside the whole text.
func addsPrefixSpace(tok *tokenizer.Tokenizer, opts *tokenizer.Options) bool {
	if opts.AddPrefixSpace {
		return true
	}
	e := tok.Encode("a", &tokenizer.Options{NoSpecialTokens: true})
	return len(e.Tokens) != 1 || e.Tokens[0] != "a"
}

// textPieces calls fn for consecutive pieces of text (with their byte
// offsets) of about size bytes each. A piece ends just before an ASCII
// space that has a non-space character on both sides: RoBERTa's
// pre-tokenizer always starts a pre-token there (" ?\p{L}+" and its kin
// take the space, and no whitespace run can reach it), no added token
// contains a space, and an lstrip token after it takes it within the next
// piece; so the pieces' tokens are those of the whole text. A text with no
// such space after size bytes is one piece.
func textPieces(text string, size int, fn func(piece string, base int)) {
	start := 0
	for len(text)-start > size {
		cut := -1
		for i := start + size; i < len(text)-1; i++ {
			if text[i] != ' ' {
				continue
			}
			prev, _ := utf8.DecodeLastRuneInString(text[:i])
			next, _ := utf8.DecodeRuneInString(text[i+1:])
			if !unicode.IsSpace(prev) && !unicode.IsSpace(next) {
				cut = i
				break
			}
		}
		if cut < 0 {
			break
		}
		fn(text[start:cut], start)
		start = cut
	}
	fn(text[start:], start)
}

// appendOffset appends the i-th offset pair [start, end] of a JSON list.
func appendOffset(b []byte, i, start, end int) []byte {
	if i > 0 {
		b = append(b, ", "...)
	}
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(end), 10)
	return append(b, ']')
}

func appendInts(b []byte, xs []int) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

func appendStrings(b []byte, xs []string) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJSONString(b, x)
	}
	return append(b, ']')
}

// appendJSONString appends s (valid UTF-8) as a JSON string, escaping only
// what JSON requires.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func truncateForMsg(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
