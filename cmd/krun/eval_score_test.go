package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/kadapter/kadapter/evaluate"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/runtime/onnxtest"
	"github.com/kadapter/kadapter/tasks"
)

// TestEvalMatchesScore checks that evaluate.Score, the API a trainer
// calls on a dev set, gives exactly krun eval's metrics (its --json
// "metrics" object), for each task, at a batch size and padding that
// change the batch-dependent values.
func TestEvalMatchesScore(t *testing.T) {
	rtRequireORT(t)
	for _, c := range []struct {
		task, ref string
		model     []byte
		lines     bool
		extra     []string
		o         evaluate.Options
	}{
		{"tacred", "tacred", onnxtest.Scorer(42, "subj_pos", "obj_pos"), false, nil, evaluate.Options{}},
		{"openentity", "openentity", onnxtest.Scorer(9, "entity_pos"), false, []string{"--padding", "dynamic"}, evaluate.Options{Padding: krt.PadDynamic}},
		{"cosmosqa", "cosmosqa", onnxtest.MultipleChoice(), true, []string{"--pad-id", "1"}, evaluate.Options{PadID: 1}},
		{"trex-rc", "trex_rc", onnxtest.Scorer(410, "subj_pos", "obj_pos"), false, []string{"--fac-loss-sum"}, evaluate.Options{ScoreOptions: tasks.ScoreOptions{FacLossSum: true}}},
		{"find-head", "find_head", onnxtest.TokenClassifier(24), false, nil, evaluate.Options{}},
	} {
		t.Run(c.task, func(t *testing.T) {
			ref, vocab := rtLoadRefTask(t, c.ref)
			data := rtWriteRecords(t, ref.Cases, c.lines)
			model := rtWriteModel(t, c.model)
			args := append([]string{"eval", "--task", c.task, "--model", model, "--data", data, "--vocab", vocab,
				"--max-seq-length", rtItoa(ref.MaxSeqLength), "--batch-size", "2", "--json", "--quiet"}, c.extra...)
			code, stdout, stderr := rtRun(t, context.Background(), "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep struct {
				Metrics json.RawMessage `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			sess, err := krt.Open(model, krt.Options{Outputs: []string{"logits"}})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			o := c.o
			o.MaxSeqLength, o.BatchSize = ref.MaxSeqLength, 2
			m, err := evaluate.Score(context.Background(), sess, c.task, data, vocab, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(m.Result)
			if err != nil {
				t.Fatal(err)
			}
			if rtCanonicalJSON(t, got) != rtCanonicalJSON(t, rep.Metrics) {
				t.Errorf("evaluate.Score: %s\nkrun eval:      %s", got, rep.Metrics)
			}
		})
	}
}

// rtCanonicalJSON re-encodes JSON without indentation, keys sorted.
func rtCanonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
