// Command gentacred writes synthetic TACRED-format examples for the
// feature-building benchmark: a JSON array of {id, docid, token,
// subj_start, subj_end, subj_type, obj_start, obj_end, obj_type, relation}
// whose words are consecutive runs of real English text (so the tokenizer
// sees a realistic vocabulary, not a handful of cached words), TACRED-like
// lengths (10-70 words) and TACRED's share of no_relation (about 80%).
// Output depends only on the flags (seeded).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/kadapter/kadapter/builders/features"
)

func main() {
	n := flag.Int("n", 1000000, "number of examples")
	words := flag.String("words", "", "folder of .txt files (or one file) whose words are used")
	out := flag.String("out", "", "output JSON file")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *words == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gentacred -words DIR|FILE -out FILE [-n N] [-seed S]")
		os.Exit(2)
	}
	if err := run(*n, *words, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentacred:", err)
		os.Exit(1)
	}
}

// splitWords splits text into PTB-like tokens: whitespace-separated, with
// leading/trailing punctuation split off.
func splitWords(text string) []string {
	var out []string
	for _, f := range strings.Fields(text) {
		var tail []string
		for len(f) > 1 && unicode.IsPunct(rune(f[len(f)-1])) {
			tail = append([]string{f[len(f)-1:]}, tail...)
			f = f[:len(f)-1]
		}
		for len(f) > 1 && unicode.IsPunct(rune(f[0])) {
			out = append(out, f[:1])
			f = f[1:]
		}
		out = append(out, f)
		out = append(out, tail...)
	}
	return out
}

func run(n int, wordsPath, outPath string, seed uint64) error {
	files := []string{wordsPath}
	if fi, err := os.Stat(wordsPath); err != nil {
		return err
	} else if fi.IsDir() {
		files, _ = filepath.Glob(filepath.Join(wordsPath, "*.txt"))
	}
	var stream []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		stream = append(stream, splitWords(string(data))...)
	}
	if len(stream) < 100 {
		return fmt.Errorf("%s: too few words", wordsPath)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f, err := os.Create(outPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	w.WriteString("[\n")
	type rec struct {
		ID        string   `json:"id"`
		DocID     string   `json:"docid"`
		Relation  string   `json:"relation"`
		Token     []string `json:"token"`
		SubjStart int      `json:"subj_start"`
		SubjEnd   int      `json:"subj_end"`
		SubjType  string   `json:"subj_type"`
		ObjStart  int      `json:"obj_start"`
		ObjEnd    int      `json:"obj_end"`
		ObjType   string   `json:"obj_type"`
	}
	for i := 0; i < n; i++ {
		l := 10 + rng.IntN(61)
		start := rng.IntN(len(stream) - l)
		toks := stream[start : start+l]
		sl, ol := 1+rng.IntN(3), 1+rng.IntN(3)
		ss := rng.IntN(l - sl + 1)
		os_ := rng.IntN(l - ol + 1)
		relation := features.NoRelation
		if rng.Float64() >= 0.8 {
			relation = features.TACREDRelations[rng.IntN(len(features.TACREDRelations))]
		}
		r := rec{ID: fmt.Sprintf("syn%07d", i), DocID: fmt.Sprintf("doc%d", start), Relation: relation, Token: toks,
			SubjStart: ss, SubjEnd: ss + sl - 1, SubjType: "PERSON", ObjStart: os_, ObjEnd: os_ + ol - 1, ObjType: "ORGANIZATION"}
		if i > 0 {
			w.WriteString(",")
		}
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	w.WriteString("]\n")
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
