package trex

import (
	"io"
	"os"
	"testing"

	"github.com/kadapter/kadapter/pipeline"
)

// BenchmarkCleanFile measures splitting + decoding + cleaning of the file
// named by $KADAPTER_TREX_BENCH_FILE (make one with bench/trex/gen), or
// of the shared sample when unset.
func BenchmarkCleanFile(b *testing.B) {
	path := os.Getenv("KADAPTER_TREX_BENCH_FILE")
	if path == "" {
		b.Skip("set KADAPTER_TREX_BENCH_FILE to a T-REx file (see bench/trex)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	c := NewCleaner()
	var toks int
	for i := 0; i < b.N; i++ {
		a := pipeline.NewArrayReader(bytesReader(data), path, pipeline.ArrayOptions{})
		for {
			raw, err := a.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			c.Clean(raw, func(ex *Example) error { toks += len(ex.Tokens); return nil })
		}
	}
}

// BenchmarkSplitOnly measures the JSON array splitter alone.
func BenchmarkSplitOnly(b *testing.B) {
	path := os.Getenv("KADAPTER_TREX_BENCH_FILE")
	if path == "" {
		b.Skip("set KADAPTER_TREX_BENCH_FILE")
	}
	data, _ := os.ReadFile(path)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		a := pipeline.NewArrayReader(bytesReader(data), path, pipeline.ArrayOptions{})
		for {
			if _, err := a.Next(); err != nil {
				break
			}
		}
	}
}

type sliceReader struct {
	b []byte
	i int
}

func bytesReader(b []byte) *sliceReader { return &sliceReader{b: b} }

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}
