package parser

import (
	"math/rand"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tagger is a greedy left-to-right averaged-perceptron part-of-speech
// tagger (Collins 2002 style, with word, affix, shape and context features
// and the two previous predicted tags), plus a tag dictionary for frequent
// unambiguous words.
type tagger struct {
	tags []string       // class names: "UPOS" or "UPOS|XPOS"
	upos []string       // UPOS of each class (derived from tags)
	dict map[string]int // frequent unambiguous forms -> tag
	w    *table
}

// tagger feature templates.
const (
	ttBias = iota + 1
	ttW
	ttRaw
	ttSuf1
	ttSuf2
	ttSuf3
	ttSuf4
	ttPre1
	ttPre2
	ttPre3
	ttShape
	ttWm1
	ttWm2
	ttWp1
	ttWp2
	ttSufm1
	ttSufp1
	ttShapem1
	ttShapep1
	ttP1
	ttP2
	ttP1P2
	ttP1W
	ttWm1W
	ttWWp1
	ttFlags
	ttP1Wp1
	ttSuf3Wp1
	ttFirstShape
	ttWm1Wp1
	ttP1Suf3
	ttP2W
	ttSufp2
	ttRawm1
	ttRawp1
	ttSuf5
	ttP1Shape
	ttWShapep1
	ttSuf2m1
	ttSuf2p1
)

// tokInfo holds the per-word hashes the tagger features use.
type tokInfo struct {
	w, raw, suf1, suf2, suf3, suf4, suf5, pre1, pre2, pre3, shape, flags uint64
}

var padInfo = [2]tokInfo{
	{w: strHash(90, "<s>"), raw: 1, suf3: strHash(91, "<s>"), shape: strHash(92, "<s>")},
	{w: strHash(90, "</s>"), raw: 2, suf3: strHash(91, "</s>"), shape: strHash(92, "</s>")},
}

func wordInfo(form string) tokInfo {
	n := normWord(form)
	var fl uint64
	r, _ := utf8.DecodeRuneInString(form)
	if unicode.IsUpper(r) {
		fl |= 1
	}
	if strings.ContainsRune(form, '-') {
		fl |= 2
	}
	if strings.ContainsAny(form, "0123456789") {
		fl |= 4
	}
	if form == strings.ToUpper(form) && form != strings.ToLower(form) {
		fl |= 8
	}
	if utf8.RuneCountInString(form) <= 3 {
		fl |= 16
	}
	return tokInfo{
		w: strHash(1, n), raw: strHash(2, form),
		suf1: strHash(3, suffix(n, 1)), suf2: strHash(4, suffix(n, 2)), suf3: strHash(5, suffix(n, 3)), suf4: strHash(6, suffix(n, 4)), suf5: strHash(11, suffix(n, 5)),
		pre1: strHash(7, prefix(n, 1)), pre2: strHash(8, prefix(n, 2)), pre3: strHash(9, prefix(n, 3)),
		shape: strHash(10, shape(form)), flags: fl,
	}
}

func infoAt(info []tokInfo, i int) *tokInfo {
	if i < 0 {
		return &padInfo[0]
	}
	if i >= len(info) {
		return &padInfo[1]
	}
	return &info[i]
}

// uposOf returns the UPOS part of each tag class ("NOUN|NN" -> "NOUN").
func uposOf(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i], _, _ = strings.Cut(t, "|")
	}
	return out
}

// tagFeatures appends the features of word i given the two previous tags
// (-1 at the sentence start; ids shifted so that -1 and -2 hash apart).
func tagFeatures(buf []uint64, info []tokInfo, i, p1, p2 int) []uint64 {
	x := &info[i]
	m1, m2, n1, n2 := infoAt(info, i-1), infoAt(info, i-2), infoAt(info, i+1), infoAt(info, i+2)
	t1, t2 := uint64(p1+2), uint64(p2+2)
	first := uint64(0)
	if i == 0 {
		first = 1
	}
	return append(buf,
		f1(ttBias, 0),
		f1(ttW, x.w), f1(ttRaw, x.raw),
		f1(ttSuf1, x.suf1), f1(ttSuf2, x.suf2), f1(ttSuf3, x.suf3), f1(ttSuf4, x.suf4),
		f1(ttPre1, x.pre1), f1(ttPre2, x.pre2), f1(ttPre3, x.pre3),
		f1(ttShape, x.shape),
		f1(ttWm1, m1.w), f1(ttWm2, m2.w), f1(ttWp1, n1.w), f1(ttWp2, n2.w),
		f1(ttSufm1, m1.suf3), f1(ttSufp1, n1.suf3),
		f1(ttShapem1, m1.shape), f1(ttShapep1, n1.shape),
		f1(ttP1, t1), f1(ttP2, t2), f2(ttP1P2, t1, t2), f2(ttP1W, t1, x.w),
		f2(ttWm1W, m1.w, x.w), f2(ttWWp1, x.w, n1.w),
		f2(ttFlags, x.flags, first),
		f2(ttP1Wp1, t1, n1.w),
		f2(ttSuf3Wp1, x.suf3, n1.w),
		f2(ttFirstShape, first, x.shape),
		f2(ttWm1Wp1, m1.w, n1.w),
		f2(ttP1Suf3, t1, x.suf3),
		f2(ttP2W, t2, x.w),
		f1(ttSufp2, n2.suf3),
		f1(ttRawm1, m1.raw), f1(ttRawp1, n1.raw),
		f1(ttSuf5, x.suf5),
		f2(ttP1Shape, t1, x.shape),
		f2(ttWShapep1, x.w, n1.shape),
		f1(ttSuf2m1, m1.suf2), f1(ttSuf2p1, n1.suf2),
	)
}

