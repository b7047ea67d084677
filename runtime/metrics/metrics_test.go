package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// reference mirrors metrics/metrics_reference.json of the kadapter-tiny
// fixtures (the original evaluation functions run on crafted logits).
type reference struct {
	TACREDMicroF1 map[string]struct {
		Labels []int     `json:"labels"`
		Preds  []int     `json:"preds"`
		Result []float64 `json:"result_p_r_f1"`
	} `json:"tacred_micro_f1"`
	TACREDEvaluate struct {
		EvalBatchSize int                  `json:"eval_batch_size"`
		Labels        []int                `json:"labels"`
		Logits        [][]float64          `json:"logits"`
		NoRelationID  int                  `json:"no_relation_id"`
		Result        map[string][]float64 `json:"result"`
	} `json:"tacred_evaluate"`
	OpenEntity struct {
		Labels [][]float64       `json:"labels"`
		Logits [][]float64       `json:"logits"`
		Result []json.RawMessage `json:"result"`
	} `json:"openentity_entity_typing_accuracy"`
	OpenEntityEvaluate struct {
		EvalBatchSize int                          `json:"eval_batch_size"`
		Result        map[string][]json.RawMessage `json:"result"`
	} `json:"openentity_evaluate"`
	FIGERAccuracy struct {
		Labels [][]float64       `json:"labels"`
		Logits [][]float64       `json:"logits"`
		Result []json.RawMessage `json:"result"`
	} `json:"figer_accuracy_fn"`
	FIGEREvaluate map[string]json.RawMessage `json:"figer_evaluate"`
	Cosmos        struct {
		CorrectCount int         `json:"correct_count"`
		Labels       []int       `json:"labels"`
		Logits       [][]float64 `json:"logits"`
	} `json:"cosmosqa_accuracy"`
	Fac struct {
		Labels []int `json:"labels"`
		Argmax []int `json:"logits_argmax"`
		Result struct {
			Loss    float64 `json:"loss"`
			MacroF1 float64 `json:"macro_F1"`
			MicroF1 float64 `json:"micro_F1"`
		} `json:"result"`
	} `json:"fac_pretrain_evaluate"`
	Lin struct {
		AttentionMask  [][]int         `json:"attention_mask"`
		AttentionProbs [][][][]float64 `json:"attention_probs"`
		EvalBatchSize  int             `json:"eval_batch_size"`
		Labels         [][]int         `json:"labels"`
		Logits         [][][]float64   `json:"logits"`
		Result         struct {
			Accuracy float64 `json:"accuray"`
			Loss     float64 `json:"loss"`
		} `json:"result"`
		ResultFile string `json:"result_file"`
	} `json:"lin_pretrain_evaluate"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	p := testshared.Path(t, "fixtures", "kadapter-tiny", "metrics", "metrics_reference.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", filepath.Base(p), err)
	}
	return &r
}

const tol = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) <= tol }

func checkPRF(t *testing.T, what string, got PRF, want []float64) {
	t.Helper()
	if len(want) != 3 {
		t.Fatalf("%s: reference has %d values, want 3", what, len(want))
	}
	if !near(got.Precision, want[0]) || !near(got.Recall, want[1]) || !near(got.F1, want[2]) {
		t.Errorf("%s: got (%.17g, %.17g, %.17g), want %v", what, got.Precision, got.Recall, got.F1, want)
	}
}

// typingTuple decodes upstream's (count, micro (P,R,F1), macro (P,R,F1)).
func typingTuple(t *testing.T, raw []json.RawMessage) (count float64, micro, macro []float64) {
	t.Helper()
	if len(raw) != 3 {
		t.Fatalf("typing tuple has %d parts", len(raw))
	}
	for i, dst := range []any{&count, &micro, &macro} {
		if err := json.Unmarshal(raw[i], dst); err != nil {
			t.Fatal(err)
		}
	}
	return
}

func TestTACREDMicroF1Reference(t *testing.T) {
	ref := loadReference(t)
	if len(ref.TACREDMicroF1) == 0 {
		t.Fatal("no tacred_micro_f1 cases in the reference")
	}
	for name, c := range ref.TACREDMicroF1 {
		t.Run(name, func(t *testing.T) {
			checkPRF(t, name, TACREDMicroF1(c.Labels, c.Preds, TACREDNoRelation), c.Result)
		})
	}
}

func TestTACREDEvaluateReference(t *testing.T) {
	ref := loadReference(t).TACREDEvaluate
	if ref.NoRelationID != TACREDNoRelation {
		t.Fatalf("reference no_relation id %d, package has %d", ref.NoRelationID, TACREDNoRelation)
	}
	pred := ArgmaxRows(ref.Logits)
	got := TACREDMicroF1(ref.Labels, pred, TACREDNoRelation)
	for _, split := range []string{"dev", "test"} {
		checkPRF(t, split, got, ref.Result[split])
	}
	// float32 logits (what ONNX Runtime returns) give the same argmax here.
	f32 := make([][]float32, len(ref.Logits))
	for i, r := range ref.Logits {
		f32[i] = make([]float32, len(r))
		for j, v := range r {
			f32[i][j] = float32(v)
		}
	}
	checkPRF(t, "float32", TACREDMicroF1(ref.Labels, ArgmaxRows(f32), TACREDNoRelation), ref.Result["dev"])
}

func TestOpenEntityReference(t *testing.T) {
	ref := loadReference(t)
	got := OpenEntityTyping(ref.OpenEntity.Logits, ref.OpenEntity.Labels)
	cases := map[string][]json.RawMessage{"entity_typing_accuracy": ref.OpenEntity.Result}
	for split, r := range ref.OpenEntityEvaluate.Result {
		cases["evaluate/"+split] = r
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			count, micro, macro := typingTuple(t, raw)
			if float64(got.ExactCount) != count {
				t.Errorf("exact count %d, want %v", got.ExactCount, count)
			}
			if !near(got.ExactRatio, count/float64(len(ref.OpenEntity.Labels))) {
				t.Errorf("exact ratio %v", got.ExactRatio)
			}
			checkPRF(t, "loose micro", got.Micro, micro)
			checkPRF(t, "loose macro", got.Macro, macro)
		})
	}
}

func TestFIGERAccuracyReference(t *testing.T) {
	ref := loadReference(t).FIGERAccuracy
	var count int
	var pred, gold [][]int
	for i, dst := range []any{&count, &pred, &gold} {
		if err := json.Unmarshal(ref.Result[i], dst); err != nil {
			t.Fatal(err)
		}
	}
	if got := FIGERPredict(ref.Logits); !reflect.DeepEqual(got, pred) {
		t.Errorf("FIGER predictions %v, want %v", got, pred)
	}
	if got := GoldSets(ref.Labels); !reflect.DeepEqual(got, gold) {
		t.Errorf("FIGER gold sets %v, want %v", got, gold)
	}
	if got := FIGERTyping(ref.Logits, ref.Labels); got.ExactCount != count {
		t.Errorf("FIGER exact count %d, want %d", got.ExactCount, count)
	}
}

func TestFIGEREvaluateReference(t *testing.T) {
	ref := loadReference(t)
	logits, labels := ref.FIGERAccuracy.Logits, ref.FIGERAccuracy.Labels
	correct := FIGERTyping(logits, labels)
	n := 0
	for key, raw := range ref.FIGEREvaluate {
		if !strings.HasPrefix(key, "eval_batch_size_") {
			continue
		}
		n++
		var bs int
		if err := json.Unmarshal([]byte(strings.TrimPrefix(key, "eval_batch_size_")), &bs); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Test struct {
				Accuracy float64   `json:"ERINE_accuracy"`
				Macro    []float64 `json:"ERINE_macro"`
				Micro    []float64 `json:"ERINE_micro"`
				Loss     float64   `json:"eval_loss"`
			} `json:"test"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		t.Run(key, func(t *testing.T) {
			got := FIGERTypingUpstream(logits, labels, bs)
			if !near(got.ExactRatio, r.Test.Accuracy) {
				t.Errorf("ERINE_accuracy %v, want %v", got.ExactRatio, r.Test.Accuracy)
			}
			checkPRF(t, "ERINE_micro", got.Micro, r.Test.Micro)
			checkPRF(t, "ERINE_macro", got.Macro, r.Test.Macro)
			// The fixture's model returns a constant batch loss; eval_loss
			// is the mean over batches whatever the batch count.
			nb := (len(labels) + bs - 1) / bs
			losses := make([]float64, nb)
			for i := range losses {
				losses[i] = r.Test.Loss
			}
			if l := CombineLosses(losses, false); !near(l, r.Test.Loss) {
				t.Errorf("eval_loss %v, want %v", l, r.Test.Loss)
			}
			// The correct metric does not depend on the batch size and
			// equals the upstream one when all examples fit one batch.
			if bs >= len(labels) && (correct.Micro != got.Micro || correct.Macro != got.Macro) {
				t.Errorf("single-batch upstream %+v differs from the correct metric %+v", got, correct)
			}
		})
	}
	if n != 3 {
		t.Fatalf("found %d batch-size cases, want 3", n)
	}
}

