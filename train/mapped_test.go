package train_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
)

// TestMappedInitializers: a graph whose frozen weights go through a mapped
// side file (as a RoBERTa-base pre-training step does) trains to the same
// bytes as the same graph passed through memory, and leaves no file
// behind in the scratch folder.
func TestMappedInitializers(t *testing.T) {
	run := func(threshold int64) map[string][]byte {
		defer train.SetMapThreshold(threshold)()
		o := traintest.FixtureOptions(t, "pretrain_fac", t.TempDir())
		o.Loop = train.LoopStandard
		o.Hyper.Epochs, o.Hyper.MaxSteps = 0, 2
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			t.Fatal(err)
		}
		res, err := train.Train(context.Background(), o, train.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(o.Out, ".kadapter-graph-*")); len(left) > 0 {
			t.Fatalf("scratch files left behind: %v", left)
		}
		return traintest.CheckpointFiles(t, res.Checkpoint)
	}
	mapped, inMemory := run(0), run(1<<62)
	if len(mapped) == 0 {
		t.Fatal("no checkpoint files")
	}
	for name, b := range inMemory {
		if !bytes.Equal(mapped[name], b) {
			t.Fatalf("%s differs between the mapped and the in-memory graph", name)
		}
	}
}
