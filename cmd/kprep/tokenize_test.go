package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/tokenizer"
)

func runTokenizeCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin)},
		append([]string{"tokenize"}, args...))
	return code, out.String(), errb.String()
}

// TestTokenizeGolden pipes golden texts through kprep tokenize and compares
// with Hugging Face's ids and offsets, in both modes.
func TestTokenizeGolden(t *testing.T) {
	vocab := testshared.Path(t, "data", "roberta")
	f, err := os.Open(testshared.Path(t, "fixtures", "tokenizer", "roberta-golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type gold struct {
		Text          string   `json:"text"`
		IDs           []int    `json:"ids"`
		Offsets       [][2]int `json:"offsets"`
		PrefixIDs     []int    `json:"prefix_ids"`
		PrefixOffsets [][2]int `json:"prefix_offsets"`
	}
	var golds []gold
	var in bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() && len(golds) < 600 {
		var g gold
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		if g.PrefixIDs == nil || strings.TrimSpace(g.Text) == "" {
			continue
		}
		golds = append(golds, g)
		b, _ := json.Marshal(map[string]string{"text": g.Text})
		in.Write(append(b, '\n'))
	}
	for _, prefix := range []bool{false, true} {
		args := []string{"--vocab", vocab, "--quiet"}
		if prefix {
			args = append(args, "--add-prefix-space")
		}
		code, out, errs := runTokenizeCmd(t, in.String(), args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(golds) {
			t.Fatalf("prefix=%v: %d output lines for %d texts", prefix, len(lines), len(golds))
		}
		for i, l := range lines {
			var got struct {
				IDs     []int    `json:"ids"`
				Offsets [][2]int `json:"offsets"`
			}
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatalf("output line %d %q: %v", i+1, l, err)
			}
			wantIDs, wantOffs := golds[i].IDs, golds[i].Offsets
			if prefix {
				wantIDs, wantOffs = golds[i].PrefixIDs, golds[i].PrefixOffsets
			}
			if !reflect.DeepEqual(got.IDs, wantIDs) || !reflect.DeepEqual(got.Offsets, wantOffs) {
				t.Fatalf("prefix=%v text %q:\n got %v %v\nwant %v %v", prefix, golds[i].Text, got.IDs, got.Offsets, wantIDs, wantOffs)
			}
		}
	}
}

func TestTokenizeBadInput(t *testing.T) {
	vocab := testshared.Path(t, "data", "roberta")
	in := "{\"text\": \"Hello\"}\n\nnot json\n{\"text\": 5}\n{\"x\": 1}\n{\"text\": \"a\xffb\"}\n"
	code, out, errs := runTokenizeCmd(t, in, "--vocab", vocab, "--quiet", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("want 2 output lines, got %d: %q", n, out)
	}
	if !strings.Contains(out, `{"ids": [0, 102, 21955, 428, 2], "offsets": [[0, 0], [0, 1], [1, 4], [4, 5], [0, 0]]}`) {
		t.Errorf("invalid UTF-8 line not encoded as U+FFFD: %q", out)
	}
	var sum tokenizeSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &sum); err != nil {
		t.Fatalf("summary %q: %v", errs, err)
	}
	want := map[string]int64{"invalid JSON object": 1, "text not a string": 1, "missing text": 1}
	if sum.Texts != 2 || sum.Skipped != 3 || !reflect.DeepEqual(sum.Reasons, want) || sum.BadUTF8 != 1 || sum.Lines != 6 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(sum.FirstBad, "stdin line 3") {
		t.Errorf("first skipped = %q, want it to name line 3", sum.FirstBad)
	}

	code, _, errs = runTokenizeCmd(t, in, "--vocab", vocab, "--quiet", "--strict")
	if code != cli.ExitFailed || !strings.Contains(errs, "stdin line 3") {
		t.Errorf("--strict: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := runTokenizeCmd(t, "", "--quiet"); code != cli.ExitUsage {
		t.Errorf("missing --vocab: exit %d, want %d", code, cli.ExitUsage)
	}
	if code, _, errs := runTokenizeCmd(t, "", "--vocab", t.TempDir(), "--quiet"); code != cli.ExitFailed || !strings.Contains(errs, "vocab.json") {
		t.Errorf("empty vocab dir: exit %d, stderr %q", code, errs)
	}
}

func TestTokenizeLegacy(t *testing.T) {
	vocab := testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
	code, out, errs := runTokenizeCmd(t, "{\"text\": \"question </s> answer\"}\n", "--vocab", vocab, "--quiet", "--legacy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if want := []string{"<s>", "Ġquestion", "</s>", "Ġanswer", "</s>"}; !reflect.DeepEqual(got.Tokens, want) || len(got.IDs) != 5 || got.IDs[2] != 2 {
		t.Errorf("legacy output %s", out)
	}
}

// FuzzTokenizeLine feeds arbitrary input lines to the command's line parser:
// a line is either rejected with a reason or gives one JSON object whose
// ids and offsets have the same length.
func FuzzTokenizeLine(f *testing.F) {
	tok, err := loadTokenizerForTest(f)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"text": "Hello world"}`, `{"text": 5}`, `not json`, `{"text": "a\u00e9 <mask>"}`,
		"{\"text\": \"\xff\"}", `{}`, `[]`, `{"text": null}`, `   `} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, line []byte, legacy bool) {
		r := tokenizeLine(tok, tokLine{n: 1, text: line}, nil, legacy, true)
		if r.reason != "" {
			if r.out != nil {
				t.Fatalf("rejected line %q has output", line)
			}
			return
		}
		var got struct {
			IDs     []int    `json:"ids"`
			Offsets [][2]int `json:"offsets"`
			Tokens  []string `json:"tokens"`
		}
		if err := json.Unmarshal(r.out, &got); err != nil {
			t.Fatalf("line %q gave invalid JSON %q: %v", line, r.out, err)
		}
		if len(got.IDs) < 2 || len(got.Tokens) != len(got.IDs) || (!legacy && len(got.Offsets) != len(got.IDs)) {
			t.Fatalf("line %q gave %q", line, r.out)
		}
	})
}

func loadTokenizerForTest(tb testing.TB) (*tokenizer.Tokenizer, error) {
	return tokenizer.Load(testshared.Path(tb, "data", "roberta"))
}

// TestDocsStayInRepository checks that the README and docs/*.md point only
// at files of the repository: every relative Markdown link resolves to an
// existing path inside it, and no page names a path of the development
// machine (docs/tokenizer.md pointed at a notes file outside it).
// ../shared, the documented shared material, and /tmp outputs are fine.
func TestDocsStayInRepository(t *testing.T) {
	root := testshared.RepoRoot()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("docs/*.md: %v %v", pages, err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	machine := regexp.MustCompile("(^|[\\s`(\"'])(/work|/home|/Users)/[^\\s`)\"']*")
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			abs := filepath.Clean(filepath.Join(filepath.Dir(p), target))
			if r, err := filepath.Rel(root, abs); err != nil || r == ".." || strings.HasPrefix(r, "../") {
				t.Errorf("%s links to %s, outside the repository", rel, target)
			} else if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, target)
			}
		}
		for _, m := range machine.FindAllStringSubmatch(string(data), -1) {
			t.Errorf("%s names %s, a path of one machine, not of the repository", rel, strings.TrimLeft(m[0], " \t\n`(\"'"))
		}
	}
}

