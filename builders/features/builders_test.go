package features

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func refCaseByID(t *testing.T, cases []refCase, id string) refCase {
	t.Helper()
	for _, c := range cases {
		if caseID(t, c) == id {
			return c
		}
	}
	t.Fatalf("no reference case %q", id)
	return refCase{}
}

// TestTACREDClampAtMax: with ClampAtMax the marker index == L case (an
// IndexError upstream) gets the same L-10 clamp as larger indices.
func TestTACREDClampAtMax(t *testing.T) {
	ref := loadReference(t)
	c := refCaseByID(t, ref.TACRED.Cases, "obj_marker_at_max_len")
	tok := toyTokenizer(t)
	for _, clamp := range []bool{false, true} {
		conv, err := NewConverter(tok, Config{Task: TaskTACRED, MaxSeqLength: 24, ClampAtMax: clamp, NegativeSample: -1})
		if err != nil {
			t.Fatal(err)
		}
		res := conv.Convert(0, c.Input)
		if !clamp {
			if DropReason(res.Err) != ReasonMarkerAtMaxLen {
				t.Fatalf("no clamp: %v", res.Err)
			}
			continue
		}
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if res.Example.ObjPos != 14 || res.Example.SubjPos != 1 {
			t.Fatalf("clamped positions subj %d obj %d, want 1 and 14", res.Example.SubjPos, res.Example.ObjPos)
		}
	}
}

// TestRelationPythonSlicing: spans past the end of the words behave like
// Python slices (empty), and the marker index counts the tokens before it.
func TestRelationPythonSlicing(t *testing.T) {
	tok := toyTokenizer(t)
	b, err := NewTACRED(tok, TACREDOptions{MaxSeqLength: 24})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := b.Build(3, &RelationRecord{Token: []string{"He", "met"}, SubjStart: 0, SubjEnd: 0, ObjStart: 5, ObjEnd: 5, Relation: "per:title"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"<s>", "@", "ĠHe", "@", "Ġmet", "#", "#", "</s>"}
	if !reflect.DeepEqual(ex.Tokens, want) || ex.SubjPos != 1 || ex.ObjPos != 5 || ex.Label != 6 || ex.ID != "3" {
		t.Fatalf("got %q subj %d obj %d label %d id %q", ex.Tokens, ex.SubjPos, ex.ObjPos, ex.Label, ex.ID)
	}
	if _, err := b.Build(0, &RelationRecord{Token: []string{"x"}, Relation: "nope"}); DropReason(err) != ReasonUnknownLabel {
		t.Fatalf("unknown relation: %v", err)
	}
}

// TestEntityLengthBoundaries: OpenEntity keeps len(tokens) == L and rejects
// L+1 (assertion upstream); FIGER drops len(tokens) >= L.
func TestEntityLengthBoundaries(t *testing.T) {
	ref := loadReference(t)
	c := refCaseByID(t, ref.OpenEntity.Cases, "middle") // 10 real tokens
	var rec EntityRecord
	rec, err := DecodeEntity(c.Input)
	if err != nil {
		t.Fatal(err)
	}
	tok := toyTokenizer(t)
	figerRec := rec
	figerRec.Labels = []string{"/person"}
	tests := []struct {
		figer  bool
		max    int
		reason string
	}{
		{false, 10, ""}, {false, 9, ReasonTooLongRejected},
		{true, 11, ""}, {true, 10, ReasonTooLong},
	}
	for _, tc := range tests {
		var ex Example
		var err error
		if tc.figer {
			f, e := NewFIGER(tok, EntityOptions{MaxSeqLength: tc.max, Labels: []string{"/person"}})
			if e != nil {
				t.Fatal(e)
			}
			ex, err = f.Build(0, &figerRec)
		} else {
			o, e := NewOpenEntity(tok, EntityOptions{MaxSeqLength: tc.max})
			if e != nil {
				t.Fatal(e)
			}
			ex, err = o.Build(0, &rec)
		}
		if DropReason(err) != tc.reason {
			t.Fatalf("figer=%v max=%d: %v, want %q", tc.figer, tc.max, err, tc.reason)
		}
		if err == nil && (len(ex.InputIDs) != tc.max || ex.EntityPos != 3) {
			t.Fatalf("figer=%v max=%d: %d ids, entity_pos %d", tc.figer, tc.max, len(ex.InputIDs), ex.EntityPos)
		}
	}
}

// TestEntityUnknownLabelOrder: OpenEntity maps labels before converting
// (an unknown type fails even for a too-long input); FIGER drops a too-long
// input before looking at its labels.
func TestEntityUnknownLabelOrder(t *testing.T) {
	tok := toyTokenizer(t)
	long := EntityRecord{Sent: strings.Repeat("the ", 40) + "Paris .", Start: 160, End: 165, Labels: []string{"alien"}}
	short := EntityRecord{Sent: "He met Paris .", Start: 7, End: 12, Labels: []string{"alien"}}
	o, _ := NewOpenEntity(tok, EntityOptions{MaxSeqLength: 32})
	f, _ := NewFIGER(tok, EntityOptions{MaxSeqLength: 32, Labels: []string{"/location"}})
	for _, tc := range []struct {
		name   string
		build  func(*EntityRecord) (Example, error)
		rec    EntityRecord
		reason string
	}{
		{"oe long", func(r *EntityRecord) (Example, error) { return o.Build(0, r) }, long, ReasonUnknownLabel},
		{"oe short", func(r *EntityRecord) (Example, error) { return o.Build(0, r) }, short, ReasonUnknownLabel},
		{"figer long", func(r *EntityRecord) (Example, error) { return f.Build(0, r) }, long, ReasonTooLong},
		{"figer short", func(r *EntityRecord) (Example, error) { return f.Build(0, r) }, short, ReasonUnknownLabel},
	} {
		if _, err := tc.build(&tc.rec); DropReason(err) != tc.reason {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.reason)
		}
	}
}

