package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestOrderedDeterministic(t *testing.T) {
	items := make([]int, 500)
	for i := range items {
		items[i] = i
	}
	for _, w := range []int{1, 2, 8} {
		var got []int
		err := Ordered(context.Background(), w, SliceItems(items),
			func(_ context.Context, x int) (int, error) {
				if x%7 == 0 {
					time.Sleep(time.Microsecond * time.Duration(x%13))
				}
				return x * x, nil
			},
			func(y int) error { got = append(got, y); return nil })
		if err != nil {
			t.Fatal(err)
		}
		for i, y := range got {
			if y != i*i {
				t.Fatalf("workers=%d: result %d = %d", w, i, y)
			}
		}
		if len(got) != len(items) {
			t.Fatalf("workers=%d: %d results", w, len(got))
		}
	}
}

func TestOrderedErrors(t *testing.T) {
	boom := errors.New("boom")
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	var emitted []int
	err := Ordered(context.Background(), 4, SliceItems(items),
		func(_ context.Context, x int) (int, error) {
			if x == 50 {
				return 0, boom
			}
			return x, nil
		},
		func(y int) error { emitted = append(emitted, y); return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if len(emitted) != 50 {
		t.Fatalf("emitted %d results before the failing one, want 50", len(emitted))
	}
	// producer error
	n := 0
	err = Ordered(context.Background(), 2, func() (int, bool, error) {
		n++
		if n > 5 {
			return 0, false, boom
		}
		return n, true, nil
	}, func(_ context.Context, x int) (int, error) { return x, nil }, func(int) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("producer err %v", err)
	}
	// cancellation
	ctx, cancel := context.WithCancel(context.Background())
	count := 0
	err = Ordered(ctx, 2, func() (int, bool, error) { return 1, true, nil },
		func(_ context.Context, x int) (int, error) { return x, nil },
		func(int) error {
			count++
			if count == 10 {
				cancel()
			}
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel err %v", err)
	}
}

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "out.json")
	f, err := CreateAtomic(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("final file visible before Commit")
	}
	f.Abort()
	if ents, _ := os.ReadDir(filepath.Join(dir, "sub")); len(ents) != 0 {
		t.Fatalf("Abort left %v", ents)
	}
	if err := WriteFileAtomic(p, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "ok" {
		t.Fatalf("got %q", b)
	}
	// a leftover from a killed run
	os.WriteFile(filepath.Join(dir, "sub", ".x.arrow"+TempMarker+"abc"), []byte("x"), 0o644)
	if n, err := RemoveTemps(filepath.Join(dir, "sub")); err != nil || n != 1 {
		t.Fatalf("RemoveTemps = %d, %v", n, err)
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	content := []byte(`[{"a": 1}, {"b": "é"}]`)
	writeFile(t, filepath.Join(dir, "d", "re-nlg_1.json"), content)
	writeFile(t, filepath.Join(dir, "d", ".hidden.json"), content)
	writeFile(t, filepath.Join(dir, "d", "notes.txt"), []byte("x"))
	writeFile(t, filepath.Join(dir, "elsewhere", "re-nlg_7.json"), content)
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "re-nlg_7.json"), filepath.Join(dir, "d", "re-nlg_7.json")); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	writeFile(t, filepath.Join(dir, "d", "sub", "re-nlg_2.json.gz"), gz.Bytes())
	var zs bytes.Buffer
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write(content)
	zsw.Close()
	writeFile(t, filepath.Join(dir, "re-nlg_3.json.zst"), zs.Bytes())
	bz, err := os.ReadFile("testdata/array.json.bz2")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "re-nlg_4.json.bz2"), bz)
	var zb bytes.Buffer
	zipw := zip.NewWriter(&zb)
	for _, n := range []string{"TREx/re-nlg_5.json", "TREx/readme.txt"} {
		w, _ := zipw.Create(n)
		w.Write(content)
	}
	w, _ := zipw.CreateHeader(&zip.FileHeader{Name: "TREx/re-nlg_6.json", Method: zip.Store})
	w.Write(content)
	zipw.Close()
	writeFile(t, filepath.Join(dir, "release.zip"), zb.Bytes())

	match := func(b string) bool { return strings.HasSuffix(StripCompressionExt(b), ".json") }
	srcs, err := ExpandSources([]string{filepath.Join(dir, "d"), filepath.Join(dir, "re-nlg_[34]*"), filepath.Join(dir, "release.zip"), filepath.Join(dir, "d")}, ExpandOptions{Match: match})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, strings.TrimPrefix(s.Name, dir+"/"))
	}
	want := "d/re-nlg_1.json d/re-nlg_7.json d/sub/re-nlg_2.json.gz re-nlg_3.json.zst re-nlg_4.json.bz2 release.zip!TREx/re-nlg_5.json release.zip!TREx/re-nlg_6.json"
	if strings.Join(names, " ") != want {
		t.Fatalf("sources %q\nwant %q", strings.Join(names, " "), want)
	}
	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	var raw atomic.Int64
	for _, s := range srcs {
		rc, err := s.Open(&raw)
		if err != nil {
			t.Fatal(err)
		}
		a := NewArrayReader(rc, s.Name, ArrayOptions{})
		var got []string
		for {
			e, err := a.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			got = append(got, string(e))
		}
		rc.Close()
		var dec map[string]string
		if len(got) != 2 || json.Unmarshal([]byte(got[1]), &dec) != nil || dec["b"] != "é" {
			t.Fatalf("%s: %q", s.Name, got)
		}
	}
	if raw.Load() != total {
		t.Fatalf("raw bytes counted %d, sizes sum %d", raw.Load(), total)
	}
	if _, err := ExpandSources([]string{filepath.Join(dir, "nope*.json")}, ExpandOptions{}); err == nil {
		t.Fatal("empty glob accepted")
	}
	if _, err := ExpandSources([]string{filepath.Join(dir, "missing.json")}, ExpandOptions{}); err == nil {
		t.Fatal("missing file accepted")
	}
	writeFile(t, filepath.Join(dir, "bad.json.gz"), []byte("not gzip"))
	if _, err := (Source{Name: "bad.json.gz", Path: filepath.Join(dir, "bad.json.gz")}).Open(nil); err == nil || !strings.Contains(err.Error(), "bad.json.gz") {
		t.Fatalf("bad gzip: %v", err)
	}
}

func testSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "token", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "score", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
}

func TestArrowSinkRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		zstd   bool
		rotate int64
		files  int
	}{{false, 0, 1}, {true, 0, 1}, {false, 200, 5}} {
		dir := t.TempDir()
		p := filepath.Join(dir, "train.arrow")
		s, err := NewArrowSink(p, testSchema(), ArrowOptions{Zstd: tc.zstd, MaxFileBytes: tc.rotate, BatchRows: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if err := AppendRow(s.Builder(), fmt.Sprint("doc", i), []string{"a", "é"}, i, float32(i)/2); err != nil {
				t.Fatal(err)
			}
			if err := s.RowDone(); err != nil {
				t.Fatal(err)
			}
		}
		paths, err := s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != tc.files {
			t.Fatalf("%+v: %d files %v", tc, len(paths), paths)
		}
		found, err := ArrowFiles(p)
		if err != nil || strings.Join(found, ",") != strings.Join(paths, ",") {
			t.Fatalf("ArrowFiles %v %v, want %v", found, err, paths)
		}
		rows := 0
		schema, err := ReadArrow(found, func(rec arrow.RecordBatch) error {
			ids := rec.Column(0).(*array.String)
			labels := rec.Column(2).(*array.Int64)
			toks := rec.Column(1).(*array.List)
			for i := 0; i < int(rec.NumRows()); i++ {
				if ids.Value(i) != fmt.Sprint("doc", rows) || labels.Value(i) != int64(rows) {
					return fmt.Errorf("row %d: %s %d", rows, ids.Value(i), labels.Value(i))
				}
				st, en := toks.ValueOffsets(i)
				if en-st != 2 || toks.ListValues().(*array.String).Value(int(st)+1) != "é" {
					return fmt.Errorf("row %d: tokens", rows)
				}
				rows++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rows != 10 {
			t.Fatalf("%d rows", rows)
		}
		md, ok := schema.Metadata().GetValue(HFMetadataKey)
		if !ok {
			t.Fatal("no huggingface metadata")
		}
		var info struct {
			Info struct {
				Features map[string]json.RawMessage `json:"features"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(md), &info); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"id":    `{"dtype":"string","_type":"Value"}`,
			"token": `{"feature":{"dtype":"string","_type":"Value"},"_type":"Sequence"}`,
			"label": `{"dtype":"int64","_type":"Value"}`,
			"score": `{"dtype":"float32","_type":"Value"}`,
		}
		for k, v := range want {
			if string(info.Info.Features[k]) != v {
				t.Fatalf("feature %s = %s, want %s", k, info.Info.Features[k], v)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != tc.files {
			t.Fatalf("leftover files in %v", ents)
		}
	}
}

func TestArrowSinkAbortAndEmpty(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewArrowSink(filepath.Join(dir, "a.arrow"), testSchema(), ArrowOptions{BatchRows: 1})
	AppendRow(s.Builder(), "x", []string{}, 1, float32(0))
	s.RowDone()
	s.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left %v", ents)
	}
	s, _ = NewArrowSink(filepath.Join(dir, "empty.arrow"), testSchema(), ArrowOptions{})
	if _, err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if _, err := ReadArrow([]string{filepath.Join(dir, "empty.arrow")}, func(rec arrow.RecordBatch) error { n += int(rec.NumRows()); return nil }); err != nil || n != 0 {
		t.Fatalf("empty: %d rows, %v", n, err)
	}
}

func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{Label: "test", TotalBytes: 1000, Mode: ProgressLog, Interval: time.Hour})
	p.AddBytes(500)
	p.AddDocs(3)
	p.AddRecords(7)
	p.Finish()
	p.Finish()
	out := buf.String()
	if !strings.Contains(out, "test: 500 B read, 50.0% of 1.0 kB") || !strings.Contains(out, "3 docs, 7 examples") {
		t.Fatalf("log line %q", out)
	}
}

func TestAppendRowTypeErrors(t *testing.T) {
	s, _ := NewArrowSink(filepath.Join(t.TempDir(), "x.arrow"), testSchema(), ArrowOptions{})
	defer s.Abort()
	for _, vals := range [][]any{
		{"a", []int64{1}, int64(1), float32(1)},    // wrong list element type
		{1.5, []string{"a"}, int64(1), float32(1)}, // float for a string
		{"a", []string{"a"}, int64(1)},             // too few values
	} {
		if err := AppendRow(s.Builder(), vals...); err == nil {
			t.Errorf("AppendRow(%v) accepted", vals)
		}
	}
}

// One file reached under several spellings is one source, named by its
// resolved path with ResolvedNames; every extra spelling is reported.
func TestSourcesSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "d", "a.json"), []byte("[]"))
	writeFile(t, filepath.Join(dir, "d", "b.json"), []byte("[]"))
	if err := os.Symlink(filepath.Join(dir, "d", "a.json"), filepath.Join(dir, "link.json")); err != nil {
		t.Skip("no symbolic links:", err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("e.json")
	w.Write([]byte("[]"))
	zw.Close()
	writeFile(t, filepath.Join(dir, "r.zip"), zb.Bytes())
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, filepath.Join(dir, "d", "a.json"))
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p ...string) string { return resolvePath(filepath.Join(append([]string{dir}, p...)...)) }
	for _, tc := range []struct {
		name string
		args []string
		want []string // Keys
		dups int
	}{
		{"folder and a file in it", []string{filepath.Join(dir, "d"), filepath.Join(dir, "d", "a.json")}, []string{abs("d", "a.json"), abs("d", "b.json")}, 1},
		{"relative and absolute", []string{rel, filepath.Join(dir, "d", "a.json")}, []string{abs("d", "a.json")}, 1},
		{"dot segments", []string{filepath.Join(dir, "d", ".", "a.json"), filepath.Join(dir, "d", "..", "d", "a.json")}, []string{abs("d", "a.json")}, 1},
		{"symbolic link", []string{filepath.Join(dir, "link.json"), filepath.Join(dir, "d", "a.json")}, []string{abs("d", "a.json")}, 1},
		{"zip twice", []string{filepath.Join(dir, "r.zip"), filepath.Join(dir, ".", "r.zip")}, []string{abs("r.zip") + "!e.json"}, 1},
		{"no duplicate", []string{filepath.Join(dir, "d")}, []string{abs("d", "a.json"), abs("d", "b.json")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dups := 0
			srcs, err := ExpandSources(tc.args, ExpandOptions{ResolvedNames: true, OnDuplicate: func(name, first string) {
				if name != first {
					t.Errorf("duplicate %s kept as %s", name, first)
				}
				dups++
			}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range srcs {
				if s.Name != s.Key {
					t.Errorf("Name %s, Key %s", s.Name, s.Key)
				}
				got = append(got, s.Key)
			}
			if !slices.Equal(got, tc.want) || dups != tc.dups {
				t.Fatalf("got %v (%d duplicates), want %v (%d)", got, dups, tc.want, tc.dups)
			}
		})
	}
}