func TestCosmosQAReference(t *testing.T) {
	ref := loadReference(t).Cosmos
	c, acc := MultipleChoiceAccuracy(ref.Logits, ref.Labels)
	if c != ref.CorrectCount || !near(acc, float64(ref.CorrectCount)/float64(len(ref.Labels))) {
		t.Errorf("CosmosQA correct %d (acc %v), want %d", c, acc, ref.CorrectCount)
	}
}

func TestFacPretrainReference(t *testing.T) {
	ref := loadReference(t).Fac
	// The fixture's model returns a constant 0.25 per batch over 3 batches:
	// upstream's "loss" is their sum (0.75), the corrected report their
	// mean (0.25).
	losses := []float64{0.25, 0.25, 0.25}
	up := FacPretrain(ref.Labels, ref.Argmax, losses, true)
	if !near(up.MicroF1, ref.Result.MicroF1) || !near(up.MacroF1, ref.Result.MacroF1) {
		t.Errorf("fac micro/macro %v/%v, want %v/%v", up.MicroF1, up.MacroF1, ref.Result.MicroF1, ref.Result.MacroF1)
	}
	if !near(up.Loss, ref.Result.Loss) {
		t.Errorf("fac upstream loss %v, want %v", up.Loss, ref.Result.Loss)
	}
	if fixed := FacPretrain(ref.Labels, ref.Argmax, losses, false); !near(fixed.Loss, ref.Result.Loss/3) {
		t.Errorf("fac mean loss %v, want %v", fixed.Loss, ref.Result.Loss/3)
	}
}

