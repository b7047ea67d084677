package features

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// benchTACRED returns n TACRED-style raw records whose words come from the
// shared books (realistic vocabulary), seeded.
func benchTACRED(b *testing.B, n int) [][]byte {
	b.Helper()
	dir := testshared.Path(b, "data", "books")
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	var words []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		words = append(words, strings.Fields(string(data))...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		l := 10 + rng.IntN(61)
		s := rng.IntN(len(words) - l)
		ss, os := rng.IntN(l-3), rng.IntN(l-3)
		rel := NoRelation
		if rng.IntN(5) == 0 {
			rel = TACREDRelations[rng.IntN(len(TACREDRelations))]
		}
		raw, _ := json.Marshal(map[string]any{"id": fmt.Sprint(i), "token": words[s : s+l], "subj_start": ss, "subj_end": ss + rng.IntN(3),
			"obj_start": os, "obj_end": os + rng.IntN(3), "relation": rel, "subj_type": "PERSON", "obj_type": "ORGANIZATION"})
		out[i] = raw
	}
	return out
}

// BenchmarkConvertTACRED measures decoding + building one TACRED example
// (max_seq_length 184) with the real RoBERTa vocabulary, on all CPUs
// (b.RunParallel); it reports examples/s.
func BenchmarkConvertTACRED(b *testing.B) {
	tok, err := LoadTokenizer(testshared.Path(b, "data", "roberta"))
	if err != nil {
		b.Fatal(err)
	}
	conv, err := NewConverter(tok, Config{Task: TaskTACRED, NegativeSample: -1})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchTACRED(b, 20000)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			res := conv.Convert(i, recs[i%len(recs)])
			if res.Err != nil {
				b.Error(res.Err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "examples/s")
}
