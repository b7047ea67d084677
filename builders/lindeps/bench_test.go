package lindeps

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/internal/testshared"
)

// BenchmarkBooksNoParser measures everything of the dataset but the
// parser on the shared books: reading and segmenting the text, find_head
// features with the RoBERTa vocabulary, Arrow-ready rows and JSON records.
// Heads are a fixed chain (each word's governor is the previous word) so no
// model is needed and the original mapping drops only long sentences.
func BenchmarkBooksNoParser(b *testing.B) {
	dir := testshared.Path(b, "data", "books")
	tok, err := features.LoadTokenizer(testshared.Path(b, "data", "roberta"))
	if err != nil {
		b.Fatal(err)
	}
	fb, err := NewBuilder(tok, Options{})
	if err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	var data [][]byte
	var n int64
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		n += int64(len(d))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	sents := 0
	var buf []byte
	for i := 0; i < b.N; i++ {
		sents = 0
		for k, d := range data {
			rd := NewReader(bytes.NewReader(d), files[k], FormatText, nil)
			for {
				s, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				for w := range s.Words {
					s.Words[w].Head = w // the previous word; the first is the root
				}
				row := fb.Build(sents, s)
				_ = row
				buf = s.AppendJSON(buf[:0])
				sents++
			}
		}
	}
	b.ReportMetric(float64(sents)*float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}
