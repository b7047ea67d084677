package trexrc

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
)

func sources(t *testing.T, paths ...string) []pipeline.Source {
	t.Helper()
	s, err := pipeline.ExpandSources(paths, pipeline.ExpandOptions{Match: func(b string) bool {
		return strings.HasSuffix(pipeline.StripCompressionExt(b), ".json")
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, srcs []pipeline.Source, mod func(o *Options)) (*Summary, string) {
	t.Helper()
	out := t.TempDir()
	o := DefaultOptions(out)
	if mod != nil {
		mod(&o)
	}
	sum, err := Run(context.Background(), srcs, &o)
	if err != nil {
		t.Fatal(err)
	}
	return sum, out
}

func readJSONList(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v []any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func canon(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		b, _ := json.Marshal(x)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// The notebook on the fixture (seed 0): relations.json, the split sizes
// and the union of train and dev are split-independent and must match.
func TestFixtureNotebook(t *testing.T) {
	fx := testshared.Path(t, "fixtures", "kadapter-tiny", "trex")
	sum, out := run(t, sources(t, filepath.Join(fx, "fixture")), func(o *Options) { o.Format = "both" })
	wantRel, _ := os.ReadFile(filepath.Join(fx, "notebook", "relations.json"))
	gotRel, _ := os.ReadFile(filepath.Join(out, "relations.json"))
	if !bytes.Equal(gotRel, wantRel) {
		t.Fatalf("relations.json %s, want %s", gotRel, wantRel)
	}
	nbTrain := readJSONList(t, filepath.Join(fx, "notebook", "train.json"))
	nbDev := readJSONList(t, filepath.Join(fx, "notebook", "dev.json"))
	train := readJSONList(t, filepath.Join(out, "train.json"))
	dev := readJSONList(t, filepath.Join(out, "dev.json"))
	if len(train) != len(nbTrain) || len(dev) != len(nbDev) || len(train) != 151 {
		t.Fatalf("train/dev %d/%d, notebook %d/%d", len(train), len(dev), len(nbTrain), len(nbDev))
	}
	if !reflect.DeepEqual(canon(append(train, dev...)), canon(append(nbTrain, nbDev...))) {
		t.Fatal("train+dev differ from the notebook's train+dev")
	}
	// The notebook's printed counts (cells 2, 6, 10, 13).
	per := map[string]int64{}
	for _, r := range mustManifest(t, out).Relations {
		per[r.Relation] = r.Examples
	}
	c := sum.Counts
	if c.Cleaning.Examples != 302 || per["P17"] != 62 || per["P131"] != 56 || per["P31"] != 71 || per["P47"] != 12 ||
		c.Kept != 168 || c.RelationsKept != 3 || c.Relations-1-c.RelationsKept != 4 {
		t.Fatalf("counts %+v per-relation %v", c, per)
	}
	// The Arrow outputs hold the same rows as the JSON ones, plus the label.
	rows := arrowRows(t, filepath.Join(out, "train.arrow"))
	if len(rows) != len(train) {
		t.Fatalf("train.arrow has %d rows", len(rows))
	}
	for i, r := range rows {
		want := train[i].(map[string]any)
		if r["docid"] != want["docid"] || r["relation"] != want["relation"] || r["label"] != int64(Label(want["relation"].(string))) {
			t.Fatalf("row %d: %v vs %v", i, r, want)
		}
	}
}

func mustManifest(t *testing.T, out string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func arrowRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	schema, err := pipeline.ReadArrow([]string{path}, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			r := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				switch col := rec.Column(c).(type) {
				case *array.String:
					r[f.Name] = col.Value(i)
				case *array.Int64:
					r[f.Name] = col.Value(i)
				case *array.List:
					st, en := col.ValueOffsets(i)
					var toks []string
					for j := st; j < en; j++ {
						toks = append(toks, col.ListValues().(*array.String).Value(int(j)))
					}
					r[f.Name] = toks
				}
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if md, ok := schema.Metadata().GetValue(pipeline.HFMetadataKey); !ok || !strings.Contains(md, `"label":{"dtype":"int64","_type":"Value"}`) {
		t.Fatalf("huggingface metadata %q", md)
	}
	return rows
}

// With every filter off and no dev split, train.json is the original
// func() output, in input order.
func TestEverythingMatchesFunc(t *testing.T) {
	for _, tc := range []struct{ in, ref string }{
		{testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture"), testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "func_output.json")},
		{testshared.Path(t, "data", "trex", "sample-output.json"), testshared.Path(t, "data", "trex", "kadapter-reference", "T_REx_example.from_sample.json")},
	} {
		sum, out := run(t, sources(t, tc.in), func(o *Options) {
			o.Format, o.Drop, o.MinPerRelation, o.DevFraction = "json", nil, 1, 0
		})
		got := readJSONList(t, filepath.Join(out, "train.json"))
		want := readJSONList(t, tc.ref)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: train.json differs from %s (%d vs %d examples)", tc.in, tc.ref, len(got), len(want))
		}
		if dev := readJSONList(t, filepath.Join(out, "dev.json")); len(dev) != 0 || sum.Counts.Dev != 0 {
			t.Fatalf("dev not empty")
		}
	}
}

func copyTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fixtureParts splits the fixture's documents over n files.
func fixtureParts(t *testing.T, n int, names func(i int) string) map[string][]byte {
	t.Helper()
	docs := readJSONList(t, testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture", "re-nlg_fixture.json"))
	files := map[string][]byte{}
	per := (len(docs) + n - 1) / n
	for i := 0; i < n; i++ {
		end := min((i+1)*per, len(docs))
		b, _ := json.Marshal(docs[i*per : end])
		files[names(i)] = b
	}
	return files
}

func outputsOf(t *testing.T, out string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, n := range []string{"train.arrow", "dev.arrow", "train.json", "dev.json", "relations.json", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(out, n))
		if err == nil {
			m[n] = b
		}
	}
	return m
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	dir := copyTree(t, fixtureParts(t, 5, func(i int) string { return fmt.Sprintf("re-nlg_%d.json", i) }))
	srcs := sources(t, dir)
	var first map[string][]byte
	for _, w := range []int{1, 2, 8} {
		_, out := run(t, srcs, func(o *Options) { o.Workers, o.Format, o.Seed = w, "both", 7 })
		got := outputsOf(t, out)
		if len(got) != 6 {
			t.Fatalf("outputs %v", got)
		}
		// The manifest names the temp output folder only through inputs, which are the same.
		if first == nil {
			first = got
			continue
		}
		for n, b := range first {
			if !bytes.Equal(got[n], b) {
				t.Fatalf("workers=%d: %s differs from workers=1", w, n)
			}
		}
	}
}

// Split membership depends on content and seed only: renaming the inputs
// (so that the documents come in another order) keeps the same train set;
// another seed draws another one.
func TestSplitIndependentOfFileOrder(t *testing.T) {
	a := copyTree(t, fixtureParts(t, 3, func(i int) string { return fmt.Sprintf("a%d.json", i) }))
	b := copyTree(t, fixtureParts(t, 3, func(i int) string { return fmt.Sprintf("b%d.json", 2-i) }))
	set := func(dir string, seed uint64) ([]string, []string) {
		_, out := run(t, sources(t, dir), func(o *Options) { o.Format, o.Seed = "json", seed })
		return canon(readJSONList(t, filepath.Join(out, "train.json"))), canon(readJSONList(t, filepath.Join(out, "dev.json")))
	}
	ta, da := set(a, 3)
	tb, db := set(b, 3)
	if !reflect.DeepEqual(ta, tb) || !reflect.DeepEqual(da, db) {
		t.Fatal("split depends on file order")
	}
	_, dc := set(a, 4)
	if reflect.DeepEqual(da, dc) {
		t.Fatal("seed 3 and 4 drew the same dev set")
	}
	if len(ta) != 151 || len(dc) != 17 {
		t.Fatalf("sizes %d %d", len(ta), len(dc))
	}
}

func TestKillAndResume(t *testing.T) {
	dir := copyTree(t, fixtureParts(t, 4, func(i int) string { return fmt.Sprintf("re-nlg_%d.json", i) }))
	srcs := sources(t, dir)
	_, ref := run(t, srcs, func(o *Options) { o.Format = "both" })
	want := outputsOf(t, ref)

	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o := DefaultOptions(out)
	o.Format = "both"
	o.afterInput = func(i int) {
		if i == 1 {
			cancel() // "kill" after two inputs are done
		}
	}
	if _, err := Run(ctx, srcs, &o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v", err)
	}
	if len(outputsOf(t, out)) != 0 {
		t.Fatal("an interrupted run published outputs")
	}
	assertNoTemps(t, out)
	done, _ := filepath.Glob(filepath.Join(out, ShardDir, "*.done.json"))
	if len(done) < 2 || len(done) == 4 {
		t.Fatalf("%d inputs finished before the interruption", len(done))
	}
	// A temp file left by a kill -9 is cleaned up.
	os.WriteFile(filepath.Join(out, ShardDir, ".x.arrow"+pipeline.TempMarker+"1"), []byte("junk"), 0o644)

	o = DefaultOptions(out)
	o.Format, o.Resume = "both", true
	sum, err := Run(context.Background(), srcs, &o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != len(done) {
		t.Fatalf("resumed %d inputs, %d were done", sum.Resumed, len(done))
	}
	got := outputsOf(t, out)
	for n, b := range want {
		if !bytes.Equal(got[n], b) {
			t.Fatalf("%s after resume differs from an uninterrupted run", n)
		}
	}
	assertNoTemps(t, out)
	// Another document size limit redoes every input.
	o = DefaultOptions(out)
	o.Format, o.Resume, o.MaxDocumentBytes = "both", true, 1<<20
	if sum, err := Run(context.Background(), srcs, &o); err != nil || sum.Resumed != 0 {
		t.Fatalf("resume with another --max-doc-mb: %v, resumed %d", err, sum.Resumed)
	}
	// A changed input is redone on resume.
	os.WriteFile(srcs[0].Path, []byte("[]"), 0o644)
	srcs2 := sources(t, dir)
	o = DefaultOptions(out)
	o.Resume, o.MaxDocumentBytes = true, 1<<20
	sum, err = Run(context.Background(), srcs2, &o)
	if err != nil || sum.Resumed != 3 {
		t.Fatalf("resume after a change: %v, resumed %d", err, sum.Resumed)
	}
}

func assertNoTemps(t *testing.T, out string) {
	t.Helper()
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(info.Name(), pipeline.TempMarker) {
			t.Fatalf("temp file left: %s", p)
		}
		return nil
	})
}

const goodDoc = `{"docid":"http://x/Q1","text":"Zaïdi lives in Kraków .","sentences_boundaries":[[0,23]],
"words_boundaries":[[0,5],[6,11],[12,14],[15,21],[22,23]],
"triples":[{"sentence_id":0,"subject":{"uri":"http://x/Q2","boundaries":[0,5]},"object":{"uri":"http://x/Q3","boundaries":[15,21]},"predicate":{"uri":"http://x/P551"}}]}`

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestBadInputs(t *testing.T) {
	huge := strings.Replace(goodDoc, `"docid"`, `"padding":"`+strings.Repeat("é", 3<<20)+`","docid"`, 1)
	files := map[string][]byte{
		"a_good.json":       []byte("[" + goodDoc + "]"),
		"b_bom.json":        []byte("\xEF\xBB\xBF[" + goodDoc + "]"),
		"c_empty.json":      []byte(" [ ] "),
		"d_truncated.json":  []byte("[" + goodDoc + ", " + goodDoc[:40]),
		"e_invalid.json":    []byte(`{"not": "an array"}`),
		"f_missing.json":    []byte(`[{"docid":"x","text":"a"}, ` + goodDoc + `]`),
		"g_unknown.json":    []byte(`[` + strings.Replace(goodDoc, `"docid"`, `"brand_new":{"k":[1,{"z":null}]},"docid"`, 1) + `]`),
		"h_huge.json":       []byte("[" + huge + "]"),
		"i_toolarge.json":   []byte(`[` + goodDoc + `, {"pad":"` + strings.Repeat("x", 9<<20) + `"}, ` + goodDoc + `]`),
		"j_corrupt.json.gz": []byte("this is not gzip"),
		"k_garbage.json":    []byte(`[` + goodDoc + `] trailing`),
		"l_gone.json":       []byte("[]"),
	}
	dir := copyTree(t, files)
	srcs := sources(t, dir)
	os.Remove(filepath.Join(dir, "l_gone.json")) // unreadable by the time it is opened
	sum, out := run(t, srcs, func(o *Options) {
		o.Format, o.MinPerRelation, o.DevFraction, o.MaxDocumentBytes = "json", 1, 0, 8<<20
		o.Log = &bytes.Buffer{}
	})
	c := sum.Counts
	// Good documents: a, b, d (first), f (second), g, h, i (two), k.
	if c.Cleaning.Examples != 9 || c.Cleaning.MalformedDocuments != 1 || c.Cleaning.TooLargeDocuments != 1 {
		t.Fatalf("counts %+v", c.Cleaning)
	}
	if c.BadInputs != 5 { // truncated, invalid, corrupt gzip, trailing garbage, gone
		t.Fatalf("bad inputs %d", c.BadInputs)
	}
	m := mustManifest(t, out)
	errs := map[string]string{}
	for _, in := range m.Inputs {
		errs[filepath.Base(in.Name)] = in.Error
	}
	for name, sub := range map[string]string{
		"d_truncated.json":  "byte offset",
		"e_invalid.json":    "expected '['",
		"j_corrupt.json.gz": "gzip",
		"k_garbage.json":    "after the end of the JSON array",
		"l_gone.json":       "no such file",
	} {
		if !strings.Contains(errs[name], sub) || !strings.Contains(errs[name], name) {
			t.Errorf("%s: error %q, want it to name the file and contain %q", name, errs[name], sub)
		}
	}
	if len(readJSONList(t, filepath.Join(out, "train.json"))) != 9 {
		t.Fatal("train.json does not hold the 9 good examples")
	}

	// --strict stops at the first bad record, naming file, record and offset.
	for name, sub := range map[string]string{
		"d_truncated.json": "d_truncated.json: invalid JSON array: byte offset",
		"f_missing.json":   `f_missing.json: document 0 at byte offset 1: malformed_document: key "triples" is missing or null`,
		"i_toolarge.json":  "i_toolarge.json: document 1 at byte offset",
		"l_gone.json":      "unreadable input",
	} {
		var one []pipeline.Source
		for _, s := range srcs {
			if filepath.Base(s.Path) == name {
				one = append(one, s)
			}
		}
		o := DefaultOptions(t.TempDir())
		o.Strict, o.MaxDocumentBytes = true, 8<<20
		_, err := Run(context.Background(), one, &o)
		var bre *BadRecordError
		if !errors.As(err, &bre) || !strings.Contains(err.Error(), sub) {
			t.Errorf("strict %s: %v, want a BadRecordError containing %q", name, err, sub)
		}
		if len(outputsOf(t, o.Out)) != 0 {
			t.Errorf("strict %s: outputs published", name)
		}
	}
}

func TestUnknownLabelAndRelationsList(t *testing.T) {
	rels := Relations410()
	if len(rels) != 410 || rels[0] != "P178" || Label("P17") != 1 || Label("P31") != -1 || Label("P9999") != -1 {
		t.Fatalf("relations list: %d %v", len(rels), rels[:3])
	}
	doc := strings.Replace(goodDoc, "P551", "P9999", 1)
	dir := copyTree(t, map[string][]byte{"x.json": []byte("[" + doc + "," + goodDoc + "]")})
	sum, out := run(t, sources(t, dir), func(o *Options) { o.MinPerRelation, o.DevFraction = 1, 0 })
	if sum.Counts.UnknownLabel != 1 {
		t.Fatalf("unknown labels %d", sum.Counts.UnknownLabel)
	}
	rows := arrowRows(t, filepath.Join(out, "train.arrow"))
	if rows[0]["label"] != int64(-1) || rows[1]["label"] != int64(Label("P551")) {
		t.Fatalf("labels %v %v", rows[0]["label"], rows[1]["label"])
	}
}

func TestRotationReplacesEarlierFiles(t *testing.T) {
	srcs := sources(t, testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture"))
	out := t.TempDir()
	o := DefaultOptions(out)
	o.MaxFileBytes, o.batchRows = 4000, 16
	if _, err := Run(context.Background(), srcs, &o); err != nil {
		t.Fatal(err)
	}
	rot, err := pipeline.ArrowFiles(filepath.Join(out, "train.arrow"))
	if err != nil || len(rot) < 2 || !strings.HasSuffix(rot[0], "train-00000-of-"+fmt.Sprintf("%05d", len(rot))+".arrow") {
		t.Fatalf("rotated files %v %v", rot, err)
	}
	n := 0
	for _, p := range rot {
		n += len(arrowRows(t, p))
	}
	if n != 151 {
		t.Fatalf("%d rows over the rotated files", n)
	}
	o = DefaultOptions(out)
	if _, err := Run(context.Background(), srcs, &o); err != nil {
		t.Fatal(err)
	}
	if files, _ := pipeline.ArrowFiles(filepath.Join(out, "train.arrow")); len(files) != 1 {
		t.Fatalf("files after an unrotated run: %v", files)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "train-*.arrow")); len(left) != 0 {
		t.Fatalf("earlier rotated files left: %v", left)
	}
}

// The release .zip is read in place and gives the same outputs as the
// extracted files.
func TestZipInputEqualsFiles(t *testing.T) {
	files := fixtureParts(t, 3, func(i int) string { return fmt.Sprintf("TREx/re-nlg_%d.json", i) })
	dir := copyTree(t, files)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("TREx/re-nlg_%d.json", i)
		w, _ := zw.Create(name)
		w.Write(files[name])
	}
	zw.Close()
	zdir := copyTree(t, map[string][]byte{"TREx.zip": zb.Bytes()})
	_, a := run(t, sources(t, filepath.Join(dir, "TREx")), func(o *Options) { o.Format = "json" })
	_, b := run(t, sources(t, filepath.Join(zdir, "TREx.zip")), func(o *Options) { o.Format = "json" })
	for _, n := range []string{"train.json", "dev.json", "relations.json"} {
		x, _ := os.ReadFile(filepath.Join(a, n))
		y, _ := os.ReadFile(filepath.Join(b, n))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between the zip and the extracted files", n)
		}
	}
}

// One input and several workers: the documents are cleaned in parallel and
// the outputs are the same bytes as with one worker, for good and bad
// inputs, in default and strict modes.
func TestSingleInputParallel(t *testing.T) {
	fixture := testshared.Path(t, "fixtures", "kadapter-tiny", "trex", "fixture", "re-nlg_fixture.json")
	raw, _ := os.ReadFile(fixture)
	big := append([]byte(nil), raw[:len(raw)-1]...)
	for i := 0; i < 7; i++ { // 8x the fixture in one file: several batches, more than the 1 MiB read buffer
		big = append(big, ',')
		big = append(big, raw[1:len(raw)-1]...)
	}
	big = append(big, ']')
	huge := strings.Replace(goodDoc, `"docid"`, `"pad":"`+strings.Repeat("x", 9<<20)+`","docid"`, 1)
	inputs := map[string][]byte{
		"big.json":       big,
		"bad.json":       []byte(`[` + goodDoc + `, {"text": 1}, ` + strings.Replace(goodDoc, `"sentence_id":0`, `"sentence_id":9`, 1) + `, ` + huge + `, ` + goodDoc + `, ` + goodDoc[:50]),
		"garbage.json":   []byte(`[` + goodDoc + `] x`),
		"malformed.json": []byte(`[` + goodDoc + `, {"docid":"a","text":"b","sentences_boundaries":[],"words_boundaries":[],"triples":[{"sentence_id":0}]}]`),
	}
	dir := copyTree(t, inputs)
	for name := range inputs {
		srcs := sources(t, filepath.Join(dir, name))
		var first map[string][]byte
		var firstErr string
		for _, w := range []int{1, 2, 8} {
			for _, strict := range []bool{false, true} {
				out := t.TempDir()
				o := DefaultOptions(out)
				o.Workers, o.Strict, o.Format, o.MinPerRelation, o.MaxDocumentBytes = w, strict, "both", 1, 8<<20
				_, err := Run(context.Background(), srcs, &o)
				if strict {
					msg := fmt.Sprint(err)
					if w == 1 {
						firstErr = msg
					} else if msg != firstErr {
						t.Fatalf("%s strict, workers=%d: %q, with 1 worker %q", name, w, msg, firstErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s workers=%d: %v", name, w, err)
				}
				got := outputsOf(t, out)
				for _, in := range mustManifest(t, out).Inputs {
					seen := map[string]bool{}
					for _, r := range in.Relations {
						if seen[r.Relation] {
							t.Fatalf("%s workers=%d: relation %s listed twice", name, w, r.Relation)
						}
						seen[r.Relation] = true
					}
				}
				if first == nil {
					first = got
					continue
				}
				for n, b := range first {
					if !bytes.Equal(got[n], b) {
						t.Fatalf("%s: %s with %d workers differs from 1 worker", name, n, w)
					}
				}
			}
		}
		if name != "big.json" && firstErr == "<nil>" {
			t.Fatalf("%s: strict mode accepted it", name)
		}
		if name == "big.json" && firstErr != "<nil>" {
			t.Fatalf("%s: strict mode rejected the good input: %s", name, firstErr)
		}
	}
}
