package train_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
)

// TestBadInput: each bad input stops the run with an error naming the
// file and the record, and writes no checkpoint.
func TestBadInput(t *testing.T) {
	edit := func(name string, f func(a *npy.Array)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, name+".npy")
			a, err := npy.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f(a)
			if err := npy.WriteFile(p, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		setup   string
		corrupt func(t *testing.T, dir string)
		want    []string
	}{
		{"label outside the head", "tacred", edit("labels", func(a *npy.Array) { a.Int64[5] = 42 }),
			[]string{"labels.npy", "example 5", "label 42", "42 classes"}},
		{"id beyond the embedding", "pretrain_fac", edit("input_ids", func(a *npy.Array) { a.Int64[3*a.Shape[1]+2] = 1000 }),
			[]string{"input_ids.npy", "example 3", "position 2", "token id 1000", "1000 rows"}},
		{"empty dataset", "openentity", func(t *testing.T, dir string) {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				p := filepath.Join(dir, e.Name())
				a, err := npy.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				a.Shape[0] = 0
				a.Int64, a.Float32 = a.Int64[:0], a.Float32[:0]
				npy.WriteFile(p, a)
			}
		}, []string{"no examples"}},
		{"missing input", "tacred", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "attention_mask.npy"))
		}, []string{"attention_mask"}},
		{"not one-hot", "tacred", edit("subj_special_start_id", func(a *npy.Array) { a.Float32[0] = 0.5 }),
			[]string{"subj_special_start_id.npy", "row 0 is not one-hot"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := traintest.FixtureOptions(t, c.setup, t.TempDir())
			c.corrupt(t, o.Data)
			_, err := train.Train(context.Background(), o, train.Observer{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(o.Out, "checkpoint-*")); len(m) > 0 {
				t.Errorf("a checkpoint was written: %v", m)
			}
		})
	}
}

// TestNaNLossStops: a learning rate that blows the weights up stops the
// run at the first non-finite loss, naming the update and the examples,
// and keeps the last good checkpoint.
func TestNaNLossStops(t *testing.T) {
	o := traintest.FixtureOptions(t, "pretrain_fac", t.TempDir())
	o.Loop = train.LoopStandard
	o.Hyper.LearningRate, o.Hyper.WarmupSteps, o.Hyper.MaxGradNorm = 1e38, 0, 0
	o.Hyper.Epochs = 3
	o.SaveSteps = 1
	_, err := train.Train(context.Background(), o, train.Observer{})
	var le *train.LossError
	if !errors.As(err, &le) {
		t.Fatalf("want a LossError, got %v", err)
	}
	if !strings.Contains(err.Error(), "update") || !strings.Contains(err.Error(), "examples") {
		t.Fatalf("error %q names no update or examples", err)
	}
	// The first update runs at the finite start weights; the loss goes NaN
	// after it, so the checkpoint of the update before the bad one exists.
	if le.Step < 2 {
		t.Fatalf("stopped at update %d: the start weights give a finite loss, so the NaN must come later", le.Step)
	}
	good := filepath.Join(o.Out, fmt.Sprintf("checkpoint-%d", le.Step-1), "trainer_state.json")
	if _, err := os.Stat(good); err != nil {
		t.Fatalf("stopped at update %d but the last good checkpoint is missing: %v", le.Step, err)
	}
	m, _ := filepath.Glob(filepath.Join(o.Out, "checkpoint-*"))
	t.Logf("%v; checkpoints kept: %v", err, m)
}
