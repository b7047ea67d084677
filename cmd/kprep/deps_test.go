package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/bookcorpus"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/parser"
	"github.com/kadapter/kadapter/parser/conllu"
	"github.com/kadapter/kadapter/pipeline"
)

// runDeps runs "kprep deps ARGS" with stdin and returns exit code, stdout, stderr.
func runDepsCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin)}, append([]string{"deps"}, args...))
	return code, out.String(), errb.String()
}

var (
	smallModelOnce sync.Once
	smallModelData []byte
	smallModelErr  error
)

// smallModel trains a small parser (a few hundred EWT sentences, two
// epochs: seconds) once per test binary and saves it in the test's temp
// folder. It is never committed.
func smallModel(t *testing.T) string {
	t.Helper()
	ud := testshared.Path(t, "data", "ud")
	smallModelOnce.Do(func() {
		t0 := time.Now()
		defer func() { t.Logf("small test model trained in %v", time.Since(t0)) }()
		train, err := conllu.ReadFile(filepath.Join(ud, "en_ewt-ud-train.conllu"))
		if err != nil {
			smallModelErr = err
			return
		}
		dev, err := conllu.ReadFile(filepath.Join(ud, "en_ewt-ud-dev.conllu"))
		if err != nil {
			smallModelErr = err
			return
		}
		m, err := parser.Train(context.Background(), train[:600], dev[:100], parser.TrainOptions{Epochs: 2, TaggerEpochs: 2, Jackknife: 1, Seed: 1})
		if err != nil {
			smallModelErr = err
			return
		}
		dir, err := os.MkdirTemp("", "kprep-deps-model-")
		if err != nil {
			smallModelErr = err
			return
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "small.model")
		if smallModelErr = m.Save(p); smallModelErr == nil {
			smallModelData, smallModelErr = os.ReadFile(p)
		}
	})
	if smallModelErr != nil {
		t.Fatalf("training the small test model: %v", smallModelErr)
	}
	p := filepath.Join(t.TempDir(), "small.model")
	if err := os.WriteFile(p, smallModelData, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type jsonRecord struct {
	ID     string                       `json:"id"`
	Sent   string                       `json:"sent"`
	Tokens []map[string]json.RawMessage `json:"tokens"`
	Pairs  []struct {
		Dependent int    `json:"dependent_index"`
		Governor  int    `json:"governor_index"`
		Dep       string `json:"dep"`
	} `json:"pairs"`
}

func readJSONRecords(t *testing.T, path string) []jsonRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []jsonRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatalf("%s is not a JSON list: %v", path, err)
	}
	return recs
}

