package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/builders/trexrc"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
)

// runKprep runs kprep with args and returns exit code, stdout, stderr.
func runKprep(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

func featuresJSON(t *testing.T, args ...string) featuresSummary {
	t.Helper()
	code, out, errs := runKprep(t, append(append([]string{"features"}, args...), "--json", "--quiet")...)
	if code != 0 {
		t.Fatalf("kprep features %v: exit %d\n%s", args, code, errs)
	}
	var s featuresSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return s
}

// featureRow is one output row, read back from Arrow generically.
type featureRow map[string]any

func readFeatureRows(t *testing.T, path string) ([]featureRow, *arrow.Schema) {
	t.Helper()
	var rows []featureRow
	sc, err := pipeline.ReadArrow([]string{path}, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := featureRow{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = cellValue(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, sc
}

func cellValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch v := a.(type) {
	case *array.String:
		return v.Value(i)
	case *array.Int64:
		return v.Value(i)
	case *array.List:
		s, e := v.ValueOffsets(i)
		switch inner := v.ListValues().(type) {
		case *array.Int64:
			return append([]int64{}, inner.Int64Values()[s:e]...)
		case *array.List:
			var out [][]int64
			for k := s; k < e; k++ {
				out = append(out, cellValue(inner, int(k)).([]int64))
			}
			return out
		}
	}
	panic("unexpected arrow type " + a.DataType().String())
}

func int64s(v any) []int64 { return v.([]int64) }

// expectedRow converts an Example as the CLI must have written it.
func checkRow(t *testing.T, task string, row featureRow, ex *features.Example) {
	t.Helper()
	if row["id"] != ex.ID || row["record"] != int64(ex.Record) {
		t.Fatalf("row id %v record %v, want %q %d", row["id"], row["record"], ex.ID, ex.Record)
	}
	if task == features.TaskCosmosQA {
		ids := row["input_ids"].([][]int64)
		masks := row["attention_mask"].([][]int64)
		for k, ch := range ex.Choices {
			if !reflect.DeepEqual(ids[k], ch.InputIDs) || !reflect.DeepEqual(masks[k], ch.AttentionMask) {
				t.Fatalf("record %d choice %d differs", ex.Record, k)
			}
		}
		if (ex.Label < 0 && row["label"] != nil) || (ex.Label >= 0 && row["label"] != int64(ex.Label)) {
			t.Fatalf("record %d label %v, want %d", ex.Record, row["label"], ex.Label)
		}
		return
	}
	if !reflect.DeepEqual(int64s(row["input_ids"]), ex.InputIDs) || !reflect.DeepEqual(int64s(row["attention_mask"]), ex.AttentionMask) {
		t.Fatalf("record %d ids/mask differ", ex.Record)
	}
	switch task {
	case features.TaskTACRED, features.TaskTREXRC:
		if row["subj_pos"] != int64(ex.SubjPos) || row["obj_pos"] != int64(ex.ObjPos) || row["label"] != int64(ex.Label) {
			t.Fatalf("record %d: subj %v obj %v label %v, want %d %d %d", ex.Record, row["subj_pos"], row["obj_pos"], row["label"], ex.SubjPos, ex.ObjPos, ex.Label)
		}
	case features.TaskOpenEntity, features.TaskFIGER:
		if row["entity_pos"] != int64(ex.EntityPos) || !reflect.DeepEqual(int64s(row["labels"]), ex.Labels) {
			t.Fatalf("record %d: entity_pos/labels differ", ex.Record)
		}
	case features.TaskFindHead:
		if !reflect.DeepEqual(int64s(row["labels"]), ex.Labels) {
			t.Fatalf("record %d: labels differ", ex.Record)
		}
	}
}

// checkAgainstAPI converts the input with the library and compares every
// row of the CLI's output, and the kept/dropped counts.
func checkAgainstAPI(t *testing.T, task, in, out string, cfg features.Config, s featuresSummary) {
	t.Helper()
	tok, err := features.LoadTokenizer(testshared.Path(t, "data", "roberta"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Task = task
	conv, err := features.NewConverter(tok, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := features.NewRecordReader(f, in)
	if err != nil {
		t.Fatal(err)
	}
	var want []features.Example
	var sum features.Summary
	for i := 0; ; i++ {
		raw, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s for the expected examples: %v", in, err)
		}
		res := conv.Convert(i, raw)
		conv.Sequence(&res)
		sum.Add(&res)
		if res.Err == nil {
			want = append(want, res.Example)
		}
	}
	rows, sc := readFeatureRows(t, out)
	if len(rows) != len(want) || s.Kept != len(want) || s.Records != sum.Kept+sum.Dropped.Total() {
		t.Fatalf("%d rows, summary kept %d of %d; library kept %d, dropped %v", len(rows), s.Kept, s.Records, len(want), sum.Dropped)
	}
	for i := range rows {
		checkRow(t, task, rows[i], &want[i])
	}
	if md, ok := sc.Metadata().GetValue(pipeline.HFMetadataKey); !ok || !strings.Contains(md, `"input_ids"`) {
		t.Fatalf("no Hugging Face metadata in %s: %q", out, md)
	}
}

func TestFeaturesOpenEntityDev(t *testing.T) {
	in := testshared.Path(t, "data", "openentity", "dev.json")
	out := filepath.Join(t.TempDir(), "oe.arrow")
	s := featuresJSON(t, "--task", "openentity", "--in", in, "--vocab", testshared.Path(t, "data", "roberta"), "--out", out)
	if s.Kept == 0 || s.MaxSeqLength != 256 {
		t.Fatalf("summary %+v", s)
	}
	checkAgainstAPI(t, features.TaskOpenEntity, in, out, features.Config{NegativeSample: -1}, s)
}

func TestFeaturesFIGERTest(t *testing.T) {
	in := testshared.Path(t, "data", "figer", "test.json")
	labels := testshared.Path(t, "data", "figer", "labels.json")
	out := filepath.Join(t.TempDir(), "figer.arrow")
	s := featuresJSON(t, "--task", "figer", "--in", in, "--labels", labels, "--vocab", testshared.Path(t, "data", "roberta"), "--out", out)
	lab, err := features.ReadLabels(labels)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstAPI(t, features.TaskFIGER, in, out, features.Config{Labels: lab, NegativeSample: -1}, s)
	// A short max_seq_length makes FIGER drop (never reject) long examples.
	s2 := featuresJSON(t, "--task", "figer", "--in", in, "--labels", labels, "--vocab", testshared.Path(t, "data", "roberta"),
		"--out", out, "--max-seq-length", "40", "--strict")
	if s2.Dropped[features.ReasonTooLong] == 0 || s2.Rejected != 0 || s2.Kept+s2.DroppedTotal != s2.Records {
		t.Fatalf("figer at 40: %+v", s2)
	}
}

func TestFeaturesCosmosQAValid(t *testing.T) {
	in := testshared.Path(t, "data", "cosmosqa", "valid.jsonl")
	out := filepath.Join(t.TempDir(), "cosmos.arrow")
	vocab := testshared.Path(t, "data", "roberta")
	s := featuresJSON(t, "--task", "cosmosqa", "--in", in, "--vocab", vocab, "--out", out)
	if s.Kept != s.Records || s.Records == 0 {
		t.Fatalf("summary %+v", s)
	}
	checkAgainstAPI(t, features.TaskCosmosQA, in, out, features.Config{NegativeSample: -1}, s)
	rows, _ := readFeatureRows(t, out)
	zeros := 0
	for _, r := range rows {
		if r["label"] == nil {
			t.Fatalf("record %v has no label; valid.jsonl labels are all integers", r["record"])
		}
		if r["label"] == int64(0) {
			zeros++
		}
	}
	// --legacy-label reproduces the original's int 0 -> None.
	s2 := featuresJSON(t, "--task", "cosmosqa", "--in", in, "--vocab", vocab, "--out", out, "--legacy-label")
	rows, _ = readFeatureRows(t, out)
	nulls := 0
	for _, r := range rows {
		if r["label"] == nil {
			nulls++
		}
	}
	if zeros == 0 || nulls != zeros || s2.Kept != s.Kept {
		t.Fatalf("%d zero labels, %d nulls with --legacy-label", zeros, nulls)
	}
}

// TestFeaturesTACREDSample runs the hand-written TACRED-format file through
// every reason a TACRED record can be dropped.
func TestFeaturesTACREDSample(t *testing.T) {
	in := filepath.Join(testshared.RepoRoot(), "testdata", "features", "tacred_sample.json")
	vocab := testshared.Path(t, "data", "roberta")
	labels := testshared.Path(t, "data", "tacred", "relations.json")
	out := filepath.Join(t.TempDir(), "tacred.arrow")
	base := []string{"--task", "tacred", "--in", in, "--vocab", vocab, "--out", out, "--max-seq-length", "24", "--labels", labels}
	tests := []struct {
		name  string
		extra []string
		kept  int
		drops map[string]int
	}{
		{"dev", nil, 8, map[string]int{features.ReasonUnknownLabel: 1, features.ReasonMarkerAtMaxLen: 1, features.ReasonInvalidRecord: 1}},
		{"train", []string{"--negative-sample", "3"}, 6, map[string]int{features.ReasonUnknownLabel: 1, features.ReasonMarkerAtMaxLen: 1,
			features.ReasonInvalidRecord: 1, features.ReasonNegativeSampled: 2}},
		{"clamp", []string{"--clamp-at-max"}, 9, map[string]int{features.ReasonUnknownLabel: 1, features.ReasonInvalidRecord: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := featuresJSON(t, append(append([]string{}, base...), tc.extra...)...)
			if s.Records != 11 || s.Kept != tc.kept || !reflect.DeepEqual(s.Dropped, tc.drops) {
				t.Fatalf("summary %+v, want kept %d drops %v", s, tc.kept, tc.drops)
			}
			cfg := features.Config{MaxSeqLength: 24, NegativeSample: -1}
			if tc.name == "train" {
				cfg.NegativeSample = 3
			}
			cfg.ClampAtMax = tc.name == "clamp"
			checkAgainstAPI(t, features.TaskTACRED, in, out, cfg, s)
		})
	}
	// --strict stops at the first rejection, names file and record, and
	// leaves no output behind.
	strictOut := filepath.Join(t.TempDir(), "strict.arrow")
	code, _, errs := runKprep(t, "features", "--task", "tacred", "--in", in, "--vocab", vocab, "--out", strictOut, "--max-seq-length", "24", "--strict", "--quiet")
	if code != 1 || !strings.Contains(errs, in+": record 7: unknown_label") {
		t.Fatalf("strict: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(strictOut); !os.IsNotExist(err) {
		t.Fatalf("strict failure left %s behind (%v)", strictOut, err)
	}
	// The human summary lists every reason.
	code, sout, _ := runKprep(t, append(append([]string{"features"}, base...), "--quiet")...)
	if code != 0 || !strings.Contains(sout, "marker_at_max_len") || !strings.Contains(sout, "rejected") {
		t.Fatalf("summary: exit %d\n%s", code, sout)
	}
}

// writeTrexArrow writes the fac-adapter sample (the original func() output
// kept as property ids) as an Arrow stream with the pipeline sink, shaped
// like kprep trex's train.arrow (trexrc.SplitSchema).
func writeTrexArrow(t *testing.T, jsonPath, out string, maxFileBytes int64) int {
	t.Helper()
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		DocID     string   `json:"docid"`
		Token     []string `json:"token"`
		Relation  string   `json:"relation"`
		SubjStart int64    `json:"subj_start"`
		SubjEnd   int64    `json:"subj_end"`
		ObjStart  int64    `json:"obj_start"`
		ObjEnd    int64    `json:"obj_end"`
		SubjLabel string   `json:"subj_label"`
		ObjLabel  string   `json:"obj_label"`
	}
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	// The schema kprep trex gives train.arrow (the original layout + label).
	sc := trexrc.SplitSchema
	sink, err := pipeline.NewArrowSink(out, sc, pipeline.ArrowOptions{BatchRows: 7, MaxFileBytes: maxFileBytes})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := pipeline.AppendRow(sink.Builder(), r.DocID, r.Token, r.Relation, r.SubjStart, r.SubjEnd, r.ObjStart, r.ObjEnd, r.SubjLabel, r.ObjLabel, int64(trexrc.Label(r.Relation))); err != nil {
			t.Fatal(err)
		}
		if err := sink.RowDone(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// TestFeaturesTREXArrow: features built from an Arrow train file equal the
// ones built from the same records as JSON.
func TestFeaturesTREXArrow(t *testing.T) {
	jsonIn := testshared.Path(t, "data", "trex", "kadapter-reference", "T_REx_example.from_sample.json")
	labels := testshared.Path(t, "data", "trex", "kadapter-reference", "kadapter_trex_relations.json")
	vocab := testshared.Path(t, "data", "roberta")
	dir := t.TempDir()
	arrowIn := filepath.Join(dir, "train.arrow")
	n := writeTrexArrow(t, jsonIn, arrowIn, 0)
	fromArrow := filepath.Join(dir, "from-arrow.arrow")
	fromJSON := filepath.Join(dir, "from-json.arrow")
	sa := featuresJSON(t, "--task", "trex-rc", "--in", arrowIn, "--labels", labels, "--vocab", vocab, "--out", fromArrow)
	sj := featuresJSON(t, "--task", "trex-rc", "--in", jsonIn, "--vocab", vocab, "--out", fromJSON) // built-in 410 list
	if sa.Records != n || sa.Kept != sj.Kept || !reflect.DeepEqual(sa.Dropped, sj.Dropped) || sa.Kept == 0 {
		t.Fatalf("arrow %+v\njson %+v", sa, sj)
	}
	ra, _ := readFeatureRows(t, fromArrow)
	rj, _ := readFeatureRows(t, fromJSON)
	if !reflect.DeepEqual(ra, rj) {
		t.Fatal("features from Arrow and from JSON differ")
	}
	lab, _ := features.ReadLabels(labels)
	checkAgainstAPI(t, features.TaskTREXRC, jsonIn, fromJSON, features.Config{Labels: lab, NegativeSample: -1}, sj)

	// Rotated shards (sharded-0000i-of-0000n.arrow) are read in order
	// when --in names the unrotated path.
	sharded := filepath.Join(dir, "sharded.arrow")
	writeTrexArrow(t, jsonIn, sharded, 1)
	if files, err := pipeline.ArrowFiles(sharded); err != nil || len(files) < 2 {
		t.Fatalf("expected several shards: %v %v", files, err)
	}
	fromShards := filepath.Join(dir, "from-shards.arrow")
	ss := featuresJSON(t, "--task", "trex-rc", "--in", sharded, "--vocab", vocab, "--out", fromShards)
	rs, _ := readFeatureRows(t, fromShards)
	if ss.Records != n || !reflect.DeepEqual(rs, rj) {
		t.Fatalf("features from shards differ (%+v)", ss)
	}
}

// TestFeaturesFromKprepTrex: the train.arrow that kprep trex writes (from
// the shared T-REx sample) gives the same features as its train.json.
func TestFeaturesFromKprepTrex(t *testing.T) {
	sample := testshared.Path(t, "data", "trex", "sample-output.json")
	vocab := testshared.Path(t, "data", "roberta")
	dir := t.TempDir()
	trexOut := filepath.Join(dir, "trex")
	if code, _, errs := runKprep(t, "trex", "--in", sample, "--out", trexOut, "--min-per-relation", "1", "--format", "both", "--quiet"); code != 0 {
		t.Fatalf("kprep trex: exit %d\n%s", code, errs)
	}
	fromArrow := filepath.Join(dir, "a.arrow")
	fromJSON := filepath.Join(dir, "j.arrow")
	sa := featuresJSON(t, "--task", "trex-rc", "--in", filepath.Join(trexOut, "train.arrow"), "--vocab", vocab, "--out", fromArrow)
	sj := featuresJSON(t, "--task", "trex-rc", "--in", filepath.Join(trexOut, "train.json"), "--vocab", vocab, "--out", fromJSON)
	if sa.Records == 0 || sa.Kept == 0 || sa.Records != sj.Records || sa.Kept != sj.Kept || !reflect.DeepEqual(sa.Dropped, sj.Dropped) {
		t.Fatalf("arrow %+v\njson %+v", sa, sj)
	}
	ra, _ := readFeatureRows(t, fromArrow)
	rj, _ := readFeatureRows(t, fromJSON)
	if !reflect.DeepEqual(ra, rj) {
		t.Fatal("features from kprep trex's train.arrow and train.json differ")
	}
	checkAgainstAPI(t, features.TaskTREXRC, filepath.Join(trexOut, "train.json"), fromJSON, features.Config{NegativeSample: -1}, sj)
}

// TestFeaturesFindHeadSample runs the hand-written find_head file with
// both label mappings.
func TestFeaturesFindHeadSample(t *testing.T) {
	in := filepath.Join(testshared.RepoRoot(), "testdata", "features", "find_head_sample.json")
	vocab := testshared.Path(t, "data", "roberta")
	out := filepath.Join(t.TempDir(), "fh.arrow")
	tests := []struct {
		mapping features.HeadMapping
		kept    int
		drops   map[string]int
	}{
		{features.HeadMappingOriginal, 3, map[string]int{features.ReasonBadWord: 1, features.ReasonHeadIsLastWord: 1, features.ReasonMissingHead: 1}},
		{features.HeadMappingFirstSubToken, 4, map[string]int{features.ReasonBadWord: 1, features.ReasonMissingHead: 1}},
	}
	for _, tc := range tests {
		s := featuresJSON(t, "--task", "find-head", "--in", in, "--vocab", vocab, "--out", out, "--head-mapping", tc.mapping.String(), "--strict")
		if s.Records != 6 || s.Kept != tc.kept || !reflect.DeepEqual(s.Dropped, tc.drops) || s.MaxSeqLength != 64 {
			t.Fatalf("%s: summary %+v", tc.mapping, s)
		}
		checkAgainstAPI(t, features.TaskFindHead, in, out, features.Config{HeadMapping: tc.mapping, NegativeSample: -1}, s)
	}
}

func TestFeaturesUsage(t *testing.T) {
	vocab := testshared.Path(t, "data", "roberta")
	for _, args := range [][]string{
		{"features"},
		{"features", "--task", "glue", "--in", "x", "--vocab", vocab, "--out", "y"},
		{"features", "--task", "tacred", "--vocab", vocab, "--out", "y"},
		{"features", "--task", "figer", "--in", "x", "--vocab", vocab, "--out", "y"},
		{"features", "--task", "find-head", "--in", "x", "--vocab", vocab, "--out", "y", "--head-mapping", "nope"},
		{"features", "--task", "openentity", "--in", "x.arrow", "--vocab", vocab, "--out", "y"},
	} {
		if code, _, errs := runKprep(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	if code, help, _ := runKprep(t, "features", "--help"); code != 0 || !strings.Contains(help, "Usage: kprep features") || !strings.Contains(help, "-negative-sample") {
		t.Errorf("--help: exit %d\n%s", code, help)
	}
	if code, _, errs := runKprep(t, "features", "--task", "tacred", "--in", "/nonexistent.json", "--vocab", vocab, "--out", filepath.Join(t.TempDir(), "x.arrow")); code != 1 {
		t.Errorf("missing input: exit %d (%s)", code, errs)
	}
}

// TestFeaturesBadInput feeds kprep features inputs that cannot be read to
// their end and records with invalid UTF-8. By default the good records
// are kept and the rest counts as one invalid_input rejection, as kprep
// trex keeps the documents before a problem; --strict stops and writes
// nothing. Invalid UTF-8 is counted (invalid_utf8_records), as kprep
// tokenize counts it, and read as U+FFFD.
func TestFeaturesBadInput(t *testing.T) {
	vocab := testshared.Path(t, "data", "roberta")
	labels := testshared.Path(t, "data", "tacred", "relations.json")
	good, err := os.ReadFile(filepath.Join(testshared.RepoRoot(), "testdata", "features", "tacred_sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(good, &recs); err != nil {
		t.Fatal(err)
	}
	first3 := "[" + string(recs[0]) + ",\n" + string(recs[1]) + ",\n" + string(recs[2])
	dir := t.TempDir()
	run := func(t *testing.T, data string, strict bool) (int, featuresSummary, string, string) {
		t.Helper()
		in := filepath.Join(dir, t.Name()[strings.LastIndex(t.Name(), "/")+1:]+".json")
		if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out.arrow")
		os.Remove(out)
		args := []string{"features", "--task", "tacred", "--in", in, "--vocab", vocab, "--labels", labels, "--out", out, "--json", "--quiet"}
		if strict {
			args = append(args, "--strict")
		}
		code, sout, errs := runKprep(t, args...)
		var s featuresSummary
		if code == 0 {
			if err := json.Unmarshal([]byte(sout), &s); err != nil {
				t.Fatalf("summary %q: %v", sout, err)
			}
		} else if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("exit %d left %s behind", code, out)
		}
		return code, s, errs, out
	}
	for _, tc := range []struct {
		name, data string
		kept       int
		offset     string // in the warning: "byte offset N"
	}{
		{"truncated", first3 + ",\n" + string(recs[3][:40]), 3, "byte offset"},
		{"unterminated", first3, 3, "byte offset"},
		{"trailing", first3 + "]\n{\"x\": 1}\n", 3, "byte offset"},
		{"missing_comma", first3 + "\n" + string(recs[3]) + "]", 3, "byte offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, s, errs, out := run(t, tc.data, false)
			if code != 0 {
				t.Fatalf("exit %d without --strict: %s", code, errs)
			}
			if s.Kept != tc.kept || s.Records != tc.kept+1 || s.Dropped[features.ReasonInvalidInput] != 1 || s.Rejected != 1 {
				t.Errorf("summary %+v: want the %d good records kept and one invalid_input", s, tc.kept)
			}
			if !strings.Contains(s.InputError, tc.offset) || !strings.Contains(errs, "the 3 records before it are kept") {
				t.Errorf("input_error %q, stderr %q: want the offset and the kept count", s.InputError, errs)
			}
			if rows, _ := readFeatureRows(t, out); len(rows) != tc.kept {
				t.Errorf("%d rows written, want %d", len(rows), tc.kept)
			}
			code, _, errs, _ = run(t, tc.data, true)
			if code != 1 || !strings.Contains(errs, "--strict") {
				t.Errorf("--strict: exit %d, %s", code, errs)
			}
		})
	}
	t.Run("jsonl", func(t *testing.T) {
		// JSON lines: a bad line is one rejected record; the lines after
		// it are read.
		data := string(recs[0]) + "\n" + `{"token": [` + "\n" + string(recs[1]) + "\n" + string(recs[2]) + "\n"
		code, s, errs, _ := run(t, data, false)
		if code != 0 || s.Kept != 3 || s.Records != 4 || s.Dropped[features.ReasonInvalidRecord] != 1 || s.InputError != "" {
			t.Fatalf("exit %d, summary %+v (%s): want 3 kept, one invalid_record", code, s, errs)
		}
		if code, _, errs, _ := run(t, data, true); code != 1 || !strings.Contains(errs, "record 1") {
			t.Errorf("--strict: exit %d, %s", code, errs)
		}
	})
	t.Run("utf8", func(t *testing.T) {
		// Records 0 and 1 with a bad byte inside a token; record 0 twice.
		bad := strings.Replace(string(recs[0]), "Honolulu", "Hono\xfflulu", 1)
		bad2 := strings.Replace(string(recs[1]), "Paris", "Pa\xe2\x82ris", 1)
		code, s, errs, out := run(t, "["+bad+",\n"+bad2+",\n"+string(recs[2])+"]", false)
		if code != 0 || s.BadUTF8 != 2 || s.Kept != 3 || s.Rejected != 0 {
			t.Fatalf("exit %d, summary %+v (%s): want 3 kept, 2 invalid_utf8_records", code, s, errs)
		}
		rows, _ := readFeatureRows(t, out)
		tok, err := features.LoadTokenizer(vocab)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := features.NewConverter(tok, features.Config{Task: features.TaskTACRED})
		if err != nil {
			t.Fatal(err)
		}
		// The same as converting the record with U+FFFD for the maximal
		// subpart (one U+FFFD for the truncated 3-byte sequence).
		want := conv.Convert(1, []byte(strings.Replace(string(recs[1]), "Paris", "Pa\uFFFDris", 1)))
		if want.Err != nil || !reflect.DeepEqual(rows[1]["input_ids"], want.Example.InputIDs) {
			t.Errorf("record 1 ids %v, want %v (%v)", rows[1]["input_ids"], want.Example.InputIDs, want.Err)
		}
		if code, _, _, _ := run(t, "["+bad+"]", true); code != 0 {
			t.Errorf("--strict: exit %d; invalid UTF-8 is counted, not rejected (as in kprep tokenize)", code)
		}
	})
}
