package features

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeRelation(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   RelationRecord
		reason string
	}{
		{"tacred", `{"id":"e1","token":["a","b"],"subj_start":0,"subj_end":0,"obj_start":1,"obj_end":1,"relation":"per:title","subj_type":"PERSON"}`,
			RelationRecord{ID: "e1", Token: []string{"a", "b"}, ObjStart: 1, ObjEnd: 1, Relation: "per:title"}, ""},
		{"numeric id", `{"id":17,"token":[],"subj_start":0,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P1"}`,
			RelationRecord{ID: "17", Token: []string{}, Relation: "P1"}, ""},
		{"trex no id", `{"docid":"Q1","token":["x"],"subj_start":0,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P17"}`,
			RelationRecord{Token: []string{"x"}, Relation: "P17"}, ""},
		{"missing field", `{"token":["x"],"subj_start":0,"subj_end":0,"obj_start":0,"relation":"P17"}`, RelationRecord{}, ReasonInvalidRecord},
		{"null token", `{"token":null,"subj_start":0,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P17"}`, RelationRecord{}, ReasonInvalidRecord},
		{"float index", `{"token":["x"],"subj_start":0.5,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P17"}`, RelationRecord{}, ReasonInvalidRecord},
		{"negative index", `{"token":["x"],"subj_start":-1,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P17"}`, RelationRecord{}, ReasonInvalidRecord},
		{"not an object", `["x"]`, RelationRecord{}, ReasonInvalidRecord},
		{"syntax", `{"token":`, RelationRecord{}, ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeRelation([]byte(tc.in))
			if r := DropReason(err); r != tc.reason {
				t.Fatalf("reason %q (%v), want %q", r, err, tc.reason)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeCosmosQALabels(t *testing.T) {
	base := `{"id":"q","context":"c","question":"q","answer0":"a","answer1":"b","answer2":"c","answer3":"d"`
	tests := []struct {
		label     string
		want      int
		wasIntZer bool
		reason    string
	}{
		{``, -1, false, ""},
		{`,"label":null`, -1, false, ""},
		{`,"label":""`, -1, false, ""},
		{`,"label":"0"`, 0, false, ""},
		{`,"label":" 2 "`, 2, false, ""},
		{`,"label":0`, 0, true, ""},
		{`,"label":3`, 3, false, ""},
		{`,"label":4`, -1, false, ReasonInvalidLabel},
		{`,"label":-1`, -1, false, ReasonInvalidLabel},
		{`,"label":"-1"`, -1, false, ReasonInvalidLabel},
		{`,"label":"x"`, -1, false, ReasonInvalidLabel},
		{`,"label":1.5`, -1, false, ReasonInvalidLabel},
		{`,"label":[1]`, -1, false, ReasonInvalidLabel},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			r, err := DecodeCosmosQA([]byte(base + tc.label + "}"))
			if got := DropReason(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			if err != nil {
				return
			}
			if r.Label != tc.want || r.LabelWasIntZero != tc.wasIntZer {
				t.Fatalf("label %d (int zero %v), want %d (%v)", r.Label, r.LabelWasIntZero, tc.want, tc.wasIntZer)
			}
			if r.ID != "q" || r.Answers != [4]string{"a", "b", "c", "d"} {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
	if _, err := DecodeCosmosQA([]byte(`{"context":"c","question":"q","answer0":"a","answer1":"b","answer2":"c"}`)); DropReason(err) != ReasonInvalidRecord {
		t.Fatalf("missing answer3: %v", err)
	}
}

func TestDecodeFindHead(t *testing.T) {
	in := `{"sent":"I saw","tokens":[{"1":{"start":0,"end":1,"token":"I"}},{"2":{"start":2,"end":5}}],
		"pairs":[{"dependent":"I","dependent_index":1,"governor_index":2},{"dependent_index":2,"governor_index":0}]}`
	r, err := DecodeFindHead([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := FindHeadRecord{Sent: "I saw", Words: []FindHeadWord{{"1", 0, 1}, {"2", 2, 5}},
		Pairs: []FindHeadPair{{1, 2}, {2, 0}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v", r)
	}
	for _, bad := range []string{
		`{"sent":"x","tokens":[{"1":{"start":0,"end":1},"2":{"start":0,"end":1}}],"pairs":[]}`,
		`{"sent":"x","tokens":[{"1":{"start":0}}],"pairs":[]}`,
		`{"sent":"x","tokens":[{"1":5}],"pairs":[]}`,
		`{"sent":"x","tokens":[],"pairs":[{"dependent_index":1}]}`,
		`{"tokens":[],"pairs":[]}`,
	} {
		if _, err := DecodeFindHead([]byte(bad)); DropReason(err) != ReasonInvalidRecord {
			t.Errorf("%s: %v, want invalid_record", bad, err)
		}
	}
}

func TestRecordReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"array", " \n[{\"a\":1}, {\"b\":[1,2]}]\n", []string{`{"a":1}`, `{"b":[1,2]}`}},
		{"bom array", "\ufeff[{\"a\":1}]", []string{`{"a":1}`}},
		{"lines", "{\"a\":1}\n\n  {\"b\":2}  \r\n{\"c\":3}", []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}},
		{"long line", "{\"a\":\"" + strings.Repeat("x", 3<<20) + "\"}\n{}", []string{`{"a":"` + strings.Repeat("x", 3<<20) + `"}`, `{}`}},
		{"empty", "  \n", nil},
		{"empty array", "[]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := NewRecordReader(strings.NewReader(tc.in), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				b, err := rr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(b))
				if rr.Index() != len(got)-1 {
					t.Fatalf("index %d after %d records", rr.Index(), len(got))
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %d records %.80q, want %d", len(got), got, len(tc.want))
			}
		})
	}
	rr, _ := NewRecordReader(strings.NewReader(`[{"a":1} {"b":2}]`), "bad")
	rr.Next()
	if _, err := rr.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("missing comma not reported: %v", err)
	}
}

// Fuzz targets: the decoders must never panic, and whatever they accept
// must satisfy the invariants the builders rely on.

func FuzzDecodeRelation(f *testing.F) {
	f.Add([]byte(`{"id":"e1","token":["a","b"],"subj_start":0,"subj_end":0,"obj_start":1,"obj_end":1,"relation":"per:title"}`))
	f.Add([]byte(`{"token":["x"],"subj_start":-1,"subj_end":0,"obj_start":0,"obj_end":0,"relation":"P17"}`))
	f.Add([]byte(`{"token":[1],"subj_start":1e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRelation(data)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DropError", err)
			}
			return
		}
		if r.Token == nil || r.SubjStart < 0 || r.SubjEnd < 0 || r.ObjStart < 0 || r.ObjEnd < 0 {
			t.Fatalf("accepted an invalid record %+v", r)
		}
	})
}

func FuzzDecodeEntity(f *testing.F) {
	f.Add([]byte(`{"sent":"He met Barack Obama .","start":7,"end":19,"labels":["person"],"ents":[]}`))
	f.Add([]byte(`{"sent":"x","start":-2,"end":1,"labels":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeEntity(data)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DropError", err)
			}
			return
		}
		if r.Start < 0 || r.End < 0 || r.Labels == nil {
			t.Fatalf("accepted an invalid record %+v", r)
		}
		// Slicing must never panic whatever the offsets.
		_ = pySliceString(r.Sent, 0, r.Start) + pySliceString(r.Sent, r.Start, r.End) + pySliceString(r.Sent, r.End, len(r.Sent))
	})
}

func FuzzDecodeFindHead(f *testing.F) {
	f.Add([]byte(`{"sent":"I saw","tokens":[{"1":{"start":0,"end":1}},{"2":{"start":2,"end":5}}],"pairs":[{"dependent_index":1,"governor_index":2},{"dependent_index":2,"governor_index":0}]}`))
	f.Add([]byte(`{"sent":"x","tokens":[{"1":{"start":0,"end":1},"2":{}}],"pairs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeFindHead(data)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DropError", err)
			}
			return
		}
		for _, w := range r.Words {
			if w.Start < 0 || w.End < 0 {
				t.Fatalf("accepted negative offsets %+v", w)
			}
		}
	})
}

func FuzzDecodeCosmosQA(f *testing.F) {
	f.Add([]byte(`{"id":"q","context":"c","question":"q","answer0":"a","answer1":"b","answer2":"c","answer3":"d","label":1}`))
	f.Add([]byte(`{"id":"q","context":"c","question":"q","answer0":"a","answer1":"b","answer2":"c","answer3":"d","label":"0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeCosmosQA(data)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DropError", err)
			}
			return
		}
		if r.Label < -1 || r.Label > 3 || (r.LabelWasIntZero && r.Label != 0) {
			t.Fatalf("accepted label %d (int zero %v)", r.Label, r.LabelWasIntZero)
		}
	})
}

func FuzzRecordReader(f *testing.F) {
	f.Add([]byte(`[{"a":1},{"b":"]"}]`))
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"))
	f.Add([]byte("[1,"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rr, err := NewRecordReader(strings.NewReader(string(data)), "fuzz")
		if err != nil {
			return
		}
		for i := 0; i < len(data)+2; i++ {
			if _, err := rr.Next(); err != nil {
				return
			}
		}
		t.Fatalf("reader returned more records than the input has bytes")
	})
}