// TestEntityCodePointOffsets: offsets count Unicode code points as Python
// does, not bytes.
func TestEntityCodePointOffsets(t *testing.T) {
	tok := toyTokenizer(t)
	o, _ := NewOpenEntity(tok, EntityOptions{MaxSeqLength: 32})
	// "Zaïdi met Paris" : Paris starts at code point 10 (byte 11).
	ex, err := o.Build(0, &EntityRecord{Sent: "Zaïdi met Paris", Start: 10, End: 15, Labels: []string{"location"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(ex.Tokens)
	if ex.Tokens[n-4] != "Ġ@" || ex.Tokens[n-3] != "ĠParis" || ex.Tokens[n-2] != "Ġ@" {
		t.Fatalf("tokens %q", ex.Tokens)
	}
	if got := pySliceString("aïb", 1, 2); got != "ï" {
		t.Fatalf("pySliceString = %q", got)
	}
	if got := pySliceString("ab", 5, 9) + pySliceString("ab", 2, 1); got != "" {
		t.Fatalf("out of range slices gave %q", got)
	}
}

// TestFindHeadFirstSubToken checks the corrected mapping by hand on the
// reference sentences: labels at first sub-tokens, 0-based governor
// positions, ROOT = 0, -100 elsewhere, and last-word governors allowed.
func TestFindHeadFirstSubToken(t *testing.T) {
	ref := loadReference(t)
	tok := toyTokenizer(t)
	conv, err := NewConverter(tok, Config{Task: TaskFindHead, MaxSeqLength: 24, HeadMapping: HeadMappingFirstSubToken})
	if err != nil {
		t.Fatal(err)
	}
	ignore := func(set map[int]int64) []int64 {
		v := make([]int64, 24)
		for i := range v {
			v[i] = IgnoreLabel
		}
		for k, x := range set {
			v[k] = x
		}
		return v
	}
	tests := []struct {
		id   string
		want []int64
	}{
		// <s> ĠShe Ġvisited ĠB e th on co u r t Ġyesterday Ġ. </s>: first = 1,2,3,11,12
		{"multi_subword", ignore(map[int]int64{1: 2, 2: 0, 3: 2, 11: 2, 12: 2})},
		// <s> ĠThe Ġdog Ġsaw ĠI </s>: The->dog, dog->saw, saw->I, I->ROOT
		{"last_word_is_governor", ignore(map[int]int64{1: 2, 2: 3, 3: 4, 4: 0})},
	}
	for _, tc := range tests {
		res := conv.Convert(0, refCaseByID(t, ref.FindHead.Cases, tc.id).Input)
		if res.Err != nil {
			t.Fatalf("%s: %v", tc.id, res.Err)
		}
		if !reflect.DeepEqual(res.Example.Labels, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.id, res.Example.Labels, tc.want)
		}
	}
	if res := conv.Convert(0, refCaseByID(t, ref.FindHead.Cases, "missing_pair").Input); DropReason(res.Err) != ReasonMissingHead {
		t.Fatalf("missing pair: %v", res.Err)
	}
}

func TestFindHeadDropReasons(t *testing.T) {
	tok := toyTokenizer(t)
	b, _ := NewFindHead(tok, FindHeadOptions{MaxSeqLength: 24})
	words := []FindHeadWord{{"1", 0, 1}, {"2", 2, 5}, {"3", 6, 7}}
	base := FindHeadRecord{Sent: "I saw .", Words: words, Pairs: []FindHeadPair{{1, 2}, {2, 0}, {3, 2}}}
	tests := []struct {
		name   string
		mod    func(r *FindHeadRecord)
		reason string
	}{
		{"ok", func(r *FindHeadRecord) {}, ""},
		{"out of range", func(r *FindHeadRecord) { r.Pairs = []FindHeadPair{{1, 7}, {2, 0}, {3, 2}} }, ReasonHeadOutOfRange},
		{"negative governor", func(r *FindHeadRecord) { r.Pairs = []FindHeadPair{{1, -1}, {2, 0}, {3, 2}} }, ReasonHeadOutOfRange},
		{"last word", func(r *FindHeadRecord) { r.Pairs = []FindHeadPair{{1, 3}, {2, 0}, {3, 2}} }, ReasonHeadIsLastWord},
		{"bad key", func(r *FindHeadRecord) { r.Words = []FindHeadWord{{"1", 0, 1}, {"3", 2, 5}, {"3", 6, 7}} }, ReasonBadWord},
		{"later pair wins", func(r *FindHeadRecord) { r.Pairs = append([]FindHeadPair{{1, 3}}, r.Pairs...) }, ""},
		{"no words", func(r *FindHeadRecord) { r.Words, r.Pairs = nil, nil }, ""},
	}
	for _, tc := range tests {
		r := base
		r.Words = append([]FindHeadWord(nil), base.Words...)
		r.Pairs = append([]FindHeadPair(nil), base.Pairs...)
		tc.mod(&r)
		ex, err := b.Build(0, &r)
		if DropReason(err) != tc.reason {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.reason)
			continue
		}
		if err == nil && len(ex.Labels) != 24 {
			t.Errorf("%s: %d labels", tc.name, len(ex.Labels))
		}
	}
	// Words that tokenize to nothing make more labels than tokens: with
	// enough of them the label vector overflows.
	var many FindHeadRecord
	many.Sent = " "
	for i := 1; i <= 30; i++ {
		many.Words = append(many.Words, FindHeadWord{Key: strconv.Itoa(i), Start: 0, End: 1})
		many.Pairs = append(many.Pairs, FindHeadPair{Dependent: i, Governor: 0})
	}
	if _, err := b.Build(0, &many); DropReason(err) != ReasonLabelOverflow {
		t.Fatalf("empty words: %v", err)
	}
	c, _ := NewFindHead(tok, FindHeadOptions{MaxSeqLength: 24, Mapping: HeadMappingFirstSubToken})
	if _, err := c.Build(0, &many); DropReason(err) != ReasonEmptyWord {
		t.Fatalf("empty words, corrected: %v", err)
	}
}

func TestCosmosQAPadID(t *testing.T) {
	ref := loadReference(t)
	c := refCaseByID(t, ref.CosmosQA.Cases, "c2_int_label_zero")
	conv, _ := NewConverter(toyTokenizer(t), Config{Task: TaskCosmosQA, MaxSeqLength: 24, PadID: 1})
	res := conv.Convert(0, c.Input)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for k, ch := range res.Example.Choices {
		for i, m := range ch.AttentionMask {
			if m == 0 && ch.InputIDs[i] != 1 {
				t.Fatalf("choice %d: pad id %d at %d", k, ch.InputIDs[i], i)
			}
			if m == 1 && ch.InputIDs[i] != c.Choices[k].IDs[i] {
				t.Fatalf("choice %d: real id changed at %d", k, i)
			}
		}
	}
}

func TestConverterConfigErrors(t *testing.T) {
	tok := toyTokenizer(t)
	for _, cfg := range []Config{{Task: TaskFIGER}, {Task: "glue"},
		{Task: TaskTACRED, MaxSeqLength: 2}, {Task: TaskOpenEntity, Labels: []string{"a", "a"}}} {
		if _, err := NewConverter(tok, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	for _, task := range Tasks() {
		if DefaultMaxSeqLength(task) == 0 {
			t.Errorf("%s has no default length", task)
		}
		if _, err := Schema(task); err != nil {
			t.Error(err)
		}
	}
}

// TestConcurrentBuild: the same inputs give the same Examples whatever the
// goroutine they run on.
func TestConcurrentBuild(t *testing.T) {
	ref := loadReference(t)
	conv, _ := NewConverter(toyTokenizer(t), Config{Task: TaskTACRED, MaxSeqLength: 24, NegativeSample: -1})
	want := make([]Result, len(ref.TACRED.Cases))
	for i, c := range ref.TACRED.Cases {
		want[i] = conv.Convert(i, c.Input)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				for i, c := range ref.TACRED.Cases {
					got := conv.Convert(i, c.Input)
					if !reflect.DeepEqual(got.Example, want[i].Example) || DropReason(got.Err) != DropReason(want[i].Err) {
						errs <- caseID(t, c)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Errorf("%s differs under concurrency", id)
	}
}

// TestArrowRoundTrip writes examples of every task with AppendRow and reads
// the columns back.
func TestArrowRoundTrip(t *testing.T) {
	ref := loadReference(t)
	tok := toyTokenizer(t)
	trexLabels := []string{"P19", "P36", "P17"}
	tests := []struct {
		task  string
		cases []refCase
		cfg   Config
	}{
		{TaskTACRED, ref.TACRED.Cases, Config{MaxSeqLength: 24}},
		{TaskTREXRC, ref.TREX.Cases, Config{MaxSeqLength: 24, Labels: trexLabels}},
		{TaskOpenEntity, ref.OpenEntity.Cases, Config{MaxSeqLength: 32}},
		{TaskFIGER, ref.FIGER.Cases, Config{MaxSeqLength: 32, Labels: ref.FIGER.LabelList}},
		{TaskFindHead, ref.FindHead.Cases, Config{MaxSeqLength: 24}},
		{TaskCosmosQA, ref.CosmosQA.Cases, Config{MaxSeqLength: 24, LegacyLabel: true}},
	}
	for _, tc := range tests {
		t.Run(tc.task, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Task = tc.task
			cfg.NegativeSample = -1
			conv, err := NewConverter(tok, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sc, _ := Schema(tc.task)
			rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
			defer rb.Release()
			var kept []Example
			for i, c := range tc.cases {
				res := conv.Convert(i, c.Input)
				if res.Err != nil {
					continue
				}
				if err := AppendRow(tc.task, rb, &res.Example); err != nil {
					t.Fatal(err)
				}
				kept = append(kept, res.Example)
			}
			rec := rb.NewRecordBatch()
			defer rec.Release()
			if int(rec.NumRows()) != len(kept) || len(kept) == 0 {
				t.Fatalf("%d rows, %d kept", rec.NumRows(), len(kept))
			}
			col := func(name string) arrow.Array { return rec.Column(sc.FieldIndices(name)[0]) }
			ids := col(ColID).(*array.String)
			for i, ex := range kept {
				if ids.Value(i) != ex.ID || col(ColRecord).(*array.Int64).Value(i) != int64(ex.Record) {
					t.Fatalf("row %d id/record", i)
				}
				if tc.task == TaskCosmosQA {
					l := col(ColInputIDs).(*array.List)
					s, e := l.ValueOffsets(i)
					if e-s != 4 {
						t.Fatalf("row %d: %d choices", i, e-s)
					}
					inner := l.ListValues().(*array.List)
					vals := inner.ListValues().(*array.Int64)
					for k := 0; k < 4; k++ {
						a, b := inner.ValueOffsets(int(s) + k)
						if !reflect.DeepEqual(vals.Int64Values()[a:b], ex.Choices[k].InputIDs) {
							t.Fatalf("row %d choice %d ids differ", i, k)
						}
					}
					lab := col(ColLabel)
					if (ex.Label < 0) != lab.IsNull(i) {
						t.Fatalf("row %d: label null=%v for %d", i, lab.IsNull(i), ex.Label)
					}
					continue
				}
				l := col(ColInputIDs).(*array.List)
				a, b := l.ValueOffsets(i)
				if !reflect.DeepEqual(l.ListValues().(*array.Int64).Int64Values()[a:b], ex.InputIDs) {
					t.Fatalf("row %d ids differ", i)
				}
				switch tc.task {
				case TaskTACRED, TaskTREXRC:
					if col(ColSubjPos).(*array.Int64).Value(i) != int64(ex.SubjPos) ||
						col(ColObjPos).(*array.Int64).Value(i) != int64(ex.ObjPos) ||
						col(ColLabel).(*array.Int64).Value(i) != int64(ex.Label) {
						t.Fatalf("row %d positions/label differ", i)
					}
				case TaskOpenEntity, TaskFIGER:
					if col(ColEntityPos).(*array.Int64).Value(i) != int64(ex.EntityPos) {
						t.Fatalf("row %d entity_pos differs", i)
					}
					fallthrough
				case TaskFindHead:
					ll := col(ColLabels).(*array.List)
					a, b := ll.ValueOffsets(i)
					if !reflect.DeepEqual(ll.ListValues().(*array.Int64).Int64Values()[a:b], ex.Labels) {
						t.Fatalf("row %d labels differ", i)
					}
				}
			}
		})
	}
}

// TestRelationRecordsFromArrow builds a batch shaped like kprep trex's
// output (int64 indices, extra columns) and converts it back.
func TestRelationRecordsFromArrow(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "docid", Type: arrow.BinaryTypes.String},
		{Name: "token", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "relation", Type: arrow.BinaryTypes.String},
		{Name: "subj_start", Type: arrow.PrimitiveTypes.Int64},
		{Name: "subj_end", Type: arrow.PrimitiveTypes.Int32},
		{Name: "obj_start", Type: arrow.PrimitiveTypes.Int64},
		{Name: "obj_end", Type: arrow.PrimitiveTypes.Uint16},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	rows := []RelationRecord{
		{Token: []string{"Barack", "Obama", "was", "born", "in", "Honolulu", "."}, SubjStart: 0, SubjEnd: 1, ObjStart: 5, ObjEnd: 5, Relation: "P19"},
		{Token: []string{}, Relation: "P36"},
	}
	for _, r := range rows {
		rb.Field(0).(*array.StringBuilder).Append("Q1")
		lb := rb.Field(1).(*array.ListBuilder)
		lb.Append(true)
		for _, w := range r.Token {
			lb.ValueBuilder().(*array.StringBuilder).Append(w)
		}
		rb.Field(2).(*array.StringBuilder).Append(r.Relation)
		rb.Field(3).(*array.Int64Builder).Append(int64(r.SubjStart))
		rb.Field(4).(*array.Int32Builder).Append(int32(r.SubjEnd))
		rb.Field(5).(*array.Int64Builder).Append(int64(r.ObjStart))
		rb.Field(6).(*array.Uint16Builder).Append(uint16(r.ObjEnd))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	got, err := RelationRecordsFromArrow(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("got %+v", got)
	}
	bad := arrow.NewSchema([]arrow.Field{{Name: "token", Type: arrow.BinaryTypes.String}}, nil)
	brb := array.NewRecordBuilder(memory.DefaultAllocator, bad)
	defer brb.Release()
	brec := brb.NewRecordBatch()
	defer brec.Release()
	if _, err := RelationRecordsFromArrow(brec); err == nil {
		t.Fatal("a batch without relation columns was accepted")
	}
}

func TestParseHeadMappingAndCounts(t *testing.T) {
	for _, m := range []HeadMapping{HeadMappingOriginal, HeadMappingFirstSubToken} {
		got, err := ParseHeadMapping(m.String())
		if err != nil || got != m {
			t.Fatalf("%v: round trip gave %v, %v", m, got, err)
		}
	}
	if _, err := ParseHeadMapping("1-based"); err == nil {
		t.Fatal("bad mapping accepted")
	}
	d := DropCounts{}
	d.Add(ReasonTooLong)
	d.Add(ReasonUnknownLabel)
	d.Add(ReasonTooLong)
	if d.Total() != 3 || d.Rejected() != 1 || d.String() != "too_long=2, unknown_label=1" {
		t.Fatalf("counts %v total %d rejected %d", d, d.Total(), d.Rejected())
	}
	if DropReason(nil) != "" || DropReason(os.ErrNotExist) != ReasonInvalidRecord {
		t.Fatal("DropReason of nil / foreign errors")
	}
}
