package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/testshared"
)

// TestEvalVocabLargerThanModel runs krun eval on the kadapter-tiny TACRED
// model (an embedding of 1000 rows) with RoBERTa's full 50,265-token
// vocabulary: the ids are checked before anything runs, and the error names
// the data file, the record, both sizes and the embedding table, without
// ONNX Runtime's raw (coloured) message. --strict does the same.
func TestEvalVocabLargerThanModel(t *testing.T) {
	rtRequireORT(t)
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	bigVocab := testshared.Path(t, "data", "roberta")
	pre, smallVocab := rtLoadRefTask(t, "tacred")
	data := rtWriteRecords(t, pre.Cases, false)
	first := rtWriteRecords(t, pre.Cases[:1], false) // a valid record, for --strict
	model := rtExportFixture(t, root, "tacred", "pytorch_model.bin", models.TaskTACRED, 0, 0)
	args := func(vocab, data string, extra ...string) []string {
		return append([]string{"eval", "--task", "tacred", "--model", model, "--data", data, "--vocab", vocab,
			"--max-seq-length", rtItoa(pre.MaxSeqLength), "--threads", "1", "--quiet"}, extra...)
	}
	if code, _, stderr := rtRun(t, context.Background(), "", args(smallVocab, data)...); code != 0 {
		t.Fatalf("matching vocabulary: exit %d: %s", code, stderr)
	}
	for _, extra := range [][]string{nil, {"--strict"}} {
		data := data
		if extra != nil {
			data = first
		}
		code, _, stderr := rtRun(t, context.Background(), "", args(bigVocab, data, extra...)...)
		if code != 1 {
			t.Fatalf("%v: exit %d, want 1: %s", extra, code, stderr)
		}
		for _, want := range []string{model, data + " record ", "--vocab " + bigVocab + ": 50265 tokens",
			"roberta.embeddings.word_embeddings.weight of 1000 rows", "input_ids id "} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr %q does not mention %q", extra, stderr, want)
			}
		}
		for _, bad := range []string{"\x1b", "Non-zero status code", "Gather"} {
			if strings.Contains(stderr, bad) {
				t.Errorf("%v: stderr %q holds %q (a raw ONNX Runtime error)", extra, stderr, bad)
			}
		}
	}
}
