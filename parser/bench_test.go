package parser

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/parser/conllu"
)

// BenchmarkParse measures tagging + parsing speed on one goroutine. With
// KADAPTER_PARSER_MODEL set it uses that model on the EWT test sentences
// (bench/parser/run.sh does this); otherwise a toy model on toy sentences.
func BenchmarkParse(b *testing.B) {
	var m *Model
	var sents []*conllu.Sentence
	if p := os.Getenv("KADAPTER_PARSER_MODEL"); p != "" {
		var err error
		if m, err = Load(p); err != nil {
			b.Fatal(err)
		}
		if sents, err = conllu.ReadFile(filepath.Join(testshared.Path(b, "data", "ud"), "en_ewt-ud-test.conllu")); err != nil {
			b.Fatal(err)
		}
	} else {
		m, _ = trainToy(b)
		sents = toyTreebank(rand.New(rand.NewSource(9)), 500)
	}
	words := make([][]string, len(sents))
	tokens := 0
	for i, s := range sents {
		words[i] = s.Forms()
		tokens += len(words[i])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, w := range words {
			m.Parse(w)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkLoad measures loading the model file (KADAPTER_PARSER_MODEL).
func BenchmarkLoad(b *testing.B) {
	p := os.Getenv("KADAPTER_PARSER_MODEL")
	if p == "" {
		b.Skip("set KADAPTER_PARSER_MODEL to a trained model")
	}
	for i := 0; i < b.N; i++ {
		if _, err := Load(p); err != nil {
			b.Fatal(err)
		}
	}
}
