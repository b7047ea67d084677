package bookcorpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/pipeline"
)

// conlluSentences returns n parsed CoNLL-U sentences.
func conlluSentences(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "# sent_id = s%d\n# text = Dogs bark %d .\n1\tDogs\t_\tNOUN\t_\t_\t2\tnsubj\t_\t_\n2\tbark\t_\tVERB\t_\t_\t0\troot\t_\t_\n3\t%d\t_\tNUM\t_\t_\t2\tobj\t_\t_\n4\t.\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n", i, i, i)
	}
	return b.String()
}

func sources(t *testing.T, paths ...string) []pipeline.Source {
	t.Helper()
	srcs, err := pipeline.ExpandSources(paths, pipeline.ExpandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func readJSONList(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// TestRunEndedEarly: an input that cannot be read to its end (a truncated
// .gz) keeps its sentences before the problem, counts the rest as one
// invalid_input and is listed in the summary, as kprep trex and kprep
// features treat such inputs (the job used to drop the whole input);
// Strict stops instead. The other inputs are unaffected, and the summary
// is the manifest.
func TestRunEndedEarly(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.conllu")
	if err := os.WriteFile(good, []byte(conlluSentences(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(conlluSentences(2000)))
	zw.Close()
	cut := filepath.Join(dir, "b.conllu.gz")
	if err := os.WriteFile(cut, gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	opts := Options{Out: out, Params: Params{InputFormat: "auto", Formats: "both", MinWords: 1, MaxSeqLength: 64}, Workers: 2}
	var log bytes.Buffer
	opts.Log = &log
	sum, err := Run(context.Background(), sources(t, good, cut), opts)
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Stats
	if st.Read <= 3 || st.Read >= 2003 || st.Written != st.Read || st.Skipped[ReasonInvalidInput] != 1 || len(sum.EndedEarly) != 1 || len(sum.Failed) != 0 {
		t.Fatalf("summary %+v: want a.conllu's 3 sentences, part of b's, one invalid_input", sum)
	}
	if !strings.Contains(sum.EndedEarly[0].Error, "b.conllu.gz") || !strings.Contains(log.String(), "sentences before it are kept") {
		t.Errorf("ended early %+v, log %q: want the input named and the kept count", sum.EndedEarly, log.String())
	}
	if recs := readJSONList(t, filepath.Join(out, "train.json")); len(recs) != st.Written {
		t.Errorf("train.json holds %d records, summary says %d", len(recs), st.Written)
	}
	var man Summary
	data, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil || json.Unmarshal(data, &man) != nil || man.Stats.Written != st.Written || len(man.EndedEarly) != 1 {
		t.Errorf("manifest.json %s (%v)", data, err)
	}
	if exists(filepath.Join(out, ShardDir)) {
		t.Error("a finished run left its shards")
	}

	// Strict: the truncated input stops the run; no outputs.
	out2 := filepath.Join(dir, "out2")
	opts.Out, opts.Strict = out2, true
	if _, err := Run(context.Background(), sources(t, good, cut), opts); err == nil || !strings.Contains(err.Error(), "b.conllu.gz") {
		t.Fatalf("strict: %v, want an error naming b.conllu.gz", err)
	}
	if exists(filepath.Join(out2, "train.json")) || exists(filepath.Join(out2, "manifest.json")) {
		t.Error("a strict failure left outputs")
	}
}

// TestRunResume: an interrupted run (the state of its first input) is
// resumed with the same Params, refused with other Params
// (ErrOtherOptions), and a finished run is not redone.
func TestRunResume(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%d.conllu", i))
		os.WriteFile(p, []byte(conlluSentences(5+i)), 0o644)
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "out")
	opts := Options{Out: out, Params: Params{InputFormat: "auto", Formats: "json", MinWords: 1, MaxSeqLength: 64, Dedup: true}, Workers: 1}
	full, err := Run(context.Background(), sources(t, paths...), opts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(out, "train.json"))

	// A run cancelled after its first input leaves that input's state.
	out2 := filepath.Join(dir, "out2")
	opts.Out = out2
	ctx, cancel := context.WithCancel(context.Background())
	opts.afterInput = func(i int) { cancel() }
	if _, err := Run(ctx, sources(t, paths...), opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	opts.afterInput = nil
	if !exists(filepath.Join(out2, ShardDir, "state.json")) || exists(filepath.Join(out2, "train.json")) {
		t.Fatal("the cancelled run left no state, or outputs")
	}
	opts.Resume = true
	other := opts
	other.Params.MinWords = 2
	if _, err := Run(context.Background(), sources(t, paths...), other); !errors.Is(err, ErrOtherOptions) {
		t.Fatalf("resume with other options: %v, want ErrOtherOptions", err)
	}
	sum, err := Run(context.Background(), sources(t, paths...), opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != 1 {
		t.Errorf("resumed %d inputs, want 1", sum.Resumed)
	}
	got, _ := os.ReadFile(filepath.Join(out2, "train.json"))
	if !bytes.Equal(got, want) || sum.Stats.Written != full.Stats.Written {
		t.Fatalf("resumed run: %d sentences, train.json equal %v; uninterrupted: %d", sum.Stats.Written, bytes.Equal(got, want), full.Stats.Written)
	}
	again, err := Run(context.Background(), sources(t, paths...), opts)
	if err != nil || !again.NoChange {
		t.Fatalf("finished run resumed: %v, NoChange %v", err, again != nil && again.NoChange)
	}
}
