package tasks

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
)

func TestEvaluable(t *testing.T) {
	var names []string
	orders := map[int]bool{}
	for _, d := range Evaluable() {
		names = append(names, string(d.Task))
		ev := d.Eval
		if ev.Score == nil || ev.Predict == nil || ev.About == "" || ev.LabelField == "" {
			t.Errorf("%s: incomplete Eval (Score, Predict, About and LabelField are required)", d.Task)
		}
		if orders[ev.Order] {
			t.Errorf("%s: Order %d used twice", d.Task, ev.Order)
		}
		orders[ev.Order] = true
		if d.Metric == "" {
			t.Errorf("%s: no headline metric", d.Task)
		}
	}
	if want := []string{"tacred", "openentity", "figer", "cosmosqa", "trex-rc", "find-head"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("Evaluable: %v, want %v", names, want)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{{"tacred", true}, {"find-head", true}, {"fac", false}, {"open-entity", false}, {"squad", false}, {"", false}} {
		if got := Lookup(c.name) != nil; got != c.ok {
			t.Errorf("Lookup(%q) found %v, want %v", c.name, got, c.ok)
		}
	}
}

// oneHot is a logits vector of n entries, +1 at k and -1 elsewhere.
func oneHot(n, k int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = -1
	}
	if k >= 0 {
		v[k] = 1
	}
	return v
}

func multiHot(n int, ks ...int) []int64 {
	v := make([]int64, n)
	for _, k := range ks {
		v[k] = 1
	}
	return v
}

func vectors(vs ...[]float32) []Output {
	out := make([]Output, len(vs))
	for i, v := range vs {
		out[i] = Output{Logits: v}
	}
	return out
}