// tag predicts the tag ids of words.
func (tg *tagger) tag(words []string) []int {
	info := make([]tokInfo, len(words))
	for i, w := range words {
		info[i] = wordInfo(w)
	}
	out := make([]int, len(words))
	scores := make([]float32, len(tg.tags))
	var buf []uint64
	p1, p2 := -1, -2
	for i := range words {
		t, ok := tg.dict[words[i]]
		if !ok {
			buf = tagFeatures(buf[:0], info, i, p1, p2)
			clear(scores)
			tg.w.score(buf, scores)
			t = 0
			for c := 1; c < len(scores); c++ {
				if scores[c] > scores[t] {
					t = c
				}
			}
		}
		out[i] = t
		p2, p1 = p1, t
	}
	return out
}

// taggerData is one training sentence for the tagger.
type taggerData struct {
	words []string
	info  []tokInfo
	gold  []int
}

// buildTagDict picks the forms seen at least minCount times with one tag
// at least share of the time.
func buildTagDict(data []taggerData, ntags, minCount int, share float64) map[string]int {
	counts := map[string][]int{}
	for _, s := range data {
		for i, w := range s.words {
			c := counts[w]
			if c == nil {
				c = make([]int, ntags)
				counts[w] = c
			}
			c[s.gold[i]]++
		}
	}
	dict := map[string]int{}
	for w, c := range counts {
		tot, best := 0, 0
		for t, n := range c {
			tot += n
			if n > c[best] {
				best = t
			}
		}
		if tot >= minCount && float64(c[best]) >= share*float64(tot) {
			dict[w] = best
		}
	}
	return dict
}

// taggerTrainer trains a tagger epoch by epoch.
type taggerTrainer struct {
	tags []string
	dict map[string]int
	tt   *trainTable
	data []taggerData
	rng  *rand.Rand
	ord  []int
}

func newTaggerTrainer(tags []string, data []taggerData, seed int64) *taggerTrainer {
	for i := range data {
		if data[i].info == nil {
			data[i].info = make([]tokInfo, len(data[i].words))
			for j, w := range data[i].words {
				data[i].info[j] = wordInfo(w)
			}
		}
	}
	ord := make([]int, len(data))
	for i := range ord {
		ord[i] = i
	}
	return &taggerTrainer{
		tags: tags, dict: buildTagDict(data, len(tags), 20, 0.97),
		tt: newTrainTable(len(tags)), data: data, rng: rand.New(rand.NewSource(seed)), ord: ord,
	}
}

// epoch runs one pass over the shuffled training data and returns the
// training accuracy.
func (tr *taggerTrainer) epoch() float64 {
	tr.rng.Shuffle(len(tr.ord), func(i, j int) { tr.ord[i], tr.ord[j] = tr.ord[j], tr.ord[i] })
	scores := make([]float32, len(tr.tags))
	var buf []uint64
	right, total := 0, 0
	for _, si := range tr.ord {
		s := &tr.data[si]
		p1, p2 := -1, -2
		for i := range s.words {
			g := s.gold[i]
			t, ok := tr.dict[s.words[i]]
			if !ok {
				buf = tagFeatures(buf[:0], s.info, i, p1, p2)
				clear(scores)
				tr.tt.score(buf, scores, false)
				t = 0
				for c := 1; c < len(scores); c++ {
					if scores[c] > scores[t] {
						t = c
					}
				}
				if t != g {
					tr.tt.update(buf, g, 1)
					tr.tt.update(buf, t, -1)
				}
				tr.tt.tick()
			}
			if t == g {
				right++
			}
			total++
			p2, p1 = p1, t
		}
	}
	return float64(right) / float64(max(total, 1))
}

// model returns the tagger with the current averaged weights.
func (tr *taggerTrainer) model() *tagger {
	return &tagger{tags: tr.tags, upos: uposOf(tr.tags), dict: tr.dict, w: tr.tt.compact(1e-4)}
}
