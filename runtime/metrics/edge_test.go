package metrics

import (
	"math"
	"reflect"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		row  []float64
		want int
	}{
		{nil, -1}, {[]float64{3}, 0}, {[]float64{1, 5, 5, 2}, 1}, {[]float64{-1, -1}, 0},
		{[]float64{nan, 2, 7}, 2}, {[]float64{1, nan, 0}, 0}, {[]float64{nan, nan}, 0},
	}
	for _, c := range cases {
		if got := Argmax(c.row); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.row, got, c.want)
		}
	}
}

func TestLosses(t *testing.T) {
	ln2 := math.Ln2
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		{"CE uniform", CrossEntropy([]float32{0, 0}, 1), ln2},
		{"CE large logits stay finite", CrossEntropy([]float64{1000, 0}, 0), 0},
		{"CE wrong class", CrossEntropy([]float64{1000, 0}, 1), 1000},
		{"mean CE", MeanCrossEntropy([][]float64{{0, 0}, {1000, 0}}, []int{0, 0}), ln2 / 2},
		{"BCE zero logit", MeanBCEWithLogits([][]float64{{0, 0}}, [][]float64{{1, 0}}), ln2},
		{"BCE large", MeanBCEWithLogits([][]float64{{100, -100}}, [][]float64{{0, 1}}), 100},
		{"losses mean", CombineLosses([]float64{1, 2, 6}, false), 3},
		{"losses sum", CombineLosses([]float64{1, 2, 6}, true), 9},
		{"no batches", CombineLosses(nil, true), 0},
	}
	for _, c := range cases {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN(CrossEntropy([]float64{1, 2}, 2)) {
		t.Error("out-of-range label did not give NaN")
	}
}

func TestTypingEdges(t *testing.T) {
	// No gold label at all: upstream divides by zero; we flag it.
	r := OpenEntityTyping([][]float64{{1, -1}, {-1, -1}}, [][]int{{0, 0}, {0, 0}})
	if !r.NoGold || r.Micro.Recall != 0 || r.Micro.F1 != 0 || r.ExactCount != 1 {
		t.Errorf("no gold: %+v", r)
	}
	// Nothing predicted: micro P = 0, macro counts empty predictions as 0.
	r = OpenEntityTyping([][]float64{{-1, -1}, {-1, -2}}, [][]int{{1, 0}, {0, 1}})
	if r.Micro != (PRF{}) || r.Macro != (PRF{}) || r.NoGold {
		t.Errorf("nothing predicted: %+v", r)
	}
	// FIGER never predicts an empty set, OpenEntity may.
	if got := FIGERPredict([][]float32{{-3, -1, -1}}); !reflect.DeepEqual(got, [][]int{{1, 2}}) {
		t.Errorf("FIGER ties at the max: %v", got)
	}
	if got := OpenEntityPredict([][]float32{{0, -1}}); !reflect.DeepEqual(got, [][]int{{}}) {
		t.Errorf("OpenEntity threshold is strict: %v", got)
	}
	// One batch holding everything: upstream == correct.
	lg := [][]float64{{1, -1}, {-1, 1}, {1, 1}}
	lb := [][]int{{1, 0}, {1, 0}, {1, 1}}
	if a, b := FIGERTyping(lg, lb), FIGERTypingUpstream(lg, lb, 3); !reflect.DeepEqual(a, b) {
		t.Errorf("single batch: %+v vs %+v", a, b)
	}
	if r := FIGERTypingUpstream([][]float64{}, [][]int{}, 2); r.Examples != 0 {
		t.Errorf("empty: %+v", r)
	}
}

func TestTACREDEdges(t *testing.T) {
	cases := []struct {
		name       string
		gold, pred []int
		want       PRF
	}{
		{"empty", nil, nil, PRF{Precision: 1}},
		{"perfect", []int{1, 2, 28}, []int{1, 2, 28}, PRF{1, 1, 1}},
		{"wrong relation counts twice", []int{1}, []int{2}, PRF{0, 0, 0}},
		{"half", []int{1, 2}, []int{1, 28}, PRF{1, 0.5, 2.0 / 3}},
	}
	for _, c := range cases {
		got := TACREDMicroF1(c.gold, c.pred, TACREDNoRelation)
		if math.Abs(got.Precision-c.want.Precision) > 1e-12 || math.Abs(got.Recall-c.want.Recall) > 1e-12 || math.Abs(got.F1-c.want.F1) > 1e-12 {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPretrainEdges(t *testing.T) {
	if MacroF1(nil, nil) != 0 {
		t.Error("MacroF1 of nothing")
	}
	// sklearn: labels {0,1,2}; F1 0 = 2/3, 1 = 0 (never right), 2 = 0.
	if got := MacroF1([]int{0, 0, 1}, []int{0, 2, 0}); math.Abs(got-(0.5/3)) > 1e-12 {
		t.Errorf("MacroF1 = %v, want %v", got, 0.5/3)
	}
	pred := [][]int{{1, 2, 3}, {1, 0, 0}}
	gold := [][]int{{1, 2, 0}, {0, 0, 0}}
	mask := [][]int{{1, 1, 1}, {1, 0, 0}}
	if got := LinAccuracy(pred, gold, mask); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("token-weighted: %v, want 2/4", got)
	}
	if got := LinAccuracyUpstream(pred, gold, mask, 1); math.Abs(got-(2.0/3)/2) > 1e-12 {
		t.Errorf("per-batch mean: %v, want (2/3 + 0)/2", got)
	}
	if got := AttentionPredictionsUpstream([][][]float64{{{0.1, 0.9}, {0.8, 0.2}}}); !reflect.DeepEqual(got, [][]int{{1, 0}}) {
		t.Errorf("attention argmax over the query axis: %v", got)
	}
}
