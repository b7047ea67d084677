package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

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
