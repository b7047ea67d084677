package parser

import (
	"strings"
	"sync"

	"github.com/kadapter/kadapter/parser/conllu"
)

// universal returns the universal part of a relation ("nmod:poss" -> "nmod").
func universal(rel string) string {
	if i := strings.IndexByte(rel, ':'); i >= 0 {
		return rel[:i]
	}
	return rel
}

// Scores are the CoNLL 2018 style scores of a model on gold-tokenized
// sentences, in percent (punctuation included; LAS compares universal
// relations, i.e. the part before ':').
type Scores struct {
	UAS    float64 `json:"uas"`
	LAS    float64 `json:"las"`
	UPOS   float64 `json:"upos"`
	Tokens int     `json:"tokens"`
}

// Evaluate tags and parses gold sentences with workers goroutines and
// scores the predictions against them.
func Evaluate(m *Model, gold []*conllu.Sentence, workers int) Scores {
	if workers < 1 {
		workers = 1
	}
	type res struct{ u, l, p, n int }
	out := make([]res, len(gold))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(gold); i += workers {
				out[i] = scoreSentence(m, gold[i])
			}
		}(w)
	}
	wg.Wait()
	var r res
	for _, x := range out {
		r.u += x.u
		r.l += x.l
		r.p += x.p
		r.n += x.n
	}
	d := float64(max(r.n, 1))
	return Scores{UAS: 100 * float64(r.u) / d, LAS: 100 * float64(r.l) / d, UPOS: 100 * float64(r.p) / d, Tokens: r.n}
}

func scoreSentence(m *Model, s *conllu.Sentence) (r struct{ u, l, p, n int }) {
	upos, heads, rels := m.Parse(s.Forms())
	for j, w := range s.Words {
		r.n++
		if upos[j] == w.UPOS {
			r.p++
		}
		if heads[j] == w.Head {
			r.u++
			if universal(rels[j]) == universal(w.Deprel) {
				r.l++
			}
		}
	}
	return r
}