func countArrowRows(t *testing.T, path string) (int, map[string]int) {
	t.Helper()
	n := 0
	reasons := map[string]int{}
	_, err := pipeline.ReadArrow([]string{path}, func(rec arrow.RecordBatch) error {
		n += int(rec.NumRows())
		idx := rec.Schema().FieldIndices("drop_reason")[0]
		col := rec.Column(idx).(*array.String)
		ids := rec.Column(rec.Schema().FieldIndices("input_ids")[0])
		for i := 0; i < col.Len(); i++ {
			reasons[col.Value(i)]++
			if (col.Value(i) == "") == ids.IsNull(i) {
				t.Errorf("row %d: drop_reason %q but input_ids null=%v", i, col.Value(i), ids.IsNull(i))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, reasons
}

// TestDepsBookcorpusBooks: the whole command on the shared books writes
// the dataset (Arrow + JSON), with valid offsets and pairs, and --resume
// finds the work done.
func TestDepsBookcorpusBooks(t *testing.T) {
	books := testshared.Path(t, "data", "books")
	vocab := testshared.Path(t, "data", "roberta")
	model := smallModel(t)
	out := t.TempDir()
	args := []string{"bookcorpus", "--in", filepath.Join(books, "pg11.txt"), "--in", filepath.Join(books, "pg84.txt"),
		"--out", out, "--model", model, "--vocab", vocab, "--format", "both", "--max-sentences", "400",
		"--dedup", "--dev-fraction", "0.1", "--json", "--quiet"}
	code, stdout, stderr := runDepsCmd(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum bookcorpus.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	st := sum.Stats
	if st.Written != 400 || st.Train+st.Dev != 400 || st.Dev == 0 || st.Parsed != 400 {
		t.Fatalf("stats %+v", st)
	}
	train := readJSONRecords(t, filepath.Join(out, "train.json"))
	dev := readJSONRecords(t, filepath.Join(out, "dev.json"))
	if len(train) != st.Train || len(dev) != st.Dev {
		t.Fatalf("json records train %d dev %d, summary %+v", len(train), len(dev), st)
	}
	for _, r := range append(train, dev...) {
		rs := []rune(r.Sent)
		if strings.ContainsAny(r.Sent, "\n") || len(r.Tokens) == 0 || len(r.Pairs) != len(r.Tokens) {
			t.Fatalf("bad record %+v", r)
		}
		roots := 0
		for i, tok := range r.Tokens {
			raw, ok := tok[itoa(i+1)]
			if !ok || len(tok) != 1 {
				t.Fatalf("%s: tokens[%d] keys %v", r.ID, i, tok)
			}
			var sp struct{ Start, End int }
			json.Unmarshal(raw, &sp)
			if sp.Start < 0 || sp.End <= sp.Start || sp.End > len(rs) {
				t.Fatalf("%s: bad span %+v in %q", r.ID, sp, r.Sent)
			}
		}
		for i, p := range r.Pairs {
			if p.Dependent != i+1 || p.Governor < 0 || p.Governor > len(r.Tokens) || p.Dep == "" {
				t.Fatalf("%s: bad pair %+v", r.ID, p)
			}
			if p.Governor == 0 {
				roots++
			}
		}
		if roots == 0 {
			t.Fatalf("%s: no root", r.ID)
		}
	}
	n, reasons := countArrowRows(t, filepath.Join(out, "train.arrow"))
	if n != st.Train || reasons[""] == 0 || reasons[""]+st.FeaturesDropped["too_long"]+st.FeaturesDropped["head_is_last_word"] < 0 {
		t.Fatalf("train.arrow rows %d reasons %v, summary %+v", n, reasons, st)
	}
	// Resume after completion does nothing.
	code, stdout, stderr = runDepsCmd(t, "", append(args, "--resume")...)
	if code != 0 || !strings.Contains(stdout, `"already_complete": true`) {
		t.Fatalf("resume: exit %d %s %s", code, stdout, stderr)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestDepsBookcorpusCoNLLU: parsed CoNLL-U needs no model; bad records are
// counted (or fatal with --strict); an interrupted run resumes.
func TestDepsBookcorpusCoNLLU(t *testing.T) {
	vocab := testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
	dir := t.TempDir()
	good := "# text = I saw the dog .\n1\tI\t_\tPRON\t_\t_\t2\tnsubj\t_\t_\n2\tsaw\t_\tVERB\t_\t_\t0\troot\t_\t_\n3\tthe\t_\tDET\t_\t_\t4\tdet\t_\t_\n4\tdog\t_\tNOUN\t_\t_\t2\tobj\t_\t_\n5\t.\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n" +
		"# text = The dog saw I\n1\tThe\t_\t_\t_\t_\t2\tdet\t_\t_\n2\tdog\t_\t_\t_\t_\t3\tnsubj\t_\t_\n3\tsaw\t_\t_\t_\t_\t4\tdep\t_\t_\n4\tI\t_\t_\t_\t_\t0\troot\t_\t_\n\n"
	bad := "# text = x\n1\tx\t_\t_\n\n" + good
	os.WriteFile(filepath.Join(dir, "a.conllu"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "b.conllu"), []byte(bad), 0o644)
	out := filepath.Join(dir, "out")
	base := []string{"bookcorpus", "--in", filepath.Join(dir, "a.conllu"), "--in", filepath.Join(dir, "b.conllu"),
		"--out", out, "--vocab", vocab, "--max-seq-length", "24", "--format", "both", "--json", "--quiet"}
	// --strict: fails on b.conllu's bad line, naming file and line; a.conllu's shard is kept.
	code, _, stderr := runDepsCmd(t, "", append(base, "--strict")...)
	if code != 1 || !strings.Contains(stderr, "b.conllu") || !strings.Contains(stderr, "line 2") {
		t.Fatalf("strict: exit %d, stderr %q", code, stderr)
	}
	if exists(filepath.Join(out, "train.json")) {
		t.Fatal("a failed run left train.json behind")
	}
	code, stdout, stderr := runDepsCmd(t, "", append(base, "--resume")...)
	if code != 0 {
		t.Fatalf("resume: exit %d %s", code, stderr)
	}
	var sum bookcorpus.Summary
	json.Unmarshal([]byte(stdout), &sum)
	st := sum.Stats
	if sum.Resumed != 1 || st.Written != 4 || st.Preparsed != 4 || st.Skipped["bad_conllu"] != 1 ||
		st.FeaturesKept != 2 || st.FeaturesDropped["head_is_last_word"] != 2 {
		t.Fatalf("summary %+v", sum)
	}
	recs := readJSONRecords(t, filepath.Join(out, "train.json"))
	if len(recs) != 4 || recs[0].Sent != "I saw the dog ." || recs[0].Pairs[1].Governor != 0 || recs[0].Pairs[1].Dep != "root" {
		t.Fatalf("records %+v", recs)
	}
	// A new run with --format arrow replaces the outputs: no stale train.json.
	if code, _, stderr := runDepsCmd(t, "", "bookcorpus", "--in", filepath.Join(dir, "a.conllu"), "--out", out, "--format", "arrow", "--quiet"); code != 0 {
		t.Fatalf("rerun: exit %d %s", code, stderr)
	}
	if exists(filepath.Join(out, "train.json")) || !exists(filepath.Join(out, "train.arrow")) {
		t.Fatal("rerun with --format arrow: stale train.json or missing train.arrow")
	}
	// Without a model, unparsed input is an error.
	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("Hello world."), 0o644)
	code, _, stderr = runDepsCmd(t, "", "bookcorpus", "--in", filepath.Join(dir, "c.txt"), "--out", filepath.Join(dir, "o2"), "--quiet")
	if code != 1 || !strings.Contains(stderr, "--model") {
		t.Fatalf("no model: exit %d %q", code, stderr)
	}
}

func TestDepsUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"bookcorpus"},
		{"bookcorpus", "--in", "x", "--out", "y", "--format", "xml"},
		{"bookcorpus", "--in", "x", "--out", "y", "--dev-fraction", "1"},
		{"parse"},
	} {
		if code, _, _ := runDepsCmd(t, "", args...); code != cli.ExitUsage {
			t.Errorf("kprep deps %v: exit %d, want %d", args, code, cli.ExitUsage)
		}
	}
	if code, out, _ := runDepsCmd(t, "", "bookcorpus", "--help"); code != 0 {
		t.Errorf("--help: exit %d %s", code, out)
	}
}

// TestDepsParse: text in, CoNLL-U out, with multiword tokens and a tree per sentence.
func TestDepsParse(t *testing.T) {
	model := smallModel(t)
	code, out, stderr := runDepsCmd(t, "I don't know Mr. Smith.\nHe lives in\nLondon.\n\nNew paragraph here", "parse", "--model", model)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sents, err := conllu.ReadAll(strings.NewReader(out))
	if err != nil {
		t.Fatalf("output is not CoNLL-U: %v\n%s", err, out)
	}
	if len(sents) != 3 || len(sents[0].Tokens) != 1 || sents[0].Tokens[0].Form != "don't" || sents[1].Text() != "He lives in London." {
		t.Fatalf("parse output:\n%s", out)
	}
	for _, s := range sents {
		if err := s.Validate(); err != nil {
			t.Errorf("%v", err)
		}
		for _, w := range s.Words {
			if w.Head == conllu.NoHead || !utf8.ValidString(w.Form) {
				t.Errorf("unparsed word %+v", w)
			}
		}
	}
	// CoNLL-U in: re-parsed, same words.
	code, out2, stderr := runDepsCmd(t, out, "parse", "--model", model, "--conllu-in")
	if code != 0 || strings.Count(out2, "\n") != strings.Count(out, "\n") {
		t.Fatalf("conllu-in: exit %d %s\n%s", code, stderr, out2)
	}
}

// TestDepsBookcorpusLines: BookCorpus-style input (one tokenized sentence
// per line), --lower and --dedup, JSON only.
func TestDepsBookcorpusLines(t *testing.T) {
	model := smallModel(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "books_large_p1.txt")
	os.WriteFile(in, []byte("He said , `` do n't go . ''\nhe said , `` do n't go . ''\n\nshe left .\nx\nbad \xff line\n"), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runDepsCmd(t, "", "bookcorpus", "--in", in, "--input-format", "lines", "--out", out, "--model", model,
		"--lower", "--dedup", "--min-words", "2", "--format", "json", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum bookcorpus.Summary
	json.Unmarshal([]byte(stdout), &sum)
	st := sum.Stats
	if st.Read != 4 || st.Written != 2 || st.Skipped["duplicate"] != 1 || st.Skipped["too_few_words"] != 1 || st.Skipped["bad_utf8"] != 1 || st.FeaturesDropped["no_features"] != 2 {
		t.Fatalf("summary %+v", sum)
	}
	recs := readJSONRecords(t, filepath.Join(out, "train.json"))
	if len(recs) != 2 || recs[0].Sent != "he said , `` do n't go . ''" || recs[1].Sent != "she left ." || len(recs[0].Pairs) != 9 {
		t.Fatalf("records %+v", recs)
	}
	if exists(filepath.Join(out, "train.arrow")) || exists(filepath.Join(out, bookcorpus.ShardDir)) {
		t.Fatal("--format json wrote Arrow or left the shards")
	}
}

// TestDepsInterrupted: a cancelled run exits 130 and leaves no output
// files under their final names.
func TestDepsInterrupted(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.conllu")
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("# text = Hi .\n1\tHi\t_\t_\t_\t_\t0\troot\t_\t_\n2\t.\t_\t_\t_\t_\t1\tpunct\t_\t_\n\n")
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := program.Run(ctx, cli.Env{Stdout: &out, Stderr: &errb}, []string{"deps", "bookcorpus", "--in", in, "--out", filepath.Join(dir, "out"), "--format", "both", "--quiet"})
	if code != 130 {
		t.Fatalf("cancelled run exited %d, want 130: %s", code, errb.String())
	}
	for _, name := range []string{"train.arrow", "train.json", "manifest.json"} {
		if exists(filepath.Join(dir, "out", name)) {
			t.Errorf("cancelled run left %s", name)
		}
	}
	checkNoTemps(t, filepath.Join(dir, "out"), "by a cancelled run")
}

// TestDepsParseBadInput: kprep deps parse treats bad records as every
// kprep command does: a malformed CoNLL-U sentence or an invalid UTF-8
// line (lines input) is skipped and counted, the other sentences are
// parsed; --strict stops at the first, naming the input and line. (It
// used to stop at the first in every case, with no --strict.)
func TestDepsParseBadInput(t *testing.T) {
	model := smallModel(t)
	good := "# text = I saw the dog .\n1\tI\t_\t_\t_\t_\t_\t_\t_\t_\n2\tsaw\t_\t_\t_\t_\t_\t_\t_\t_\n3\tthe\t_\t_\t_\t_\t_\t_\t_\t_\n4\tdog\t_\t_\t_\t_\t_\t_\t_\t_\n5\t.\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
	bad := "# text = x\n1\tx\t_\t_\n\n"
	code, out, errs := runDepsCmd(t, bad+good+bad, "parse", "--model", model, "--conllu-in")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	sents, err := conllu.ReadAll(strings.NewReader(out))
	if err != nil || len(sents) != 1 || len(sents[0].Words) != 5 || sents[0].Words[1].Head == conllu.NoHead {
		t.Fatalf("output %q (%v): want the good sentence, parsed", out, err)
	}
	if !strings.Contains(errs, "1 sentences parsed; 2 bad records skipped (bad_conllu 2; first: stdin: conllu: line 2") {
		t.Errorf("stderr %q: want the counts and the first bad record", errs)
	}
	if code, _, errs := runDepsCmd(t, good+bad, "parse", "--model", model, "--conllu-in", "--strict"); code != 1 || !strings.Contains(errs, "stdin: conllu: line 9") {
		t.Errorf("--strict: exit %d, %s", code, errs)
	}
	code, out, errs = runDepsCmd(t, "He left .\nbad \xff line\nShe stayed .\n", "parse", "--model", model, "--input-format", "lines")
	if code != 0 || strings.Count(out, "# text") != 2 || !strings.Contains(errs, "bad_utf8 1") {
		t.Errorf("lines: exit %d, %d sentences, stderr %q", code, strings.Count(out, "# text"), errs)
	}
	if code, _, errs := runDepsCmd(t, "He left .\nbad \xff line\n", "parse", "--model", model, "--input-format", "lines", "--strict"); code != 1 || !strings.Contains(errs, "line 2") {
		t.Errorf("lines --strict: exit %d, %s", code, errs)
	}
}
