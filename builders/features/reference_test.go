package features

import (
	"encoding/json"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/internal/testshared"
)

// The reference file: the original converters run on edge cases with the
// toy tokenizer (fixtures/kadapter-tiny/preprocessing).
type refCase struct {
	Input   json.RawMessage `json:"input"`
	Status  string          `json:"status"`
	Error   string          `json:"error"`
	Tokens  []string        `json:"tokens"`
	IDs     []int64         `json:"input_ids"`
	Mask    []int64         `json:"input_mask"`
	Segment []int64         `json:"segment_ids"`
	// label_id is an int (tacred, trex_rc) or a vector (openentity, figer,
	// find_head).
	LabelID json.RawMessage `json:"label_id"`
	Subj    *int            `json:"subj_special_start_id_argmax"`
	Obj     *int            `json:"obj_special_start_id_argmax"`
	Start   *int            `json:"start_id_argmax"`
	Label   *int            `json:"label"` // cosmosqa
	Choices []struct {
		Tokens []string `json:"tokens"`
		IDs    []int64  `json:"input_ids"`
		Mask   []int64  `json:"input_mask"`
	} `json:"choices"`
}

type refTask struct {
	MaxSeqLength int       `json:"max_seq_length"`
	Cases        []refCase `json:"cases"`
	LabelList    []string  `json:"label_list"`
}

type reference struct {
	TACRED struct {
		refTask
		NegativeSample struct {
			Kept      []int    `json:"kept_indices"`
			N         int      `json:"negative_sample"`
			Relations []string `json:"relations_in"`
		} `json:"negative_sample"`
	} `json:"tacred"`
	TREX       refTask `json:"trex_rc"`
	OpenEntity refTask `json:"openentity"`
	FIGER      struct {
		refTask
		FromTrain struct {
			LabelList   []string   `json:"label_list"`
			TrainLabels [][]string `json:"train_labels"`
		} `json:"label_list_from_train"`
	} `json:"figer"`
	FindHead refTask `json:"find_head"`
	CosmosQA refTask `json:"cosmosqa"`
	Probes   []struct {
		Text   string   `json:"text"`
		Tokens []string `json:"tokens"`
	} `json:"tokenize_probes"`
	WhitespaceOnly struct {
		Text string `json:"text"`
	} `json:"tokenize_whitespace_only"`
}

var (
	refOnce sync.Once
	refData reference
	refErr  error
)

func loadReference(t *testing.T) *reference {
	t.Helper()
	path := testshared.Path(t, "fixtures", "kadapter-tiny", "preprocessing", "preprocessing_reference.json")
	refOnce.Do(func() {
		data, err := os.ReadFile(path)
		if err != nil {
			refErr = err
			return
		}
		refErr = json.Unmarshal(data, &refData)
	})
	if refErr != nil {
		t.Fatalf("reading %s: %v", path, refErr)
	}
	return &refData
}

func toyTokenizer(t testing.TB) Tokenizer {
	t.Helper()
	dir := testshared.Path(t, "fixtures", "kadapter-tiny", "tokenizer")
	tok, err := LoadTokenizer(dir)
	if err != nil {
		t.Fatalf("loading the toy tokenizer: %v", err)
	}
	return tok
}

// expectedReason is the reason each non-ok reference case must be dropped
// with (by case id); status "error" cases must be rejections, "dropped"
// ones by-design drops.
var expectedReason = map[string]map[string]string{
	TaskTACRED:     {"obj_marker_at_max_len": ReasonMarkerAtMaxLen},
	TaskTREXRC:     {"marker_past_max_dropped": ReasonMarkerPastMaxLen, "unknown_relation_P31": ReasonUnknownLabel},
	TaskOpenEntity: {"too_long": ReasonTooLongRejected},
	TaskFIGER:      {"too_long_dropped": ReasonTooLong},
	TaskFindHead: {"last_word_is_governor": ReasonHeadIsLastWord, "missing_pair": ReasonMissingHead,
		"too_long": ReasonTooLong},
}