// TestScore scores small hand-computed cases of every task and checks the
// headline metric, a few named values, and that Values holds the
// definition's headline metric.
func TestScore(t *testing.T) {
	nr := 28 // no_relation in the TACRED list
	cases := []struct {
		task   string
		in     ScoreInput
		want   float64            // headline
		values map[string]float64 // some other values
	}{
		{
			// correct; NR gold guessed as 5; 3 missed as NR: guessed 2,
			// gold 2, correct 1.
			task: "tacred",
			in: ScoreInput{
				Examples: []features.Example{{Label: 0}, {Label: nr}, {Label: 3}},
				Outputs:  vectors(oneHot(42, 0), oneHot(42, 5), oneHot(42, nr)),
				Labels:   features.TACREDRelations, BatchSize: 2,
			},
			want: 0.5, values: map[string]float64{"precision": 0.5, "recall": 0.5, "f1": 0.5},
		},
		{
			// nothing guessed: precision 1, recall 0.
			task: "tacred",
			in: ScoreInput{
				Examples: []features.Example{{Label: 1}},
				Outputs:  vectors(oneHot(42, nr)),
				Labels:   features.TACREDRelations, BatchSize: 8,
			},
			want: 0, values: map[string]float64{"precision": 1, "recall": 0},
		},
		{
			task: "trex-rc",
			in: ScoreInput{
				Examples: []features.Example{{Label: 0}, {Label: 1}, {Label: 2}},
				Outputs:  vectors(oneHot(3, 0), oneHot(3, 1), oneHot(3, 1)),
				Labels:   []string{"P1", "P2", "P3"}, BatchSize: 8,
			},
			want: 2.0 / 3, values: map[string]float64{"macro_f1": (1 + 2.0/3 + 0) / 3},
		},
		{
			// exact, then nothing predicted: micro P 1/1, R 1/2.
			task: "openentity",
			in: ScoreInput{
				Examples: []features.Example{{Labels: multiHot(9, 0)}, {Labels: multiHot(9, 1)}},
				Outputs:  vectors(oneHot(9, 0), oneHot(9, -1)),
				Labels:   features.OpenEntityLabels, BatchSize: 1,
			},
			want: 2.0 / 3, values: map[string]float64{"exact_count": 1, "loose_micro_precision": 1, "loose_micro_recall": 0.5},
		},
		{
			// FIGER keeps the row maximum: the second example predicts
			// every type (all tie), so one exact match of two.
			task: "figer",
			in: ScoreInput{
				Examples:  []features.Example{{Labels: multiHot(3, 0)}, {Labels: multiHot(3, 1)}},
				Outputs:   vectors(oneHot(3, 0), oneHot(3, -1)),
				BatchSize: 1,
			},
			want: 0.5, values: map[string]float64{"exact_ratio": 0.5, "exact_count": 1},
		},
		{
			task: "cosmosqa",
			in: ScoreInput{
				Examples:  []features.Example{{Label: 0}, {Label: 1}, {Label: -1}},
				Outputs:   vectors([]float32{3, 1, 0, 0}, []float32{0, 0, 2, 1}, []float32{1, 0, 0, 0}),
				BatchSize: 2,
			},
			want: 0.5, values: map[string]float64{"correct": 1, "labeled": 2, "unlabeled": 1},
		},
		{
			// 3 attended positions, one ignored label: 2 active, 1 right.
			task: "find-head",
			in: ScoreInput{
				Examples:  []features.Example{{AttentionMask: []int64{1, 1, 1, 0}, Labels: []int64{0, 2, features.IgnoreLabel, 0}}},
				Outputs:   []Output{{Heads: []int{0, 1, 3}, LossSum: 1.5, LossN: 2}},
				BatchSize: 1,
			},
			want: 0.5, values: map[string]float64{"tokens": 2, "loss": 0.75},
		},
	}
	for _, c := range cases {
		t.Run(c.task, func(t *testing.T) {
			d := Lookup(c.task)
			r, err := d.Eval.Score(c.in)
			if err != nil {
				t.Fatal(err)
			}
			vs := r.Values()
			got, ok := vs[d.Metric]
			if !ok {
				t.Fatalf("Values %v lacks the headline metric %q", vs, d.Metric)
			}
			if math.Abs(got-c.want) > 1e-12 {
				t.Errorf("%s = %v, want %v", d.Metric, got, c.want)
			}
			for k, want := range c.values {
				if math.Abs(vs[k]-want) > 1e-12 {
					t.Errorf("%s = %v, want %v (values %v)", k, vs[k], want, vs)
				}
			}
			var text strings.Builder
			r.WriteText(&text)
			if !strings.HasSuffix(text.String(), "\n") {
				t.Errorf("WriteText %q does not end a line", text.String())
			}
			if _, err := json.Marshal(r); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestScoreWidthMismatch(t *testing.T) {
	for _, task := range []string{"tacred", "trex-rc", "openentity", "figer"} {
		in := ScoreInput{Examples: []features.Example{{Label: 0, Labels: []int64{1, 0, 0}}}, Outputs: vectors(oneHot(3, 0)), Labels: []string{"a", "b"}, BatchSize: 1}
		_, err := Lookup(task).Eval.Score(in)
		if err == nil || !strings.Contains(err.Error(), "the graph gives 3 logits per example, the "+task+" label list has 2") {
			t.Errorf("%s: error %v", task, err)
		}
	}
}

func TestBatchMeans(t *testing.T) {
	for _, c := range []struct {
		sums   []float64
		counts []int
		bs     int
		want   []float64
	}{
		{[]float64{1, 2, 3}, []int{1, 1, 1}, 2, []float64{1.5, 3}},
		{[]float64{1, 2, 3}, []int{1, 1, 1}, 5, []float64{2}},
		{[]float64{4, 0, 6}, []int{2, 0, 3}, 1, []float64{2, 2}}, // a batch without tokens is left out
		{nil, nil, 3, nil},
	} {
		if got := batchMeans(c.sums, c.counts, c.bs); !reflect.DeepEqual(got, c.want) {
			t.Errorf("batchMeans(%v, %v, %d) = %v, want %v", c.sums, c.counts, c.bs, got, c.want)
		}
	}
}

// TestPredict checks each task's prediction line.
func TestPredict(t *testing.T) {
	cases := []struct {
		task     string
		ex       features.Example
		o        Output
		labels   []string
		withGold bool
		want     string
	}{
		{"tacred", features.Example{Record: 3, ID: "x", Label: 1}, Output{Logits: []float32{0, 2, 1}}, []string{"a", "b", "c"}, true,
			`{"record":3,"id":"x","gold":"b","pred":"b","pred_id":1,"logits":[0,2,1]}`},
		{"trex-rc", features.Example{Label: 7}, Output{Logits: []float32{0, 2, 1}}, []string{"a", "b", "c"}, true,
			`{"record":0,"id":"","gold":"#7","pred":"b","pred_id":1,"logits":[0,2,1]}`},
		{"tacred", features.Example{Label: 1}, Output{Logits: []float32{0, 2, 1}}, []string{"a", "b", "c"}, false,
			`{"record":0,"id":"","pred":"b","pred_id":1,"logits":[0,2,1]}`},
		{"openentity", features.Example{Labels: []int64{1, 0, 1}}, Output{Logits: []float32{1, -1, -2}}, []string{"a", "b", "c"}, true,
			`{"record":0,"id":"","gold":["a","c"],"pred":["a"],"pred_id":[0],"logits":[1,-1,-2]}`},
		{"openentity", features.Example{Labels: []int64{0, 0, 0}}, Output{Logits: []float32{-1, -1, -2}}, []string{"a", "b", "c"}, true,
			`{"record":0,"id":"","gold":[],"pred":[],"pred_id":[],"logits":[-1,-1,-2]}`},
		{"figer", features.Example{Labels: []int64{0, 1, 0}}, Output{Logits: []float32{-1, -1, -2}}, []string{"a", "b", "c"}, true,
			`{"record":0,"id":"","gold":["b"],"pred":["a","b"],"pred_id":[0,1],"logits":[-1,-1,-2]}`},
		{"cosmosqa", features.Example{Label: 2}, Output{Logits: []float32{0, 1, 3, 2}}, nil, true,
			`{"record":0,"id":"","gold":2,"pred":2,"logits":[0,1,3,2]}`},
		{"cosmosqa", features.Example{Label: -1}, Output{Logits: []float32{0, 1, 3, 2}}, nil, true,
			`{"record":0,"id":"","pred":2,"logits":[0,1,3,2]}`},
		{"find-head", features.Example{Labels: []int64{0, 1, 1, 5}}, Output{Heads: []int{0, 2}}, nil, true,
			`{"record":0,"id":"","gold":[0,1],"pred":[0,2]}`},
	}
	for _, c := range cases {
		p := Prediction{Record: c.ex.Record, ID: c.ex.ID}
		Lookup(c.task).Eval.Predict(&p, &c.ex, c.o, c.labels, c.withGold)
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s: %s\n want %s", c.task, b, c.want)
		}
	}
}

func TestReduceHeads(t *testing.T) {
	// L = 3 positions, C = 2 classes.
	data := []float32{0, 1, 1, 0, 5, 5}
	cases := []struct {
		ex      features.Example
		heads   []int
		lossN   int
		wantErr string
	}{
		{features.Example{AttentionMask: []int64{1, 1, 0}, Labels: []int64{1, 0, 0}}, []int{1, 0}, 2, ""},
		{features.Example{AttentionMask: []int64{1, 1, 1}, Labels: []int64{1, features.IgnoreLabel, 0}}, []int{1, 0, 0}, 2, ""},
		{features.Example{Record: 4, AttentionMask: []int64{1, 1, 0}, Labels: []int64{1, 2, 0}}, nil, 0, "record 4: head label 2 at position 1 is outside the graph's 2 head classes"},
	}
	for i, c := range cases {
		o, err := reduceHeads(&c.ex, data, 3, 2)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("case %d: error %v, want %q", i, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o.Heads, c.heads) || o.LossN != c.lossN || o.LossSum <= 0 {
			t.Errorf("case %d: %+v, want heads %v over %d positions", i, o, c.heads, c.lossN)
		}
	}
}
