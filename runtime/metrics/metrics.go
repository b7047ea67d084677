// Package metrics implements the evaluation functions of the original
// K-Adapter scripts (spec §6 and §7) exactly, including the quirks the spec
// says to reproduce, and the corrected variants it says to offer:
//
//   - TACRED: micro P/R/F1 that ignores no_relation (index 28), with P = 1.0
//     when nothing was guessed (micro_f1_tacred).
//   - OpenEntity: predicted set {i : logit_i > 0} (strict, may be empty),
//     exact-set-match count (and ratio), loose micro and loose macro
//     (entity_typing_accuracy).
//   - FIGER: predicted set {i : logit_i > 0 or logit_i == row max}, the
//     correct metric over all examples once, and behind an option the
//     original's batch-size-dependent cumulative re-counting.
//   - CosmosQA: accuracy of the argmax over the four choices.
//   - fac-adapter pre-training: sklearn micro-F1 (= accuracy) and macro-F1
//     over the labels present in gold ∪ predictions; loss as a mean over
//     batches (the original's sum behind an option).
//   - lin-adapter pre-training: token accuracy on attended positions,
//     token-weighted, or the original's unweighted mean over batches.
//
// Every function is pure and deterministic; ties in an argmax go to the first
// maximum, as numpy's argmax does.
package metrics

import "math"

// Float is the element type logits may have: float32 as ONNX Runtime returns
// them, or float64 as the reference fixtures store them.
type Float interface{ ~float32 | ~float64 }

// Number is the element type multi-hot label rows may have.
type Number interface {
	~float32 | ~float64 | ~int | ~int32 | ~int64
}

// PRF is a precision, recall, F1 triple.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Argmax returns the index of the first maximum of row (numpy semantics:
// the first of equal maxima wins), or -1 for an empty row. NaN entries are
// never chosen unless every entry is NaN, in which case 0 is returned.
func Argmax[T Float](row []T) int {
	if len(row) == 0 {
		return -1
	}
	best := 0
	for i := 1; i < len(row); i++ {
		if row[i] > row[best] || (row[best] != row[best] && row[i] == row[i]) {
			best = i
		}
	}
	return best
}

// ArgmaxRows applies Argmax to every row.
func ArgmaxRows[T Float](rows [][]T) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = Argmax(r)
	}
	return out
}

// Accuracy returns the number of positions where pred equals gold and that
// number divided by len(gold) (0 for no examples). It is CosmosQA's metric
// (on argmax predictions) and the fac-adapter's micro-F1. The slices must
// have the same length; extra entries of the longer one are ignored.
func Accuracy(gold, pred []int) (correct int, acc float64) {
	n := min(len(gold), len(pred))
	for i := 0; i < n; i++ {
		if gold[i] == pred[i] {
			correct++
		}
	}
	if len(gold) == 0 {
		return 0, 0
	}
	return correct, float64(correct) / float64(len(gold))
}

// f1 is 2PR/(P+R), 0 when P+R is 0.
func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// CombineLosses turns per-batch mean losses into the reported evaluation
// loss: their mean over batches (what every original script except the
// fac-adapter reports), or their sum when sum is true (the fac-adapter's
// original report, spec quirk 23). No batches give 0.
func CombineLosses(batchLosses []float64, sum bool) float64 {
	if len(batchLosses) == 0 {
		return 0
	}
	var s float64
	for _, l := range batchLosses {
		s += l
	}
	if sum {
		return s
	}
	return s / float64(len(batchLosses))
}

// CrossEntropy returns -log softmax(logits)[label], computed in float64
// with the log-sum-exp shift. A label outside the row gives NaN.
func CrossEntropy[T Float](logits []T, label int) float64 {
	if label < 0 || label >= len(logits) {
		return math.NaN()
	}
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s) - float64(logits[label])
}

// MeanCrossEntropy is torch's CrossEntropyLoss (mean reduction) over a batch.
func MeanCrossEntropy[T Float](logits [][]T, labels []int) float64 {
	if len(logits) == 0 {
		return 0
	}
	var s float64
	for i, row := range logits {
		s += CrossEntropy(row, labels[i])
	}
	return s / float64(len(logits))
}

// MeanBCEWithLogits is torch's BCEWithLogitsLoss (mean over every element of
// the batch) with targets in {0,1} (any value is accepted as a target).
func MeanBCEWithLogits[T Float](logits [][]T, targets [][]float64) float64 {
	var s float64
	n := 0
	for i, row := range logits {
		for j, v := range row {
			x := float64(v)
			y := targets[i][j]
			// max(x,0) - x*y + log(1 + exp(-|x|)), the stable form torch uses.
			s += math.Max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}