func caseID(t *testing.T, c refCase) string {
	var in struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.Input, &in); err != nil || in.ID == "" {
		t.Fatalf("reference case without id: %s", c.Input)
	}
	return in.ID
}

func onehotIndex(t *testing.T, name string, p *int) int {
	t.Helper()
	if p == nil {
		t.Fatalf("reference case lacks %s", name)
	}
	return *p
}

// checkCase runs one reference case through a Converter and compares
// everything the original produced.
func checkCase(t *testing.T, task string, conv *Converter, record int, c refCase) {
	id := caseID(t, c)
	res := conv.Convert(record, c.Input)
	conv.Sequence(&res)
	if c.Status != "ok" {
		if res.Err == nil {
			t.Fatalf("%s: the original %s this example (%s), we kept it", id, c.Status, c.Error)
		}
		reason := DropReason(res.Err)
		if want := expectedReason[task][id]; reason != want {
			t.Errorf("%s: drop reason %q (%v), want %q", id, reason, res.Err, want)
		}
		if IsRejection(reason) != (c.Status == "error") {
			t.Errorf("%s: reason %q is rejection=%v, but the original's status is %q", id, reason, IsRejection(reason), c.Status)
		}
		return
	}
	if res.Err != nil {
		t.Fatalf("%s: dropped (%v), the original kept it", id, res.Err)
	}
	ex := res.Example
	if ex.ID != id || ex.Record != record {
		t.Errorf("%s: id %q record %d, want %q %d", id, ex.ID, ex.Record, id, record)
	}
	if task == TaskCosmosQA {
		if len(ex.Choices) != len(c.Choices) {
			t.Fatalf("%s: %d choices, want %d", id, len(ex.Choices), len(c.Choices))
		}
		for k, ch := range c.Choices {
			got := ex.Choices[k]
			realN := 0
			for _, m := range ch.Mask {
				realN += int(m)
			}
			if !reflect.DeepEqual(got.Tokens, ch.Tokens[:realN]) {
				t.Errorf("%s choice %d tokens\n got %q\nwant %q", id, k, got.Tokens, ch.Tokens[:realN])
			}
			if !reflect.DeepEqual(got.InputIDs, ch.IDs) {
				t.Errorf("%s choice %d ids\n got %v\nwant %v", id, k, got.InputIDs, ch.IDs)
			}
			if !reflect.DeepEqual(got.AttentionMask, ch.Mask) {
				t.Errorf("%s choice %d mask\n got %v\nwant %v", id, k, got.AttentionMask, ch.Mask)
			}
		}
		wantLabel := -1
		if c.Label != nil {
			wantLabel = *c.Label
		}
		if ex.Label != wantLabel {
			t.Errorf("%s: label %d, want %d (-1 = None)", id, ex.Label, wantLabel)
		}
		return
	}
	// The reference lists padded tokens; ours stop at </s>.
	realN := 0
	for _, m := range c.Mask {
		realN += int(m)
	}
	if !reflect.DeepEqual(ex.Tokens, c.Tokens[:realN]) {
		t.Errorf("%s tokens\n got %q\nwant %q", id, ex.Tokens, c.Tokens[:realN])
	}
	if !reflect.DeepEqual(ex.InputIDs, c.IDs) {
		t.Errorf("%s ids\n got %v\nwant %v", id, ex.InputIDs, c.IDs)
	}
	if !reflect.DeepEqual(ex.AttentionMask, c.Mask) {
		t.Errorf("%s mask\n got %v\nwant %v", id, ex.AttentionMask, c.Mask)
	}
	for i, s := range c.Segment {
		if s != 0 {
			t.Fatalf("%s: segment id %d at %d; the builders assume all-zero segments", id, s, i)
		}
	}
	switch task {
	case TaskTACRED, TaskTREXRC:
		var label int
		if err := json.Unmarshal(c.LabelID, &label); err != nil {
			t.Fatalf("%s: label_id %s: %v", id, c.LabelID, err)
		}
		if ex.Label != label {
			t.Errorf("%s: label %d, want %d", id, ex.Label, label)
		}
		if s := onehotIndex(t, "subj", c.Subj); ex.SubjPos != s {
			t.Errorf("%s: subj_pos %d, want %d", id, ex.SubjPos, s)
		}
		if o := onehotIndex(t, "obj", c.Obj); ex.ObjPos != o {
			t.Errorf("%s: obj_pos %d, want %d", id, ex.ObjPos, o)
		}
		if ex.EntityPos != -1 || ex.Labels != nil {
			t.Errorf("%s: entity fields set on a relation example", id)
		}
	case TaskOpenEntity, TaskFIGER, TaskFindHead:
		var labels []int64
		if err := json.Unmarshal(c.LabelID, &labels); err != nil {
			t.Fatalf("%s: label_id %s: %v", id, c.LabelID, err)
		}
		if !reflect.DeepEqual(ex.Labels, labels) {
			t.Errorf("%s labels\n got %v\nwant %v", id, ex.Labels, labels)
		}
		if task != TaskFindHead {
			if s := onehotIndex(t, "start", c.Start); ex.EntityPos != s {
				t.Errorf("%s: entity_pos %d, want %d", id, ex.EntityPos, s)
			}
		}
	}
}

