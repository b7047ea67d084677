package metrics

// TypingResult is the outcome of an entity-typing evaluation (OpenEntity's
// entity_typing_accuracy, FIGER's accuracy/loose_micro/loose_macro).
type TypingResult struct {
	// Examples is the number of examples evaluated.
	Examples int `json:"examples"`
	// ExactCount is the number of examples whose predicted label set equals
	// the gold set (the first element of upstream's OpenEntity tuple).
	ExactCount int `json:"exact_count"`
	// ExactRatio is ExactCount/Examples (FIGER's ERINE_accuracy).
	ExactRatio float64 `json:"exact_ratio"`
	// Micro is the loose micro P/R/F1.
	Micro PRF `json:"loose_micro"`
	// Macro is the loose macro P/R/F1.
	Macro PRF `json:"loose_macro"`
	// NoGold is true when no example had any gold label; upstream divides
	// by zero there (ZeroDivisionError), we report a micro recall of 0.
	NoGold bool `json:"no_gold,omitempty"`
}

// OpenEntityPredict returns, for each row, the predicted label set of
// OpenEntity: {i : logit_i > 0}, strict, possibly empty (spec quirk 17).
func OpenEntityPredict[T Float](logits [][]T) [][]int { return positiveSets(logits) }

// FIGERPredict returns, for each row, the predicted label set of FIGER:
// {i : logit_i > 0 or logit_i == row max} (never empty; ties at the maximum
// are all kept).
func FIGERPredict[T Float](logits [][]T) [][]int {
	out := make([][]int, len(logits))
	for r, row := range logits {
		set := []int{}
		if len(row) > 0 {
			top := row[Argmax(row)]
			for i, v := range row {
				if v > 0 || v == top {
					set = append(set, i)
				}
			}
		}
		out[r] = set
	}
	return out
}

// GoldSets returns, for each multi-hot label row, the set {i : label_i > 0}.
func GoldSets[T Number](labels [][]T) [][]int { return positiveSets(labels) }

// positiveSets returns, for each row, the set {i : row_i > 0} (never nil).
func positiveSets[T Number](rows [][]T) [][]int {
	out := make([][]int, len(rows))
	for r, row := range rows {
		set := []int{}
		for i, v := range row {
			if v > 0 {
				set = append(set, i)
			}
		}
		out[r] = set
	}
	return out
}

// intersect returns |a ∩ b| for sets given as slices of distinct ids.
func intersect(a, b []int) int {
	n := 0
	for _, x := range a {
		for _, y := range b {
			if x == y {
				n++
				break
			}
		}
	}
	return n
}

// sameSet reports whether two slices of distinct ids hold the same set.
func sameSet(a, b []int) bool {
	return len(a) == len(b) && intersect(a, b) == len(a)
}

// LooseMicro is the original loose_micro(true, pred): P = Σ|p∩g|/Σ|p| (0
// when nothing was predicted), R = Σ|p∩g|/Σ|g|, F1 = 2PR/(P+R) but 0
// whenever R is 0. noGold is true when Σ|g| = 0 (upstream raises
// ZeroDivisionError; R is reported as 0).
func LooseMicro(gold, pred [][]int) (res PRF, noGold bool) {
	var np, ng, nc int
	for i := range gold {
		np += len(pred[i])
		ng += len(gold[i])
		nc += intersect(pred[i], gold[i])
	}
	if np > 0 {
		res.Precision = float64(nc) / float64(np)
	}
	if ng > 0 {
		res.Recall = float64(nc) / float64(ng)
	} else {
		noGold = true
	}
	res.F1 = typingF1(res.Precision, res.Recall)
	return res, noGold
}

// LooseMacro is the original loose_macro(true, pred): P = mean over all
// examples of |p∩g|/|p| (an empty p contributes 0 but counts), R = mean of
// |p∩g|/|g| (an empty g contributes 0 but counts), F1 = 2PR/(P+R) but 0
// whenever R is 0. No examples give zeros.
func LooseMacro(gold, pred [][]int) PRF {
	if len(gold) == 0 {
		return PRF{}
	}
	var p, r float64
	for i := range gold {
		c := float64(intersect(pred[i], gold[i]))
		if len(pred[i]) > 0 {
			p += c / float64(len(pred[i]))
		}
		if len(gold[i]) > 0 {
			r += c / float64(len(gold[i]))
		}
	}
	n := float64(len(gold))
	res := PRF{Precision: p / n, Recall: r / n}
	res.F1 = typingF1(res.Precision, res.Recall)
	return res
}

// typingF1 is the typing scripts' f1(p, r): 0 when r == 0, else 2pr/(p+r).
func typingF1(p, r float64) float64 {
	if r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// TypingSets evaluates predicted label sets against gold label sets:
// exact-set-match count and ratio, loose micro, loose macro.
func TypingSets(gold, pred [][]int) TypingResult {
	res := TypingResult{Examples: len(gold)}
	for i := range gold {
		if sameSet(gold[i], pred[i]) {
			res.ExactCount++
		}
	}
	if res.Examples > 0 {
		res.ExactRatio = float64(res.ExactCount) / float64(res.Examples)
	}
	res.Micro, res.NoGold = LooseMicro(gold, pred)
	res.Macro = LooseMacro(gold, pred)
	return res
}

// OpenEntityTyping is the original entity_typing_accuracy(logits, labels):
// strict threshold > 0 predictions against multi-hot labels. Upstream
// returns (ExactCount, Micro, Macro); ExactRatio is provided as well.
func OpenEntityTyping[T Float, L Number](logits [][]T, labels [][]L) TypingResult {
	return TypingSets(GoldSets(labels), OpenEntityPredict(logits))
}

// FIGERTyping is FIGER's metric computed correctly: predictions {> 0 or ==
// max} of every example counted once. ExactRatio is ERINE_accuracy, Micro
// ERINE_micro and Macro ERINE_macro.
func FIGERTyping[T Float, L Number](logits [][]T, labels [][]L) TypingResult {
	return TypingSets(GoldSets(labels), FIGERPredict(logits))
}

// FIGERTypingUpstream reproduces run_finetune_figer_adapter.py's evaluation
// with its cumulative bug (spec quirk 18): after every evaluation batch the
// prediction and gold lists are extended with those of all batches so far,
// so with n batches an example of batch j (1-based) is counted n−j+1 times
// in the loose micro/macro. ExactCount/ExactRatio are not affected (they
// come from the last call, over all examples once). evalBatchSize is the
// original per_gpu_eval_batch_size × max(1, n_gpu); values < 1 mean 1.
func FIGERTypingUpstream[T Float, L Number](logits [][]T, labels [][]L, evalBatchSize int) TypingResult {
	if evalBatchSize < 1 {
		evalBatchSize = 1
	}
	gold := GoldSets(labels)
	pred := FIGERPredict(logits)
	res := TypingSets(gold, pred)
	var cg, cp [][]int
	for end := evalBatchSize; ; end += evalBatchSize {
		if end > len(gold) {
			end = len(gold)
		}
		cg = append(cg, gold[:end]...)
		cp = append(cp, pred[:end]...)
		if end == len(gold) {
			break
		}
	}
	res.Micro, res.NoGold = LooseMicro(cg, cp)
	res.Macro = LooseMacro(cg, cp)
	return res
}
