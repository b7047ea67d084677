package runtime

import (
	"context"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/runtime/onnxtest"
)

// randomRows returns n rows of random lengths 1..maxLen with random ids and
// marker positions equal to the row's index (to check order restoration).
func randomRows(n, maxLen int, seed int64) []Row {
	rng := rand.New(rand.NewSource(seed))
	rows := make([]Row, n)
	for i := range rows {
		seq := make([]int64, 1+rng.Intn(maxLen))
		for j := range seq {
			seq[j] = 2 + rng.Int63n(50)
		}
		rows[i] = Row{Seqs: [][]int64{seq}, Positions: map[string]int64{"subj_pos": int64(i), "obj_pos": int64(len(seq))}}
	}
	return rows
}

func sum(s []int64) float32 {
	var t int64
	for _, v := range s {
		t += v
	}
	return float32(t)
}

func TestRunRowsOrderAndPadding(t *testing.T) {
	requireORT(t)
	s, err := Open(writeModel(t, "cls.onnx", onnxtest.Classifier("subj_pos", "obj_pos")), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const maxLen, padID = 16, 1
	rows := randomRows(23, maxLen, 7)
	for _, c := range []struct {
		name    string
		padding Padding
		batch   int
	}{
		{"fixed/b1", PadFixed, 1}, {"fixed/b5", PadFixed, 5}, {"fixed/b64", PadFixed, 64},
		{"dynamic/b1", PadDynamic, 1}, {"dynamic/b4", PadDynamic, 4}, {"dynamic/b64", PadDynamic, 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls, last int
			res, err := s.RunRows(context.Background(), rows, BatchOptions{
				BatchSize: c.batch, Padding: c.padding, MaxLen: maxLen, PadID: padID,
				Progress: func(done, total int) {
					calls++
					if done <= last || total != len(rows) {
						t.Errorf("progress %d/%d after %d", done, total, last)
					}
					last = done
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := (len(rows) + c.batch - 1) / c.batch; calls != want || last != len(rows) {
				t.Errorf("progress called %d times ending at %d, want %d ending at %d", calls, last, want, len(rows))
			}
			if len(res) != len(rows) {
				t.Fatalf("%d results for %d rows", len(res), len(rows))
			}
			// Batch-local padded lengths under dynamic padding.
			padded := map[int]int{}
			if c.padding == PadDynamic {
				order := make([]int, len(rows))
				for i := range order {
					order[i] = i
				}
				sortByLenDesc(order, rows)
				for start := 0; start < len(order); start += c.batch {
					end := min(start+c.batch, len(order))
					for _, j := range order[start:end] {
						padded[j] = rows[order[start]].Len()
					}
				}
			}
			for i, r := range res {
				seq := r0(rows[i])
				L := maxLen
				if c.padding == PadDynamic {
					L = padded[i]
				}
				want := []float32{sum(seq), sum(seq) + float32((L-len(seq))*padID), float32(i), float32(len(seq))}
				if got := r["logits"]; !reflect.DeepEqual(got.Data, want) || !reflect.DeepEqual(got.Shape, []int64{4}) {
					t.Fatalf("row %d: logits %v %v, want %v", i, got.Shape, got.Data, want)
				}
				if got := r["seq_len"].Data.([]float32)[0]; got != float32(L) {
					t.Fatalf("row %d padded to %v, want %d", i, got, L)
				}
			}
		})
	}
}

func r0(r Row) []int64 { return r.Seqs[0] }

func sortByLenDesc(order []int, rows []Row) {
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && rows[order[j]].Len() > rows[order[j-1]].Len(); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}

func TestRunRowsMultipleChoice(t *testing.T) {
	requireORT(t)
	s, err := Open(writeModel(t, "mc.onnx", onnxtest.MultipleChoice()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := []Row{
		{Seqs: [][]int64{{5}, {5, 6}, {7, 8, 9}, {1}}},
		{Seqs: [][]int64{{2, 2, 2, 2}, {3}, {4}, {5}}},
		{Seqs: [][]int64{{9}, {9}, {9}, {9, 9}}},
	}
	for _, padID := range []int64{0, 1} {
		res, err := s.RunRows(context.Background(), rows, BatchOptions{BatchSize: 2, MaxLen: 6, PadID: padID, MultiChoice: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(rows) {
			t.Fatalf("pad %d: %d results for %d rows", padID, len(res), len(rows))
		}
		for i, r := range res {
			var want []float32
			for _, seq := range rows[i].Seqs {
				want = append(want, sum(seq)+float32(int64(6-len(seq))*padID))
			}
			if got := r["logits"].Data; !reflect.DeepEqual(got, want) {
				t.Errorf("pad %d row %d: logits %v, want %v", padID, i, got, want)
			}
		}
	}
	_, err = s.RunRows(context.Background(), append(rows, Row{Seqs: [][]int64{{1}, {2}}}), BatchOptions{MaxLen: 6, MultiChoice: true})
	if err == nil || !strings.Contains(err.Error(), "row 3 has 2 choices") {
		t.Fatalf("ragged choices: %v", err)
	}
}

func TestRunRowsErrors(t *testing.T) {
	requireORT(t)
	s, err := Open(writeModel(t, "cls.onnx", onnxtest.Classifier("entity_pos")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := Row{Seqs: [][]int64{{4, 5}}, Positions: map[string]int64{"entity_pos": 1}}
	cases := []struct {
		name string
		rows []Row
		opt  BatchOptions
		want string
	}{
		{"no max len", []Row{ok}, BatchOptions{}, "MaxLen"},
		{"too long", []Row{ok, {Seqs: [][]int64{{1, 2, 3, 4}}}}, BatchOptions{MaxLen: 3}, "row 1 has 4 tokens"},
		{"missing position", []Row{ok, {Seqs: [][]int64{{1}}}}, BatchOptions{MaxLen: 3}, "entity_pos, which row 1"},
		{"two seqs", []Row{{Seqs: [][]int64{{1}, {2}}}}, BatchOptions{MaxLen: 3}, "only multiple-choice"},
		{"no seq", []Row{{}}, BatchOptions{MaxLen: 3}, "row 0 has no sequence"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.RunRows(context.Background(), c.rows, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestRunRowsCancellation(t *testing.T) {
	requireORT(t)
	s, err := Open(writeModel(t, "cls.onnx", onnxtest.Classifier("subj_pos", "obj_pos")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := randomRows(40, 8, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	_, err = s.RunRows(ctx, rows, BatchOptions{BatchSize: 4, MaxLen: 8, Progress: func(done, total int) {
		batches++
		if batches == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if batches != 2 {
		t.Fatalf("%d batches ran, want 2 (cancelled after the second)", batches)
	}
}
