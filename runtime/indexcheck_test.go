package runtime

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/kadapter/kadapter/runtime/onnxtest"
)

// TestIndexLimitsGraph: which Gathers make an input an index input.
func TestIndexLimitsGraph(t *testing.T) {
	in := func(names ...string) []IOInfo {
		var out []IOInfo
		for _, n := range names {
			out = append(out, IOInfo{Name: n, DType: "int64"})
		}
		return out
	}
	gather := func(table, idx string) nodeInfo {
		return nodeInfo{op: "Gather", inputs: []string{table, idx}, outputs: []string{table + "_out"}}
	}
	inits := map[string]bool{"emb": true, "small": true, "vec": true}
	dims := map[string][]int64{"emb": {1000, 64}, "small": {10, 64}, "vec": {}}
	cases := []struct {
		name  string
		nodes []nodeInfo
		want  []IndexLimit
	}{
		{"direct", []nodeInfo{gather("emb", "input_ids")}, []IndexLimit{{"input_ids", "emb", 1000}}},
		{"through Flatten and Cast", []nodeInfo{
			{op: "Flatten", inputs: []string{"input_ids"}, outputs: []string{"f"}},
			{op: "Cast", inputs: []string{"f"}, outputs: []string{"c"}},
			gather("emb", "c"),
		}, []IndexLimit{{"input_ids", "emb", 1000}}},
		{"computed indices are not checked", []nodeInfo{
			{op: "Add", inputs: []string{"input_ids", "one"}, outputs: []string{"a"}},
			gather("emb", "a"),
		}, nil},
		{"axis 1", []nodeInfo{{op: "Gather", inputs: []string{"emb", "input_ids"}, outputs: []string{"x"}, axis: 1}}, nil},
		{"other domain", []nodeInfo{{op: "Gather", domain: "com.example", inputs: []string{"emb", "input_ids"}, outputs: []string{"x"}}}, nil},
		{"table is not an initializer", []nodeInfo{gather("computed", "input_ids")}, nil},
		{"scalar table", []nodeInfo{gather("vec", "input_ids")}, nil},
		{"smallest table wins", []nodeInfo{gather("emb", "input_ids"), gather("small", "input_ids")}, []IndexLimit{{"input_ids", "small", 10}}},
		{"two inputs", []nodeInfo{gather("emb", "input_ids"), gather("small", "type_ids")}, []IndexLimit{{"input_ids", "emb", 1000}, {"type_ids", "small", 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &graphInfo{inputs: in("input_ids", "type_ids"), inits: inits, initDims: dims, nodes: tc.nodes}
			if got := g.indexLimits(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReadIndexLimits reads the limits from graph files: the table size
// comes from the initializer's dims, the chain from the nodes.
func TestReadIndexLimits(t *testing.T) {
	cases := []struct {
		name  string
		model []byte
		want  []IndexLimit
	}{
		{"embedder", onnxtest.Embedder(10, 0), []IndexLimit{{"input_ids", "emb", 10}}},
		{"classifier (Gather on a shape)", onnxtest.Classifier("subj_pos"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadIndexLimits(writeModel(t, "m.onnx", tc.model))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestIndexCheck: ids outside the embedding are rejected before ONNX
// Runtime runs, naming the model, the id, its place, the table and its size.
func TestIndexCheck(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "emb.onnx", onnxtest.Embedder(10, 0))
	s, err := Open(path, Options{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := []IndexLimit{{"input_ids", "emb", 10}}; !reflect.DeepEqual(s.IndexLimits(), want) {
		t.Fatalf("limits %v, want %v", s.IndexLimits(), want)
	}
	run := func(ids []int64) (map[string]Tensor, error) {
		shape := []int64{1, int64(len(ids))}
		return s.Run(context.Background(), map[string]Tensor{
			"input_ids": {Shape: shape, Data: ids}, "attention_mask": {Shape: shape, Data: make([]int64, len(ids))}})
	}
	out, err := run([]int64{0, 9, 3})
	if err != nil {
		t.Fatalf("valid ids: %v", err)
	}
	if got := out["logits"].Float32s(); len(got) != 2 || got[0] != 12 || got[1] != 3 {
		t.Fatalf("logits %v, want [12 3]", got)
	}
	runCases := []struct {
		ids  []int64
		bad  int64
		at   []int
		want []string
	}{
		{[]int64{1, 2, 10}, 10, []int{0, 2}, []string{path, "input_ids id 10", "[0 2]", "emb of 10 rows", "ids 0..9"}},
		{[]int64{-1}, -1, []int{0, 0}, []string{"id -1", "emb of 10 rows"}},
		{[]int64{5, 50265}, 50265, []int{0, 1}, []string{"id 50265"}},
	}
	for _, tc := range runCases {
		_, err := run(tc.ids)
		var ie *IndexError
		if !errors.As(err, &ie) {
			t.Fatalf("ids %v: error %v is not an *IndexError", tc.ids, err)
		}
		if ie.Value != tc.bad || !reflect.DeepEqual(ie.At, tc.at) || ie.Limit.Rows != 10 {
			t.Errorf("ids %v: %+v", tc.ids, ie)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}

	rowCases := []struct {
		name string
		rows []Row
		want string // "" for no error
	}{
		{"valid", []Row{{Seqs: [][]int64{{0, 1, 9}}}, {Seqs: [][]int64{{2}}}}, ""},
		{"second row", []Row{{Seqs: [][]int64{{0, 1}}}, {Seqs: [][]int64{{2, 3, 11}}}}, "data.json record 7: input_ids id 11 at position 2 is outside"},
		{"choice", []Row{{Seqs: [][]int64{{0}, {1, 12}}}}, "data.json record 6: input_ids id 12 in choice 1 at position 1"},
	}
	for _, tc := range rowCases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckRows(tc.rows, func(i int) string { return "data.json record " + string(rune('6'+i)) })
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "10 rows") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// captureStderr runs fn with file descriptor 2 redirected to a file and
// returns what was written there (ONNX Runtime's logger writes to fd 2
// directly, not through os.Stderr).
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	func() {
		defer syscall.Dup3(saved, 2, 0)
		fn()
	}()
	syscall.Close(saved)
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestORTErrorsClean: an error only ONNX Runtime can see (an index computed
// inside the graph) comes back once, as the error, without terminal colour
// codes; ONNX Runtime does not also print it, coloured, on stderr.
func TestORTErrorsClean(t *testing.T) {
	requireORT(t)
	path := writeModel(t, "shifted.onnx", onnxtest.Embedder(10, 10))
	var runErr error
	printed := captureStderr(t, func() {
		s, err := Open(path, Options{IntraOpThreads: 1, InterOpThreads: 1})
		if err != nil {
			runErr = err
			return
		}
		defer s.Close()
		shape := []int64{1, 2}
		_, runErr = s.Run(context.Background(), map[string]Tensor{
			"input_ids": {Shape: shape, Data: []int64{1, 2}}, "attention_mask": {Shape: shape, Data: []int64{1, 1}}})
	})
	if runErr == nil {
		t.Fatal("no error from a graph that gathers outside its table")
	}
	if strings.Contains(runErr.Error(), "\x1b") {
		t.Errorf("error %q holds terminal escape codes", runErr)
	}
	if !strings.Contains(runErr.Error(), path) || !strings.Contains(runErr.Error(), "Gather") {
		t.Errorf("error %q does not name the model and the failing node", runErr)
	}
	if printed != "" {
		t.Errorf("ONNX Runtime printed on stderr: %q", printed)
	}
}

func TestStripANSI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[1;31m2026 [E:onnxruntime] bad\x1b[m", "2026 [E:onnxruntime] bad"},
		{"a\x1b[0mb\x1b[38;5;196mc\x1b[K", "abc"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := stripANSI(tc.in); got != tc.want {
			t.Errorf("stripANSI(%q) = %q, want %q", tc.in, got, tc.want)
		}
		err := cleanORT(errors.New(tc.in))
		if err.Error() != tc.want {
			t.Errorf("cleanORT(%q) = %q", tc.in, err)
		}
	}
	if cleanORT(nil) != nil {
		t.Error("cleanORT(nil) is not nil")
	}
}
