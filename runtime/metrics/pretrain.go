package metrics

import "sort"

// FacResult is the fac-adapter pre-training evaluation (fac-adapter.py):
// sklearn's f1_score on argmax predictions.
type FacResult struct {
	// Examples is the number of evaluated examples.
	Examples int `json:"examples"`
	// MicroF1 is sklearn's micro-F1, which for single-label data is the
	// accuracy.
	MicroF1 float64 `json:"micro_F1"`
	// MacroF1 is sklearn's macro-F1 over the labels present in gold ∪ pred.
	MacroF1 float64 `json:"macro_F1"`
	// Loss is the evaluation loss: mean over batches, or the original sum
	// when asked for (see CombineLosses).
	Loss float64 `json:"loss"`
}

// MacroF1 is sklearn's f1_score(gold, pred, average='macro'): the unweighted
// mean over every label present in gold or pred of that label's F1 =
// 2·tp/(2·tp+fp+fn) (0 for a label with no true positive). No examples
// give 0.
func MacroF1(gold, pred []int) float64 {
	type counts struct{ tp, fp, fn int }
	per := map[int]*counts{}
	get := func(l int) *counts {
		c := per[l]
		if c == nil {
			c = &counts{}
			per[l] = c
		}
		return c
	}
	n := min(len(gold), len(pred))
	for i := 0; i < n; i++ {
		g, p := gold[i], pred[i]
		if g == p {
			get(g).tp++
			continue
		}
		get(g).fn++
		get(p).fp++
	}
	if len(per) == 0 {
		return 0
	}
	labels := make([]int, 0, len(per))
	for l := range per {
		labels = append(labels, l)
	}
	sort.Ints(labels) // a fixed summation order keeps the result bit-stable
	var s float64
	for _, l := range labels {
		c := per[l]
		if c.tp == 0 {
			continue
		}
		prec := float64(c.tp) / float64(c.tp+c.fp)
		rec := float64(c.tp) / float64(c.tp+c.fn)
		s += 2 * prec * rec / (prec + rec)
	}
	return s / float64(len(labels))
}

// FacPretrain evaluates fac-adapter relation classification from predicted
// ids. batchLosses are the per-batch mean losses; sumLoss selects the
// original's summed report (quirk 23) instead of the mean.
func FacPretrain(gold, pred []int, batchLosses []float64, sumLoss bool) FacResult {
	_, acc := Accuracy(gold, pred)
	return FacResult{
		Examples: len(gold),
		MicroF1:  acc,
		MacroF1:  MacroF1(gold, pred),
		Loss:     CombineLosses(batchLosses, sumLoss),
	}
}

// TokenPredictions returns the argmax over the last axis of per-example
// [L][C] logits (lin-adapter: C = max_seq_length candidate head positions).
func TokenPredictions[T Float](logits [][][]T) [][]int {
	out := make([][]int, len(logits))
	for i, ex := range logits {
		out[i] = ArgmaxRows(ex)
	}
	return out
}

// tokenCounts returns the number of attended positions (mask != 0) and how
// many of them have pred == label, over examples [from, to).
func tokenCounts(pred, labels, mask [][]int, from, to int) (correct, total int) {
	for i := from; i < to; i++ {
		for j, m := range mask[i] {
			if m == 0 {
				continue
			}
			total++
			if j < len(pred[i]) && j < len(labels[i]) && pred[i][j] == labels[i][j] {
				correct++
			}
		}
	}
	return correct, total
}

// LinAccuracy is the corrected lin-adapter accuracy (quirk 22): correct
// predictions over all attended positions (mask != 0) of all examples,
// token-weighted. pred, labels and mask are per-example rows of equal
// length. No attended position gives 0.
func LinAccuracy(pred, labels, mask [][]int) float64 {
	c, t := tokenCounts(pred, labels, mask, 0, len(mask))
	if t == 0 {
		return 0
	}
	return float64(c) / float64(t)
}

// LinAccuracyUpstream is lin-adapter.py's eval_accuracy: per evaluation
// batch of evalBatchSize examples the token accuracy over attended
// positions, then the unweighted mean over batches (so it depends on the
// batch size). A batch without attended positions counts as 0 (upstream
// gets NaN).
func LinAccuracyUpstream(pred, labels, mask [][]int, evalBatchSize int) float64 {
	if evalBatchSize < 1 {
		evalBatchSize = 1
	}
	var s float64
	nb := 0
	for from := 0; from < len(mask); from += evalBatchSize {
		to := min(from+evalBatchSize, len(mask))
		c, t := tokenCounts(pred, labels, mask, from, to)
		if t > 0 {
			s += float64(c) / float64(t)
		}
		nb++
	}
	if nb == 0 {
		return 0
	}
	return s / float64(nb)
}

// AttentionPredictionsUpstream reproduces how lin-adapter.py reads
// predictions off attention probabilities for att_eval_accuracy: for each
// example's [L][L] matrix probs[i][j] it takes, for every column j, the
// argmax over the first (query) axis i — the axis the spec calls
// meaningless. Feed the result to LinAccuracyUpstream.
func AttentionPredictionsUpstream[T Float](probs [][][]T) [][]int {
	out := make([][]int, len(probs))
	for e, m := range probs {
		if len(m) == 0 {
			out[e] = []int{}
			continue
		}
		cols := len(m[0])
		row := make([]int, cols)
		for j := 0; j < cols; j++ {
			best := 0
			for i := 1; i < len(m); i++ {
				if m[i][j] > m[best][j] {
					best = i
				}
			}
			row[j] = best
		}
		out[e] = row
	}
	return out
}

// MultipleChoiceAccuracy is CosmosQA's accuracy: the argmax over each row
// of [N][choices] logits compared with the gold choice.
func MultipleChoiceAccuracy[T Float](logits [][]T, labels []int) (correct int, acc float64) {
	return Accuracy(labels, ArgmaxRows(logits))
}
