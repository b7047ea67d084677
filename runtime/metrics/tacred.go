package metrics

// TACREDNoRelation is the index of "no_relation" in the original's fixed
// 42-label TACRED list (examples/utils_glue.py).
const TACREDNoRelation = 28

// TACREDMicroF1 is the original micro_f1_tacred on predicted label ids
// (normally the argmax of the logits). For each example:
//   - gold NR, pred NR: ignored;
//   - gold NR, pred r: guessed[r]++;
//   - gold r, pred NR: gold[r]++;
//   - gold r, pred r': guessed[r']++, gold[r]++, correct++ if r == r'.
//
// P = Σcorrect/Σguessed (1.0 when nothing was guessed, as upstream),
// R = Σcorrect/Σgold (0 when there is no gold relation), F1 = 2PR/(P+R)
// (0 when P+R is 0). noRelation is the id of no_relation (TACREDNoRelation
// for TACRED).
func TACREDMicroF1(gold, pred []int, noRelation int) PRF {
	var correct, guessed, goldN int
	n := min(len(gold), len(pred))
	for i := 0; i < n; i++ {
		g, p := gold[i], pred[i]
		switch {
		case g == noRelation && p == noRelation:
		case g == noRelation:
			guessed++
		case p == noRelation:
			goldN++
		default:
			guessed++
			goldN++
			if g == p {
				correct++
			}
		}
	}
	prec := 1.0
	if guessed > 0 {
		prec = float64(correct) / float64(guessed)
	}
	rec := 0.0
	if goldN > 0 {
		rec = float64(correct) / float64(goldN)
	}
	return PRF{Precision: prec, Recall: rec, F1: f1(prec, rec)}
}
