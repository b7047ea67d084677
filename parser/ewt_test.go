package parser

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// LongTestsEnv is the environment variable that opts in to the long
// tests (the EWT training test, about 5 minutes of two cores): the
// project's test command, scripts/test, sets it to 1, so it runs there and
// in CI; a plain 'go test ./...' skips it and says how to run it.
const LongTestsEnv = "KADAPTER_LONG_TESTS"

// requireLongTests skips t unless the long tests were asked for:
// $KADAPTER_LONG_TESTS=1, or CI=true (CI runs every test, so a CI job
// that calls 'go test' directly still runs it). -short always skips.
func requireLongTests(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s; skipped with -short", what)
	}
	if os.Getenv(LongTestsEnv) != "1" && os.Getenv("CI") != "true" {
		t.Skipf("%s: a long test, run only when asked for: set %s=1 (scripts/test, the README's test command, does; so does CI=true)", what, LongTestsEnv)
	}
}

// TestLongTestGate checks that the EWT training test is opt-in (so a plain
// 'go test ./...' stays well inside Go's 10-minute default timeout), that
// CI=true runs it, and that the project's test command opts in.
func TestLongTestGate(t *testing.T) {
	for _, c := range []struct {
		long, ci string
		skip     bool
	}{{"", "", true}, {"0", "", true}, {"1", "", false}, {"", "true", false}} {
		t.Setenv(LongTestsEnv, c.long)
		t.Setenv("CI", c.ci)
		ran := false
		t.Run("gate", func(t *testing.T) {
			requireLongTests(t, "probe")
			ran = true
		})
		if ran == c.skip {
			t.Errorf("%s=%q CI=%q: ran %v, want skipped %v", LongTestsEnv, c.long, c.ci, ran, c.skip)
		}
	}
	script, err := os.ReadFile(filepath.Join("..", "scripts", "test"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "export "+LongTestsEnv+"=") {
		t.Errorf("scripts/test does not export %s: the EWT training test would not run in CI", LongTestsEnv)
	}
}

// TestEWT trains on UD English EWT train (dev for model selection) and
// checks the acceptance thresholds on EWT test with predicted tags. It is
// a long test (requireLongTests): about 5 minutes on 2 cores; it logs
// every training epoch with the time since the start (visible with -v).
func TestEWT(t *testing.T) {
	requireLongTests(t, "TestEWT trains the full tagger and parser on UD English EWT (about 5 minutes on 2 cores)")
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
		Jackknife: envInt("KADAPTER_JACKKNIFE", 0), Ensemble: envInt("KADAPTER_ENSEMBLE", 0), Seed: 1, Log: progressLog(t), NonProj: os.Getenv("KADAPTER_NONPROJ")}
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

// progressLog returns a TrainOptions.Log that prefixes each line with the
// time since the start, so a long run shows where it is.
func progressLog(t *testing.T) func(string, ...any) {
	start := time.Now()
	return func(format string, args ...any) {
		t.Logf("[%5.0fs] "+format, append([]any{time.Since(start).Seconds()}, args...)...)
	}
}
