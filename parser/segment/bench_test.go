package segment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// BenchmarkSegmentBooks segments the shared books (bytes/s via SetBytes).
func BenchmarkSegmentBooks(b *testing.B) {
	dir := testshared.Path(b, "data", "books")
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	var texts []string
	var n int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, string(data))
		n += int64(len(data))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	seg := New(Options{})
	sents := 0
	for i := 0; i < b.N; i++ {
		sents = 0
		for _, t := range texts {
			sents += len(seg.Segment(t))
		}
	}
	b.ReportMetric(float64(sents)*float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}
