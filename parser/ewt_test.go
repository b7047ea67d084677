package parser

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/parser/conllu"
)

func cpuSeconds() float64 { return ProcessCPUSeconds() }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestEWT trains on UD English EWT train (dev for model selection) and
// checks the acceptance thresholds on EWT test with predicted tags.
func TestEWT(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a full model; skipped with -short")
	}
	dir := testshared.Path(t, "data", "ud")
	read := func(name string) []*conllu.Sentence {
		s, err := conllu.ReadFile(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	train, dev, test := read("en_ewt-ud-train.conllu"), read("en_ewt-ud-dev.conllu"), read("en_ewt-ud-test.conllu")
	opt := TrainOptions{Epochs: envInt("KADAPTER_PARSER_EPOCHS", 0), TaggerEpochs: envInt("KADAPTER_TAGGER_EPOCHS", 0),
		Jackknife: envInt("KADAPTER_JACKKNIFE", 0), Ensemble: envInt("KADAPTER_ENSEMBLE", 0), Seed: 1, Log: t.Logf, NonProj: os.Getenv("KADAPTER_NONPROJ")}
	cpu0 := cpuSeconds()
	m, err := Train(context.Background(), train, dev, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("training: %.0fs wall, %.0fs CPU (all goroutines)", m.Info.TrainSeconds, cpuSeconds()-cpu0)
	if p := os.Getenv("KADAPTER_PARSER_SAVE"); p != "" {
		if err := m.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	t0, c0 := time.Now(), cpuSeconds()
	sc := Evaluate(m, test, 1)
	t.Logf("EWT test: UAS %.2f LAS %.2f UPOS %.2f (%d tokens, %.0f tokens/s wall, %.0f tokens/CPU-second, single goroutine)",
		sc.UAS, sc.LAS, sc.UPOS, sc.Tokens, float64(sc.Tokens)/time.Since(t0).Seconds(), float64(sc.Tokens)/(cpuSeconds()-c0))
	if sc.UAS < 85.0 || sc.LAS < 82.0 {
		t.Errorf("EWT test UAS %.2f / LAS %.2f below the 85.0 / 82.0 acceptance thresholds", sc.UAS, sc.LAS)
	}
}
