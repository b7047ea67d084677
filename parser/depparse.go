package parser

import (
	"math/rand"
)

// depParser is a greedy arc-hybrid parser scored by an averaged perceptron.
type depParser struct {
	labels []string
	root   int                 // index of the "root" label
	vocab  map[string]struct{} // normalized words seen at least twice in training; others are <unk>
	cats   []uint8             // category of each tag class (verb, punct, other)
	w      *table
}

// suffixHashes returns the suffix-3 atoms of words.
func suffixHashes(words []string) []uint64 {
	out := make([]uint64, len(words))
	for i, w := range words {
		out[i] = strHash(5, suffix(normWord(w), 3))
	}
	return out
}

var unkWord = strHash(100, "<UNK>")

// wordHashes maps words to their feature atoms: the hash of the normalized
// word when it is in the vocabulary, the <unk> atom otherwise (so that rare
// training words teach the parser how to treat unknown ones).
func (p *depParser) wordHashes(words []string) []uint64 {
	return vocabHashes(p.vocab, words)
}

func vocabHashes(vocab map[string]struct{}, words []string) []uint64 {
	out := make([]uint64, len(words))
	for i, w := range words {
		n := normWord(w)
		if _, ok := vocab[n]; ok {
			out[i] = strHash(1, n)
		} else {
			out[i] = unkWord
		}
	}
	return out
}

func (p *depParser) nclass() int { return 1 + 2*len(p.labels) }

// parse returns the heads (1-based, 0 = root) and label ids of a sentence
// with word hashes wh and tag ids tags.
func (p *depParser) parse(wh, sh []uint64, tags []int) ([]int, []int) {
	n := len(wh)
	a := makeAtoms(wh, sh, tags, p.cats)
	s := newState(n)
	nl := len(p.labels)
	nc := p.nclass()
	scores := make([]float32, nc)
	mask := make([]bool, nc)
	buf := make([]uint64, 0, 160)
	for !s.terminal() {
		buf = parseFeatures(buf[:0], s, &a)
		clear(scores)
		p.w.score(buf, scores)
		s.legal(mask, nl, p.root)
		s.apply(argmaxLegal(scores, mask), nl)
	}
	heads := make([]int, n)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		heads[i], labels[i] = s.heads[i+1], s.labels[i+1]
	}
	return heads, labels
}

// parseData is one training sentence for the parser: gold heads and
// labels indexed 1..n (index 0 unused), tags as the tagger predicts them.
type parseData struct {
	wh     []uint64
	sh     []uint64
	tags   []int
	heads  []int
	labels []int
}

type parserTrainer struct {
	labels  []string
	root    int
	tt      *trainTable
	data    []parseData
	rng     *rand.Rand
	ord     []int
	explore float64 // probability of following a wrong prediction
	cats    []uint8
}

func newParserTrainer(labels []string, root int, cats []uint8, data []parseData, seed int64) *parserTrainer {
	ord := make([]int, len(data))
	for i := range ord {
		ord[i] = i
	}
	return &parserTrainer{labels: labels, root: root, cats: cats, tt: newTrainTable(1 + 2*len(labels)), data: data,
		rng: rand.New(rand.NewSource(seed)), ord: ord}
}

// epoch trains one pass with the dynamic oracle; it returns the fraction
// of transitions whose prediction had zero cost.
func (tr *parserTrainer) epoch() float64 {
	tr.rng.Shuffle(len(tr.ord), func(i, j int) { tr.ord[i], tr.ord[j] = tr.ord[j], tr.ord[i] })
	nl := len(tr.labels)
	nc := 1 + 2*nl
	scores := make([]float32, nc)
	mask := make([]bool, nc)
	cost := make([]int, nc)
	var buf []uint64
	right, total := 0, 0
	for _, si := range tr.ord {
		d := &tr.data[si]
		a := makeAtoms(d.wh, d.sh, d.tags, tr.cats)
		s := newState(len(d.wh))
		for !s.terminal() {
			buf = parseFeatures(buf[:0], s, &a)
			clear(scores)
			tr.tt.score(buf, scores, false)
			s.legal(mask, nl, tr.root)
			pred := argmaxLegal(scores, mask)
			cs, cl, cr := s.costs(d.heads)
			s0, s1 := s.at(0), s.at(1)
			minc := 1 << 30
			for c := 0; c < nc; c++ {
				if !mask[c] {
					continue
				}
				switch {
				case c == shiftClass:
					cost[c] = cs
				case c <= nl:
					cost[c] = cl
					if d.heads[s0] == s.b && d.labels[s0] != c-1 {
						cost[c]++
					}
				default:
					cost[c] = cr
					if d.heads[s0] == s1 && d.labels[s0] != c-1-nl {
						cost[c]++
					}
				}
				if cost[c] < minc {
					minc = cost[c]
				}
			}
			best := -1
			for c := 0; c < nc; c++ {
				if mask[c] && cost[c] == minc && (best < 0 || scores[c] > scores[best]) {
					best = c
				}
			}
			next := best
			if cost[pred] > minc {
				tr.tt.update(buf, best, 1)
				tr.tt.update(buf, pred, -1)
				if tr.explore > 0 && tr.rng.Float64() < tr.explore {
					next = pred
				}
			} else {
				right++
				next = pred
			}
			total++
			tr.tt.tick()
			s.apply(next, nl)
		}
	}
	return float64(right) / float64(max(total, 1))
}

func (tr *parserTrainer) model(vocab map[string]struct{}) *depParser {
	return &depParser{labels: tr.labels, root: tr.root, vocab: vocab, cats: tr.cats, w: tr.tt.compact(1e-4)}
}