func TestLinPretrainReference(t *testing.T) {
	ref := loadReference(t).Lin
	pred := TokenPredictions(ref.Logits)
	got := LinAccuracyUpstream(pred, ref.Labels, ref.AttentionMask, ref.EvalBatchSize)
	if !near(got, ref.Result.Accuracy) {
		t.Errorf("lin upstream accuracy %.17g, want %.17g", got, ref.Result.Accuracy)
	}
	// att_eval_accuracy is only in the result file's text.
	var wantAtt float64
	const key = "'att_eval_accuracy': "
	i := strings.Index(ref.ResultFile, key)
	if i < 0 {
		t.Fatalf("no att_eval_accuracy in %q", ref.ResultFile)
	}
	rest := ref.ResultFile[i+len(key):]
	if err := json.Unmarshal([]byte(rest[:strings.IndexAny(rest, "},")]), &wantAtt); err != nil {
		t.Fatal(err)
	}
	probs := make([][][]float64, len(ref.AttentionProbs))
	for e, p := range ref.AttentionProbs {
		probs[e] = p[0] // [B,1,L,L]: one (averaged) head
	}
	att := LinAccuracyUpstream(AttentionPredictionsUpstream(probs), ref.Labels, ref.AttentionMask, ref.EvalBatchSize)
	if !near(att, wantAtt) {
		t.Errorf("lin upstream attention accuracy %.17g, want %.17g", att, wantAtt)
	}
	// Token-weighted accuracy: recount by hand.
	var c, n int
	for e := range pred {
		for j, m := range ref.AttentionMask[e] {
			if m != 0 {
				n++
				if pred[e][j] == ref.Labels[e][j] {
					c++
				}
			}
		}
	}
	if w := LinAccuracy(pred, ref.Labels, ref.AttentionMask); !near(w, float64(c)/float64(n)) {
		t.Errorf("token-weighted accuracy %v, want %d/%d", w, c, n)
	}
	if l := CombineLosses([]float64{0.25, 0.25, 0.25}, false); !near(l, ref.Result.Loss) {
		t.Errorf("lin loss %v, want %v", l, ref.Result.Loss)
	}
}