func TestReferenceFeatures(t *testing.T) {
	ref := loadReference(t)
	tok := toyTokenizer(t)
	trexLabels, err := ReadLabels(testshared.Path(t, "data", "trex", "kadapter-reference", "kadapter_trex_relations.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(trexLabels, trexrc.Relations410()) {
		t.Fatalf("the built-in trex-rc label list differs from %s", "kadapter_trex_relations.json")
	}
	if len(ref.TACRED.LabelList) != 42 || !reflect.DeepEqual(ref.TACRED.LabelList, TACREDRelations) {
		t.Fatalf("TACREDRelations differs from the reference label list")
	}
	tests := []struct {
		task string
		data refTask
		cfg  Config
	}{
		{TaskTACRED, ref.TACRED.refTask, Config{NegativeSample: -1}},
		{TaskTREXRC, ref.TREX, Config{NegativeSample: -1}}, // built-in 410 list
		{TaskOpenEntity, ref.OpenEntity, Config{NegativeSample: -1}},
		{TaskFIGER, ref.FIGER.refTask, Config{Labels: ref.FIGER.LabelList, NegativeSample: -1}},
		{TaskFindHead, ref.FindHead, Config{NegativeSample: -1}},
		{TaskCosmosQA, ref.CosmosQA, Config{LegacyLabel: true, NegativeSample: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.task, func(t *testing.T) {
			if len(tc.data.Cases) == 0 || tc.data.MaxSeqLength == 0 {
				t.Fatalf("no reference cases for %s", tc.task)
			}
			cfg := tc.cfg
			cfg.Task = tc.task
			cfg.MaxSeqLength = tc.data.MaxSeqLength
			conv, err := NewConverter(tok, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tc.data.Cases {
				t.Run(caseID(t, c), func(t *testing.T) { checkCase(t, tc.task, conv, i, c) })
			}
		})
	}
}

// TestCosmosQALabelFix: by default an integer 0 label stays answer 0
// (quirk 24 fixed); everything else equals the reference.
func TestCosmosQALabelFix(t *testing.T) {
	ref := loadReference(t)
	conv, err := NewConverter(toyTokenizer(t), Config{Task: TaskCosmosQA, MaxSeqLength: ref.CosmosQA.MaxSeqLength})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range ref.CosmosQA.Cases {
		res := conv.Convert(i, c.Input)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		want := -1
		if c.Label != nil {
			want = *c.Label
		}
		if caseID(t, c) == "c2_int_label_zero" {
			if want != -1 {
				t.Fatalf("reference changed: c2 label %d", want)
			}
			want = 0
		}
		if res.Example.Label != want {
			t.Errorf("%s: label %d, want %d", caseID(t, c), res.Example.Label, want)
		}
	}
}

func TestReferenceNegativeSampling(t *testing.T) {
	ref := loadReference(t)
	ns := ref.TACRED.NegativeSample
	s := NewNegativeSampler(ns.N)
	var kept []int
	for i, r := range ns.Relations {
		if s.Keep(r) {
			kept = append(kept, i)
		}
	}
	if !reflect.DeepEqual(kept, ns.Kept) {
		t.Fatalf("kept %v, want %v", kept, ns.Kept)
	}
	var nilSampler *NegativeSampler
	for _, r := range ns.Relations {
		if !nilSampler.Keep(r) {
			t.Fatal("a nil sampler (dev/test) dropped a record")
		}
	}
}

// TestConverterNegativeSampling runs the same sequence through the
// Converter, where sampled-out records are counted by reason.
func TestConverterNegativeSampling(t *testing.T) {
	ref := loadReference(t)
	ns := ref.TACRED.NegativeSample
	conv, err := NewConverter(toyTokenizer(t), Config{Task: TaskTACRED, MaxSeqLength: 24, NegativeSample: ns.N})
	if err != nil {
		t.Fatal(err)
	}
	var sum Summary
	var kept []int
	for i, rel := range ns.Relations {
		raw, _ := json.Marshal(map[string]any{"token": []string{"He", "met", "Obama"}, "subj_start": 0, "subj_end": 0,
			"obj_start": 2, "obj_end": 2, "relation": rel})
		res := conv.Convert(i, raw)
		conv.Sequence(&res)
		sum.Add(&res)
		if res.Err == nil {
			kept = append(kept, i)
		}
	}
	if !reflect.DeepEqual(kept, ns.Kept) {
		t.Fatalf("kept %v, want %v", kept, ns.Kept)
	}
	if sum.Kept != len(ns.Kept) || sum.Dropped[ReasonNegativeSampled] != len(ns.Relations)-len(ns.Kept) {
		t.Fatalf("summary %+v", sum)
	}
	// The zero value (and -1) keeps everything; 1 keeps no no_relation.
	for _, tc := range []struct{ n, kept int }{{0, len(ns.Relations)}, {-1, len(ns.Relations)}, {1, 4}} {
		conv, _ := NewConverter(toyTokenizer(t), Config{Task: TaskTACRED, MaxSeqLength: 24, NegativeSample: tc.n})
		kept := 0
		for i, rel := range ns.Relations {
			raw, _ := json.Marshal(map[string]any{"token": []string{"a"}, "subj_start": 0, "subj_end": 0, "obj_start": 0, "obj_end": 0, "relation": rel})
			res := conv.Convert(i, raw)
			conv.Sequence(&res)
			if res.Err == nil {
				kept++
			}
		}
		if kept != tc.kept {
			t.Errorf("NegativeSample %d kept %d, want %d", tc.n, kept, tc.kept)
		}
	}
}

func TestReferenceFIGERLabelsFromTrain(t *testing.T) {
	ref := loadReference(t)
	var recs []EntityRecord
	for _, l := range ref.FIGER.FromTrain.TrainLabels {
		recs = append(recs, EntityRecord{Labels: l})
	}
	if got := FIGERLabelsFromRecords(recs); !reflect.DeepEqual(got, ref.FIGER.FromTrain.LabelList) {
		t.Fatalf("got %q, want %q", got, ref.FIGER.FromTrain.LabelList)
	}
}

// TestReferenceTokenizeProbes checks the tokenizer adapter on the
// reference's probes; the whitespace-only case returns [] (quirk 34: the
// original returned a hash-seed dependent special token).
func TestReferenceTokenizeProbes(t *testing.T) {
	ref := loadReference(t)
	tok := toyTokenizer(t)
	for _, p := range ref.Probes {
		got := tok.LegacyTokenize(p.Text)
		if len(got) == 0 && len(p.Tokens) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, p.Tokens) {
			t.Errorf("%q: got %q, want %q", p.Text, got, p.Tokens)
		}
	}
	if got := tok.LegacyTokenize(ref.WhitespaceOnly.Text); len(got) != 0 {
		t.Errorf("whitespace-only text gave %q, want []", got)
	}
}
