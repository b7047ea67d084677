package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

var (
	robertaOnce sync.Map // dir -> *Tokenizer
)

// loadShared loads a tokenizer from the shared material once per process.
func loadShared(tb testing.TB, elems ...string) *Tokenizer {
	tb.Helper()
	dir := testshared.Path(tb, elems...)
	if v, ok := robertaOnce.Load(dir); ok {
		return v.(*Tokenizer)
	}
	tok, err := Load(dir)
	if err != nil {
		tb.Fatalf("Load(%s): %v", dir, err)
	}
	robertaOnce.Store(dir, tok)
	return tok
}

type goldenLine struct {
	Kind          string   `json:"kind"`
	Text          string   `json:"text"`
	IDs           []int    `json:"ids"`
	Offsets       [][2]int `json:"offsets"`
	PrefixIDs     []int    `json:"prefix_ids"`
	PrefixOffsets [][2]int `json:"prefix_offsets"`
}

func readGolden(tb testing.TB) []goldenLine {
	tb.Helper()
	path := testshared.Path(tb, "fixtures", "tokenizer", "roberta-golden.jsonl")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []goldenLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var g goldenLine
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			tb.Fatalf("%s line %d: %v", path, n, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no lines", path)
	}
	return out
}

func diffEncoding(ids []int, offs [][2]int, wantIDs []int, wantOffs [][2]int) string {
	if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
		return fmt.Sprintf("ids\n got %v\nwant %v", ids, wantIDs)
	}
	if fmt.Sprint(offs) != fmt.Sprint(wantOffs) {
		return fmt.Sprintf("offsets\n got %v\nwant %v", offs, wantOffs)
	}
	return ""
}

// TestGolden checks every line of the Hugging Face golden file, with and
// without prefix space, for both ways of loading the real vocabulary.
func TestGolden(t *testing.T) {
	golden := readGolden(t)
	dir := testshared.Path(t, "data", "roberta")
	fromJSON := loadShared(t, "data", "roberta")
	fromFiles, err := LoadFiles(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]*Tokenizer{"tokenizer.json": fromJSON, "vocab+merges": fromFiles} {
		t.Run(name, func(t *testing.T) {
			bad, badPrefix, nPrefix := 0, 0, 0
			for i, g := range golden {
				e := tok.Encode(g.Text, nil)
				if d := diffEncoding(e.IDs, e.Offsets, g.IDs, g.Offsets); d != "" {
					if bad < 10 {
						t.Errorf("line %d (%s) %q: %s", i+1, g.Kind, g.Text, d)
					}
					bad++
				}
				if g.PrefixIDs == nil {
					continue
				}
				nPrefix++
				e = tok.Encode(g.Text, &Options{AddPrefixSpace: true})
				if d := diffEncoding(e.IDs, e.Offsets, g.PrefixIDs, g.PrefixOffsets); d != "" {
					if badPrefix < 10 {
						t.Errorf("line %d (%s) prefix %q: %s", i+1, g.Kind, g.Text, d)
					}
					badPrefix++
				}
			}
			if bad+badPrefix > 0 {
				t.Errorf("%d of %d lines differ, %d of %d prefix-space lines", bad, len(golden), badPrefix, nPrefix)
			}
			if nPrefix == 0 {
				t.Error("golden file has no prefix_ids")
			}
		})
	}
}
