package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/testshared"
)

// runDepsModelCmd runs "kprep deps ARGS" and returns exit code, stdout, stderr.
func runDepsModelCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, append([]string{"deps"}, args...))
	return code, out.String(), errb.String()
}

// firstSentences copies the first n sentences of a CoNLL-U file.
func firstSentences(t *testing.T, src, dst string, n int) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.SplitAfter(string(raw), "\n\n")
	if len(blocks) > n {
		blocks = blocks[:n]
	}
	if err := os.WriteFile(dst, []byte(strings.Join(blocks, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDepsTrainEval(t *testing.T) {
	ud := testshared.Path(t, "data", "ud")
	dir := t.TempDir()
	train, dev, model := filepath.Join(dir, "train.conllu"), filepath.Join(dir, "dev.conllu"), filepath.Join(dir, "m.model")
	firstSentences(t, filepath.Join(ud, "en_ewt-ud-train.conllu"), train, 300)
	firstSentences(t, filepath.Join(ud, "en_ewt-ud-dev.conllu"), dev, 60)

	code, out, errs := runDepsModelCmd("train", "--treebank", train, "--dev", dev, "--out", model, "--epochs", "2", "--tagger-epochs", "2", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, errs)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("train --json: %v: %q", err, out)
	}
	if sum["model"] != model || sum["sentences"].(float64) != 300 || sum["dev_uas"].(float64) <= 0 {
		t.Errorf("train summary %v", sum)
	}
	if !strings.Contains(errs, "parser epoch 2/2") {
		t.Errorf("no progress lines on stderr: %s", errs)
	}

	code, out, errs = runDepsModelCmd("eval", "--model", model, "--treebank", dev, "--json", "--text")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, errs)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("eval --json: %v: %q", err, out)
	}
	for _, k := range []string{"uas", "las", "upos", "tokens_per_sec", "tokens_f1", "sentences_f1"} {
		if v, ok := res[k]; !ok || v <= 0 || (k != "tokens_per_sec" && v > 100) {
			t.Errorf("eval %s = %v (%v)", k, v, ok)
		}
	}
	if res["las"] > res["uas"] {
		t.Errorf("LAS %v above UAS %v", res["las"], res["uas"])
	}
	if code, out, _ = runDepsModelCmd("eval", "--model", model, "--treebank", dev); code != 0 || !strings.Contains(out, "UAS") || !strings.Contains(out, "tokens/s") {
		t.Errorf("eval text output: exit %d %q", code, out)
	}
}

func TestDepsTrainEvalErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conllu")
	os.WriteFile(bad, []byte("1\tword\n\n"), 0o644)
	notModel := filepath.Join(dir, "x.model")
	os.WriteFile(notModel, []byte("hello"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"train"}, cli.ExitUsage, "required"},
		{[]string{"train", "--treebank", bad, "--dev", bad, "--out", "m", "--nonproj", "x"}, cli.ExitUsage, "--nonproj"},
		{[]string{"train", "--treebank", bad, "--dev", bad, "--out", "m", "--epochs", "0"}, cli.ExitUsage, "at least 1"},
		{[]string{"train", "--treebank", bad, "--dev", bad, "--out", "m", "--strict"}, cli.ExitFailed, "line 1"},
		{[]string{"train", "--treebank", bad, "--dev", bad, "--out", "m"}, cli.ExitFailed, "no sentences"},
		{[]string{"eval"}, cli.ExitUsage, "required"},
		{[]string{"eval", "--model", notModel, "--treebank", bad}, cli.ExitFailed, "not a kadapter parser model"},
		{[]string{"eval", "--model", filepath.Join(dir, "missing"), "--treebank", bad}, cli.ExitFailed, "missing"},
	} {
		code, _, errs := runDepsModelCmd(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("deps %v: exit %d %q, want %d containing %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	for _, sub := range []string{"train", "eval"} {
		if code, out, errs := runDepsModelCmd(sub, "--help"); code != 0 || !strings.Contains(out+errs, "Usage: kprep deps "+sub) {
			t.Errorf("%s --help: exit %d %q", sub, code, out+errs)
		}
	}
}
