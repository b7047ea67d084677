package trexrc

import (
	"context"
	"os"
	"testing"

	"github.com/kadapter/kadapter/pipeline"
)

// BenchmarkRun measures a whole build (both passes) on the T-REx files in
// $KADAPTER_TREX_BENCH_DIR (make them with bench/trex/gen).
func BenchmarkRun(b *testing.B) {
	dir := os.Getenv("KADAPTER_TREX_BENCH_DIR")
	if dir == "" {
		b.Skip("set KADAPTER_TREX_BENCH_DIR to a folder of T-REx files (see bench/trex)")
	}
	srcs, err := pipeline.ExpandSources([]string{dir}, pipeline.ExpandOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, s := range srcs {
		size += s.Size
	}
	b.SetBytes(size)
	out := b.TempDir()
	for i := 0; i < b.N; i++ {
		opts := DefaultOptions(out)
		if _, err := Run(context.Background(), srcs, &opts); err != nil {
			b.Fatal(err)
		}
	}
}
