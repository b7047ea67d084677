package checkpoint

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchModel builds a RoBERTa-base-sized state dict (vocab 50265, hidden
// 768, 12 layers, intermediate 3072: 124.6 M parameters, 499 MB of float32)
// plus a fac-adapter chain of three adapters at the original's 768/3072
// sizes; KADAPTER_BENCH_SCALE=tiny makes a small one to check the benchmark
// itself quickly. Values come from a cheap xorshift generator.
func benchModel() []*Tensor {
	vocab, h, layers, inter, k := 50265, 768, 12, 3072, 3
	if os.Getenv("KADAPTER_BENCH_SCALE") == "tiny" {
		vocab, h, layers, inter, k = 1000, 64, 2, 128, 1
	}
	s := &synth{}
	s.roberta("roberta.", vocab, h, layers, inter)
	s.adapters("adapter.", k, h, h, 2, inter)
	x := uint32(2463534242)
	for _, t := range s.out {
		for i := range t.Data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			t.Data[i] = float32(int32(x)) / (1 << 31)
		}
	}
	return s.out
}

// heapPeak samples the live heap every millisecond while f runs and returns
// the largest value seen above the heap in use before f.
func heapPeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	close(done)
	wg.Wait()
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// BenchmarkLoad measures Open on a RoBERTa-base-sized checkpoint in each
// format: time per load, throughput (MB/s of file), and the peak live heap
// during the load (peak-MB; the loaded tensors themselves are ~515 MB).
//
//	go test ./export/checkpoint -run '^$' -bench Load -benchtime 3x
func BenchmarkLoad(b *testing.B) {
	model := benchModel()
	dir := b.TempDir()
	for _, format := range []Format{FormatTorchLegacy, FormatTorchZip, FormatSafetensors} {
		p := filepath.Join(dir, "model."+format.String())
		var err error
		if format == FormatSafetensors {
			err = WriteSafetensors(p, model, nil)
		} else {
			err = WriteTorch(p, format, model)
		}
		if err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(format.String(), func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			var peak uint64
			for i := 0; i < b.N; i++ {
				var c *Checkpoint
				pk := heapPeak(func() {
					c, err = Open(p)
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Keys) != len(model) {
					b.Fatalf("%d keys, want %d", len(c.Keys), len(model))
				}
				peak = max(peak, pk)
				c = nil
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
		})
		os.Remove(p)
	}
}