// repeatReader yields a JSON line {"text": "aaaa..."} of n bytes in total
// (newline included), then the bytes of tail, without holding the line.
type repeatReader struct {
	n, pos int
	tail   string
}

func (r *repeatReader) Read(p []byte) (int, error) {
	head := `{"text": "`
	k := 0
	for k < len(p) {
		switch {
		case r.pos < len(head):
			p[k] = head[r.pos]
		case r.pos < r.n-3:
			p[k] = 'a'
		case r.pos == r.n-3:
			p[k] = '"'
		case r.pos == r.n-2:
			p[k] = '}'
		case r.pos == r.n-1:
			p[k] = '\n'
		case r.pos-r.n < len(r.tail):
			p[k] = r.tail[r.pos-r.n]
		default:
			if k == 0 {
				return 0, io.EOF
			}
			return k, nil
		}
		k++
		r.pos++
	}
	return k, nil
}

// TestTokenizeMaxLine checks --max-line-mb: a longer line is a counted
// skip ("line too long"), read without being held in memory (tokenizing a
// line took about 55x its size with no limit: 8 MB, 466 MB), the lines
// around it are tokenized with their numbers, and --strict stops at it.
func TestTokenizeMaxLine(t *testing.T) {
	vocab := testshared.Path(t, "data", "roberta")
	const limit = 1 << 20
	// readLimitedLine: a line of exactly the limit is kept, one byte more
	// is not; a last line without a newline is a line.
	small := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", limit-1)+"\n"+strings.Repeat("y", limit)+"\nz"), 4096)
	for i, want := range []int64{limit, limit + 1, 1} {
		line, n, err := readLimitedLine(small, limit)
		if n != want || (n <= limit) != (line != nil) || int64(len(line)) != n && line != nil {
			t.Errorf("line %d: %d bytes (held %d, %v), want %d", i, n, len(line), err, want)
		}
	}
	if _, n, err := readLimitedLine(small, limit); n != 0 || err != io.EOF {
		t.Errorf("after the last line: %d bytes, %v", n, err)
	}

	run := func(stdin io.Reader, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: stdin},
			append([]string{"tokenize", "--vocab", vocab, "--quiet", "--max-line-mb", "1"}, args...))
		return code, out.String(), errb.String()
	}
	// A 64 MB line between two short ones.
	const big = 64 << 20
	mk := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"text": "Hello"}`+"\n"), &repeatReader{n: big, tail: `{"text": "world"}` + "\n"})
	}
	// Allocations beyond those of a run on the two short lines alone
	// (loading the vocabulary dominates those).
	allocs := func(stdin io.Reader) (uint64, int, string, string) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		code, out, errs := run(stdin, "--json")
		runtime.ReadMemStats(&ms)
		return ms.TotalAlloc - before, code, out, errs
	}
	base, _, _, _ := allocs(strings.NewReader(`{"text": "Hello"}` + "\n" + `{"text": "world"}` + "\n"))
	alloc, code, out, errs := allocs(mk())
	if alloc > base+8<<20 {
		t.Errorf("skipping a %d MB line allocated %d MB more than the run without it: it was held in memory", big>>20, (alloc-base)>>20)
	}
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("exit %d, %d output lines: %s", code, strings.Count(out, "\n"), errs)
	}
	var sum tokenizeSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &sum); err != nil {
		t.Fatalf("summary %q: %v", errs, err)
	}
	if sum.Texts != 2 || sum.Skipped != 1 || sum.Reasons[reasonTooLong] != 1 || sum.Lines != 3 ||
		!strings.Contains(sum.FirstBad, "stdin line 2: 67108864 bytes, larger than the --max-line-mb limit of 1 MB") {
		t.Errorf("summary %+v", sum)
	}
	if code, _, errs := run(mk(), "--strict"); code != cli.ExitFailed || !strings.Contains(errs, "stdin line 2") {
		t.Errorf("--strict: exit %d, %s", code, errs)
	}
	if code, _, _ := run(strings.NewReader(""), "--max-line-mb", "0"); code != cli.ExitUsage {
		t.Errorf("--max-line-mb 0: exit %d, want %d", code, cli.ExitUsage)
	}
}

// TestReadmeNextSteps checks the README's way in for a new user: the
// Start-here block is exactly two commands; a Next-steps block installs
// the programs (go install ./cmd/...) and runs kprep and krun on the main
// job's output with the tiny fixture; every kprep/krun command there names
// an existing subcommand and only flags it defines (kprep: its --help;
// krun: its sources), and every $F path exists in the shared material.
func TestReadmeNextSteps(t *testing.T) {
	root := testshared.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	block := func(heading string) string {
		i := strings.Index(readme, "\n## "+heading+"\n")
		if i < 0 {
			t.Fatalf("README has no %q section", heading)
		}
		sec := readme[i+1:]
		if j := strings.Index(sec[3:], "\n## "); j >= 0 {
			sec = sec[:j+3]
		}
		a := strings.Index(sec, "```sh\n")
		if a < 0 {
			t.Fatalf("README %q has no sh block", heading)
		}
		b := strings.Index(sec[a+6:], "```")
		return sec[a+6 : a+6+b]
	}
	// Commands of a block: continuation lines joined, comments and blank
	// lines dropped.
	commands := func(b string) []string {
		var out []string
		for _, l := range strings.Split(strings.ReplaceAll(b, "\\\n", " "), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	if start := commands(block("Start here")); len(start) != 2 || !strings.Contains(start[0], "kprep trex") || start[1] != "scripts/test" {
		t.Errorf("Start here: %q, want the main job and scripts/test", start)
	}
	next := commands(block("Next steps"))
	if len(next) == 0 || next[0] != "go install ./cmd/..." {
		t.Fatalf("Next steps starts with %q, want go install ./cmd/...", next)
	}
	var krunSrc strings.Builder
	srcs, _ := filepath.Glob(filepath.Join(root, "cmd", "krun", "*.go"))
	for _, p := range srcs {
		if !strings.HasSuffix(p, "_test.go") {
			b, _ := os.ReadFile(p)
			krunSrc.Write(b)
		}
	}
	flagRe := regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
	seen := map[string]bool{}
	for _, c := range next {
		f := strings.Fields(c)
		if len(f) < 2 || (f[0] != "kprep" && f[0] != "krun") {
			continue
		}
		prog, sub := f[0], f[1]
		seen[prog+" "+sub] = true
		for _, w := range f {
			if strings.HasPrefix(w, "$F/") {
				testshared.Path(t, append([]string{"fixtures", "kadapter-tiny"}, strings.Split(w[3:], "/")...)...)
			}
		}
		flags := flagRe.FindAllStringSubmatch(c, -1)
		if prog == "kprep" {
			code, help, _ := runKprep(t, sub, "--help")
			if code != 0 {
				t.Errorf("%s: kprep %s --help exits %d", c, sub, code)
				continue
			}
			for _, m := range flags {
				if !strings.Contains(help, "-"+m[1]+" ") && !strings.Contains(help, "-"+m[1]+"\n") {
					t.Errorf("%s: kprep %s has no --%s", c, sub, m[1])
				}
			}
			continue
		}
		if !strings.Contains(krunSrc.String(), `"`+sub+`"`) {
			t.Errorf("%s: no krun %s command", c, sub)
		}
		for _, m := range flags {
			if !strings.Contains(krunSrc.String(), `("`+m[1]+`"`) {
				t.Errorf("%s: krun %s defines no --%s", c, sub, m[1])
			}
		}
	}
	for _, want := range []string{"kprep features", "krun export", "krun eval", "krun train"} {
		if !seen[want] {
			t.Errorf("Next steps has no %s step", want)
		}
	}
}

// TestReliabilityDocTests checks that every test docs/reliability.md
// names as covering a bad input exists (a renamed or removed test would
// leave the table claiming coverage that is gone).
func TestReliabilityDocTests(t *testing.T) {
	root := testshared.RepoRoot()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "reliability.md"))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	funcRe := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)\w+)\(`)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range funcRe.FindAllSubmatch(b, -1) {
				defined[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz)\\w+)").FindAllStringSubmatch(string(doc), -1)
	if len(named) < 50 {
		t.Fatalf("docs/reliability.md names %d tests; the table is missing", len(named))
	}
	for _, m := range named {
		if !defined[m[1]] {
			t.Errorf("docs/reliability.md names %s, which no test file defines", m[1])
		}
	}
}

// piecesVsWhole fails t when text encoded in pieces of size bytes differs
// from text encoded whole (ids, offsets, tokens), with and without a
// prefix space.
func piecesVsWhole(t *testing.T, tok *tokenizer.Tokenizer, text string, size int) {
	t.Helper()
	for _, opts := range []*tokenizer.Options{{}, {AddPrefixSpace: true}} {
		whole, n := appendHFEncoding(nil, tok, text, opts, true, len(text)+1)
		pieces, m := appendHFEncoding(nil, tok, text, opts, true, size)
		if !bytes.Equal(whole, pieces) || n != m {
			t.Fatalf("%q (prefix space %v) in pieces of %d bytes:\n%s\nwhole:\n%s", text, opts.AddPrefixSpace, size, pieces, whole)
		}
	}
}

// TestTokenizeLongTextInPieces: a long text is encoded piece by piece so
// that the tokenizer's memory follows the piece, not the line (an 8 MB
// line took 460 MB at its peak); the output must be the same bytes as
// encoding it whole. Checked on the golden texts and on generated texts
// full of the cases at piece edges (contractions, lstrip <mask>, space
// runs, Unicode spaces, CJK, digits, punctuation), with pieces of 1 to
// 64 bytes, and on a 1 MB text with the real piece size; the peak heap of
// that text is measured against whole encoding.
func TestTokenizeLongTextInPieces(t *testing.T) {
	tok, err := loadTokenizerForTest(t)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(testshared.Path(t, "fixtures", "tokenizer", "roberta-golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	golden := 0
	for sc.Scan() {
		var g struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		piecesVsWhole(t, tok, g.Text, 1+golden%17)
		golden++
	}
	if golden < 1000 {
		t.Fatalf("%d golden texts", golden)
	}
	parts := []string{"a", "word", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "'s", "'ll", "'", " 's", "<mask>", " <mask>", "<s>", "</s>",
		"東京", "é", "9", "12", ",", ".", "!?", "Zaïdi", "🙂", "\u200d", "-", "don't"}
	rng := uint64(1)
	next := func(n int) int {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int(rng % uint64(n))
	}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for k := 0; k < 5+next(60); k++ {
			b.WriteString(parts[next(len(parts))])
			if next(3) == 0 {
				b.WriteByte(' ')
			}
		}
		piecesVsWhole(t, tok, b.String(), 1+next(64))
	}

	// A 1 MB text: same bytes with the real piece size, and less memory.
	var big strings.Builder
	for big.Len() < 1<<20 {
		big.WriteString(parts[next(len(parts))])
		big.WriteByte(' ')
	}
	text := big.String()
	// Peak live heap while encoding: GC at every 5% of growth, the heap
	// sampled every 100 µs.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	peak := func(piece int) (uint64, []byte) {
		runtime.GC()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(sample)
		base, top := sample[0].Value.Uint64(), uint64(0)
		done, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for {
				metrics.Read(sample)
				top = max(top, sample[0].Value.Uint64())
				select {
				case <-done:
					return
				case <-time.After(100 * time.Microsecond):
				}
			}
		}()
		out, _ := appendHFEncoding(nil, tok, text, &tokenizer.Options{}, false, piece)
		close(done)
		<-stopped
		if top < base {
			return 0, out
		}
		return top - base, out
	}
	wholePeak, whole := peak(len(text) + 1)
	piecePeak, pieces := peak(longTextPiece)
	if !bytes.Equal(whole, pieces) {
		t.Fatal("1 MB text: pieces differ from whole")
	}
	t.Logf("1 MB text (%d tokens): peak heap %d MB encoded whole, %d MB in pieces of %d KB",
		bytes.Count(whole, []byte("], [")), wholePeak>>20, piecePeak>>20, longTextPiece>>10)
	if piecePeak*2 > wholePeak {
		t.Errorf("encoding in pieces peaked at %d MB of heap, whole at %d MB: want at most half", piecePeak>>20, wholePeak>>20)
	}
}

// FuzzTextPieces: any text encoded in pieces of any size gives the bytes
// of encoding it whole.
func FuzzTextPieces(f *testing.F) {
	tok, err := loadTokenizerForTest(f)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"Hello world", "a 's b", "x <mask> y", "東京 は 日本", "a \u00a0 b  c\td", "\xff a \xfe"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, size uint8) {
		text = tokenizer.ToValidUTF8(text)
		piecesVsWhole(t, tok, text, 1+int(size%32))
	})
}
