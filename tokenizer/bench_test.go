package tokenizer

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// benchTexts returns the paragraphs of one shared book (English prose).
func benchTexts(b *testing.B) []string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(testshared.Path(b, "data", "books"), "pg1342.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var out, para []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			para = append(para, l)
		} else if len(para) > 0 {
			out = append(out, strings.Join(para, " "))
			para = para[:0]
		}
	}
	if len(out) > 2000 {
		out = out[:2000]
	}
	return out
}

// benchTokens runs fn over the texts b.N times and reports tokens/s.
func benchTokens(b *testing.B, texts []string, fn func(string) int) {
	n := 0
	for _, s := range texts { // warm the word cache, count tokens
		n += fn(s)
	}
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, s := range texts {
			fn(s)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncodeProse(b *testing.B) {
	tok := loadShared(b, "data", "roberta")
	benchTokens(b, benchTexts(b), func(s string) int { return tok.Encode(s, nil).Len() })
}

func BenchmarkAppendIDsProse(b *testing.B) {
	tok := loadShared(b, "data", "roberta")
	var buf []int
	benchTokens(b, benchTexts(b), func(s string) int { buf = tok.AppendIDs(buf[:0], s, false); return len(buf) })
}

func BenchmarkLegacyTokenizeProse(b *testing.B) {
	tok := loadShared(b, "data", "roberta")
	benchTokens(b, benchTexts(b), func(s string) int { return len(tok.LegacyTokenize(s)) })
}

// BenchmarkEncodeNoCache measures BPE itself: every word is merged afresh.
func BenchmarkEncodeNoCache(b *testing.B) {
	tok, err := Load(testshared.Path(b, "data", "roberta"))
	if err != nil {
		b.Fatal(err)
	}
	tok.cache = nil
	benchTokens(b, benchTexts(b), func(s string) int { return tok.Encode(s, nil).Len() })
}

func BenchmarkLoad(b *testing.B) {
	dir := testshared.Path(b, "data", "roberta")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
