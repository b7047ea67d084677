package trex

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// refClean is a direct, slow transcription of the original func() on a
// generic JSON value. ok is false when the original would raise (or when
// the input is outside what this implementation promises to match:
// negative sentence ids, non-integer numbers, malformed boundary lists).
func refClean(raw []byte) (out []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	ele, isMap := v.(map[string]any)
	if !isMap {
		return nil, false
	}
	text, ok1 := ele["text"].(string)
	triples, ok2 := ele["triples"].([]any)
	sents, ok3 := ints2(ele["sentences_boundaries"])
	words, ok4 := ints2(ele["words_boundaries"])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, false
	}
	cps := []rune(text)
	slice := func(a, b int64) string {
		n := int64(len(cps))
		a, b = pyIndex(a, n), pyIndex(b, n)
		if a >= b {
			return ""
		}
		return string(cps[a:b])
	}
	last := func(s string) string { p := strings.Split(s, "/"); return p[len(p)-1] }
	for _, t := range triples {
		tri, isMap := t.(map[string]any)
		if !isMap {
			return nil, false
		}
		sid, okS := intOf(tri["sentence_id"])
		if !okS || sid < 0 || sid >= int64(len(sents)) {
			return nil, false
		}
		sb := sents[sid]
		ent := func(k string) (uri string, b []int64, present bool, ok bool) {
			e, isMap := tri[k].(map[string]any)
			if !isMap {
				return "", nil, false, false
			}
			uri, okU := e["uri"].(string)
			if !okU {
				return "", nil, false, false
			}
			bv, has := e["boundaries"]
			if !has && k != "predicate" {
				return "", nil, false, false
			}
			if bv == nil {
				return uri, nil, false, true
			}
			l, isList := bv.([]any)
			if !isList {
				return "", nil, false, false
			}
			for _, x := range l {
				n, okN := intOf(x)
				if !okN {
					return "", nil, false, false
				}
				b = append(b, n)
			}
			return uri, b, len(b) > 0, true
		}
		su, s, sp, okA := ent("subject")
		ou, o, op, okB := ent("object")
		pu, _, _, okC := ent("predicate")
		if !okA || !okB || !okC {
			return nil, false
		}
		if !sp || !op {
			continue
		}
		if len(s) < 2 || len(o) < 2 {
			return nil, false
		}
		docid, okD := ele["docid"].(string)
		if !okD {
			return nil, false
		}
		var toks []string
		var in [][2]int64
		for _, w := range words {
			if w[0] >= sb[0] && w[1] <= sb[1] {
				toks = append(toks, slice(w[0], w[1]))
				in = append(in, w)
			}
		}
		count := 0
		for j, w := range in {
			if w[0] == s[0] {
				s[0] = int64(j)
				count++
			}
			if w[1] == s[1] {
				s[1] = int64(j)
				count++
			}
			if w[0] == o[0] {
				o[0] = int64(j)
				count++
			}
			if w[1] == o[1] {
				o[1] = int64(j)
				count++
			}
		}
		if count != 4 {
			continue
		}
		ex := Example{DocID: last(docid), Tokens: toks, Relation: last(pu), SubjStart: s[0], SubjEnd: s[1],
			ObjStart: o[0], ObjEnd: o[1], SubjLabel: last(su), ObjLabel: last(ou)}
		out = append(out, string(AppendJSON(nil, &ex)))
	}
	return out, true
}

func intOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") || len(strings.TrimPrefix(string(n), "-")) > 18 {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func ints2(v any) ([][2]int64, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([][2]int64, 0, len(l))
	for _, x := range l {
		p, ok := x.([]any)
		if !ok || len(p) < 2 {
			return nil, false
		}
		var pair [2]int64
		for i, y := range p {
			n, ok := intOf(y)
			if !ok {
				return nil, false
			}
			if i < 2 {
				pair[i] = n
			}
		}
		out = append(out, pair)
	}
	return out, true
}

// FuzzDecode feeds arbitrary bytes to the document decoder and cleaner:
// no panic; triples always add up; and wherever the original algorithm
// would run without raising, the examples equal those of refClean.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"docid":"http://x/Q1","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],"triples":[{"sentence_id":0,"subject":{"uri":"http://x/Q2","boundaries":[0,5]},"object":{"uri":"http://x/Q3","boundaries":[15,21]},"predicate":{"uri":"http://x/P551","boundaries":null}}]}`))
	f.Add([]byte(`{"docid":"D","text":"Paris is the capital of France . The Seine flows through Paris .","sentences_boundaries":[[0,32],[33,64]],"words_boundaries":[[0,5],[6,8],[9,12],[13,20],[21,23],[24,30],[31,32],[33,36],[37,42],[43,48],[49,56],[57,62],[63,64],[31,36],[37,42]],"triples":[{"sentence_id":1,"subject":{"uri":"u/Q1471","boundaries":[37,42]},"object":{"uri":"u/Q90","boundaries":[57,62]},"predicate":{"uri":"p/P17"}}]}`))
	f.Add([]byte(`{"docid":"D","text":"😀 a\u00e9 b","sentences_boundaries":[[0,6]],"words_boundaries":[[0,1],[2,4],[5,6]],"triples":[{"sentence_id":0,"subject":{"uri":"a","boundaries":[0,1]},"object":{"uri":"b","boundaries":[2,6]},"predicate":{"uri":"c"}},{"sentence_id":0,"subject":{"uri":"a","boundaries":[]},"object":{"uri":"b","boundaries":[2,6]},"predicate":{"uri":"c"}}]}`))
	f.Add([]byte(`{"text":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := NewCleaner()
		var got []string
		err := c.Clean(raw, func(ex *Example) error {
			got = append(got, string(AppendJSON(nil, ex)))
			return nil
		})
		var de *DocumentError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		cn := c.Counts()
		if cn.Triples != cn.Examples+cn.DroppedTriples() || int64(len(got)) != cn.Examples {
			t.Fatalf("counts do not add up: %+v, %d emitted", cn, len(got))
		}
		want, ok := refClean(raw)
		if !ok || !json.Valid(raw) || !bytes.Equal(bytes.ToValidUTF8(raw, nil), raw) {
			return
		}
		if err != nil {
			t.Fatalf("the original runs on %q but Clean says %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q\n got %q\nwant %q", raw, got, want)
		}
	})
}
