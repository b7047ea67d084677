package train

import (
	"math"
	"math/rand/v2"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kadapter/kadapter/runtime"
)

// TestInPlaceAdamW runs the engine's optimizer (flat state, chunked AdamW
// graph whose outputs are bound to its inputs' buffers) on parameters
// that span several chunks and both weight-decay rules, with a clip
// factor, and compares every value with AdamW written out in Go, one
// float32 operation at a time in the graph's order: the in-place runs
// must give the same bits as an out-of-place computation.
func TestInPlaceAdamW(t *testing.T) {
	if err := runtime.Init(); err != nil {
		t.Fatal(err)
	}
	const beta1, beta2, eps, wd = 0.9, 0.999, 1e-8, 0.01
	for _, threads := range []int{1, 2} {
		rng := rand.New(rand.NewPCG(7, uint64(threads)))
		params := []*Param{
			{Key: "a.weight", Dims: []int64{3, chunkElems/2 + 5}, Decay: true, Group: "g"}, // 1.5 chunks
			{Key: "a.bias", Dims: []int64{17}, Decay: false, Group: "g"},
			{Key: "b.weight", Dims: []int64{33, 7}, Decay: true, Group: "h"},
			{Key: "b.LayerNorm.weight", Dims: []int64{7}, Decay: false, Group: "h"},
		}
		for _, p := range params {
			p.Initial = make([]float32, p.NumElements())
			for i := range p.Initial {
				p.Initial[i] = float32(rng.NormFloat64())
			}
		}
		want := map[string][3][]float32{} // p, m, v
		for _, p := range params {
			want[p.Key] = [3][]float32{append([]float32(nil), p.Initial...), make([]float32, len(p.Initial)), make([]float32, len(p.Initial))}
		}
		e := &Engine{beta1: beta1, beta2: beta2, wd: wd}
		e.params = flatOrder(params, []string{"h", "g"})
		if err := e.allocate(); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if len(e.chunks) < 4 {
			t.Fatalf("%d chunks: the test needs a parameter over several chunks and segments of both rules", len(e.chunks))
		}
		var err error
		if e.opt, err = openAdamW(beta1, beta2, eps, runtime.Options{IntraOpThreads: threads}, ""); err != nil {
			t.Fatal(err)
		}
		clip, _ := newTensor([]int64{1}, []float32{0.75})
		e.coef = map[string]*ort.Tensor[float32]{"g": clip}
		for step := 1; step <= 3; step++ {
			lr := 1e-3 * float64(step)
			for i, p := range e.params {
				g := e.slice(stateGrad, i)
				for j := range g {
					g[j] = float32(rng.NormFloat64())
				}
				c := float32(1)
				if p.Group == "g" {
					c = 0.75
				}
				ss, ld := adamScalars(lr, beta1, beta2, wd, step)
				if !p.Decay {
					ld = 0
				}
				w := want[p.Key]
				for j, gj := range g {
					gc := gj * c
					m := float32(float32(w[1][j]*float32(beta1)) + float32(gc*float32(1-beta1)))
					v := float32(float32(w[2][j]*float32(beta2)) + float32(float32(gc*gc)*float32(1-beta2)))
					den := float32(float32(math.Sqrt(float64(v))) + float32(eps))
					w2 := float32(w[0][j] - float32(float32(m/den)*ss))
					w[0][j], w[1][j], w[2][j] = float32(w2-float32(w2*ld)), m, v
				}
			}
			if _, err := e.Update(lr); err != nil {
				t.Fatal(err)
			}
			for i, p := range e.params {
				m, v := e.Moments(i)
				for k, got := range [][]float32{e.Value(i), m, v} {
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(want[p.Key][k][j]) {
							t.Fatalf("%d threads, update %d, %s state %d [%d]: got %v, want %v", threads, step, p.Key, k, j, got[j], want[p.Key][k][j])
						}
					}
				}
			}
		}
	}
}
