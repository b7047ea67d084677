package parser

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/kadapter/kadapter/parser/conllu"
)

// TrainOptions configures Train.
type TrainOptions struct {
	Epochs       int     // parser epochs (default 15); the best on dev is kept
	TaggerEpochs int     // tagger epochs (default 10); the best on dev is kept
	Seed         int64   // shuffling and exploration seed
	Jackknife    int     // folds for the training tags (default 4; 1 = gold tags)
	Explore      float64 // probability of following a wrong prediction from epoch 2 (default 0.9; < 0: never)
	NonProj      string  // "lift" (default) or "skip": what to do with non-projective training trees
	VocabMin     int     // parser word features for words seen at least this often (default 2), <unk> otherwise
	Ensemble     int     // parsers trained in parallel with different seeds and mixed into one (default 2)
	UPOSOnly     bool    // tag UPOS only (default: tag UPOS|XPOS pairs, which gives the parser richer tags)
	Workers      int     // goroutines for tagger training and dev scoring (default GOMAXPROCS)
	Treebank     string  // name recorded in the model info
	// Log receives progress lines (nil: silent).
	Log func(format string, args ...any)
}

func (o *TrainOptions) defaults() {
	if o.Epochs <= 0 {
		o.Epochs = 15
	}
	if o.TaggerEpochs <= 0 {
		o.TaggerEpochs = 10
	}
	if o.Jackknife == 0 {
		o.Jackknife = 4
	}
	if o.Explore == 0 {
		o.Explore = 0.9
	}
	if o.Explore < 0 {
		o.Explore = 0
	}
	if o.Ensemble <= 0 {
		o.Ensemble = 2
	}
	if o.VocabMin <= 0 {
		o.VocabMin = 2
	}
	if o.NonProj == "" {
		o.NonProj = "lift"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

// validTree reports whether the heads of s form one tree over its words
// with exactly one root.
func validTree(s *conllu.Sentence) error {
	n := len(s.Words)
	roots := 0
	for i := range s.Words {
		h := s.Words[i].Head
		if h == conllu.NoHead || s.Words[i].Deprel == "_" {
			return fmt.Errorf("word %d has no HEAD or DEPREL", i+1)
		}
		if h == 0 {
			roots++
		}
		// walk up: must reach 0 within n steps
		k, steps := i+1, 0
		for k != 0 && steps <= n {
			k = s.Words[k-1].Head
			steps++
		}
		if k != 0 {
			return fmt.Errorf("word %d is on a cycle", i+1)
		}
	}
	if roots != 1 {
		return fmt.Errorf("%d root words, want 1", roots)
	}
	if s.Words[0].UPOS == "_" {
		return errors.New("no UPOS")
	}
	return nil
}

// Train trains a tagger and a parser on train, selecting the epochs that
// score best on dev. Sentences that are not single-rooted trees with tags
// are skipped (counted in the log). Same data + options = same model.
func Train(ctx context.Context, train, dev []*conllu.Sentence, opt TrainOptions) (*Model, error) {
	opt.defaults()
	// The weight tables hold no pointers, so garbage collection is cheap;
	// collecting more often keeps the peak memory near the live size
	// (about half of what the default GOGC=100 lets the heap grow to).
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	start := time.Now()
	var tr, dv []*conllu.Sentence
	bad := 0
	for _, s := range train {
		if validTree(s) == nil {
			tr = append(tr, s)
		} else {
			bad++
		}
	}
	for _, s := range dev {
		if validTree(s) == nil {
			dv = append(dv, s)
		}
	}
	if len(tr) == 0 {
		return nil, errors.New("no usable training sentences (need UPOS, HEAD and DEPREL)")
	}
	if len(dv) == 0 {
		return nil, errors.New("no usable dev sentences (need UPOS, HEAD and DEPREL)")
	}
	if bad > 0 {
		opt.Log("skipped %d training sentences that are not single-rooted trees", bad)
	}
	// tag and label sets
	tagIdx, labIdx := map[string]int{}, map[string]int{}
	tokens := 0
	tagOf := func(w *conllu.Word) string {
		if opt.UPOSOnly || w.XPOS == "_" {
			return w.UPOS
		}
		return w.UPOS + "|" + w.XPOS
	}
	for _, s := range tr {
		for i := range s.Words {
			w := &s.Words[i]
			tagIdx[tagOf(w)] = 0
			labIdx[w.Deprel] = 0
			tokens++
		}
	}
	tags, labels := index(tagIdx), index(labIdx)
	cats := tagCats(uposOf(tags))
	root, ok := labIdx["root"]
	if !ok {
		return nil, errors.New("training data has no \"root\" relation")
	}
	taggerSet := func(ss []*conllu.Sentence) []taggerData {
		out := make([]taggerData, len(ss))
		for i, s := range ss {
			out[i].words = s.Forms()
			out[i].gold = make([]int, len(s.Words))
			for j := range s.Words {
				t, ok := tagIdx[tagOf(&s.Words[j])]
				if !ok {
					t = -1
				}
				out[i].gold[j] = t
			}
		}
		return out
	}
	trT, dvT := taggerSet(tr), taggerSet(dv)
	opt.Log("training on %d sentences (%d tokens), %d tags, %d relations, dev %d sentences", len(tr), tokens, len(tags), len(labels), len(dv))

	// Tagger: the main one (selected on dev) and the jackknife folds, in
	// parallel.
	k := opt.Jackknife
	var (
		mainTagger *tagger
		mainEpoch  int
		mainAcc    float64
		foldTags   = make([][]int, len(tr))
		mu         sync.Mutex
	)
	jobs := []int{-1}
	if k > 1 {
		for f := 0; f < k; f++ {
			jobs = append(jobs, f)
		}
	}
	sem := make(chan struct{}, opt.Workers)
	var wg sync.WaitGroup
	for _, fold := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(fold int) {
			defer wg.Done()
			defer func() { <-sem }()
			if fold < 0 {
				tt := newTaggerTrainer(tags, cloneTD(trT), opt.Seed)
				var best *tagger
				bestAcc, bestEp := -1.0, 0
				for ep := 1; ep <= opt.TaggerEpochs; ep++ {
					if ctx.Err() != nil {
						return
					}
					trainAcc := tt.epoch()
					tt.tt.tidy()
					m := tt.model()
					acc := uposAccuracy(m, dv)
					opt.Log("tagger epoch %d/%d: train %.2f%% dev UPOS %.2f%%", ep, opt.TaggerEpochs, 100*trainAcc, 100*acc)
					if acc > bestAcc {
						best, bestAcc, bestEp = m, acc, ep
					}
				}
				mu.Lock()
				mainTagger, mainEpoch, mainAcc = best, bestEp, bestAcc
				mu.Unlock()
				return
			}
			var part []taggerData
			var held []int
			for i := range trT {
				if i%k == fold {
					held = append(held, i)
				} else {
					part = append(part, trT[i])
				}
			}
			tt := newTaggerTrainer(tags, cloneTD(part), opt.Seed+int64(fold)+1)
			for ep := 1; ep <= opt.TaggerEpochs; ep++ {
				if ctx.Err() != nil {
					return
				}
				tt.epoch()
			}
			m := tt.model()
			for _, i := range held {
				foldTags[i] = m.tag(trT[i].words)
			}
			opt.Log("tagger fold %d/%d done", fold+1, k)
		}(fold)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opt.Log("tagger: best dev UPOS %.2f%% at epoch %d (%.0fs)", 100*mainAcc, mainEpoch, time.Since(start).Seconds())
	{
		full := mainTagger.w
		for _, tau := range []float32{0.5, 1, 2} {
			tg := &tagger{tags: mainTagger.tags, upos: mainTagger.upos, dict: mainTagger.dict, w: full.prune(tau)}
			acc := uposAccuracy(tg, dv)
			opt.Log("tagger pruning at %.1f: %d of %d features, dev UPOS %.2f%%", tau, len(tg.w.keys), len(full.keys), 100*acc)
			if acc < mainAcc-0.0005 {
				break
			}
			mainTagger = tg
		}
	}

	// Parser data.
	counts := map[string]int{}
	for i := range trT {
		for _, w := range trT[i].words {
			counts[normWord(w)]++
		}
	}
	vocab := map[string]struct{}{}
	for w, c := range counts {
		if c >= opt.VocabMin {
			vocab[w] = struct{}{}
		}
	}
	wordHashes := func(words []string) []uint64 { return vocabHashes(vocab, words) }
	nonproj := 0
	var pd []parseData
	for i, s := range tr {
		n := len(s.Words)
		heads := make([]int, n+1)
		labs := make([]int, n+1)
		for j, w := range s.Words {
			heads[j+1] = w.Head
			labs[j+1] = labIdx[w.Deprel]
		}
		if !IsProjective(heads) {
			nonproj++
			if opt.NonProj == "skip" {
				continue
			}
			heads = Projectivize(heads)
		}
		t := trT[i].gold
		if k > 1 {
			t = foldTags[i]
		}
		pd = append(pd, parseData{wh: wordHashes(trT[i].words), sh: suffixHashes(trT[i].words), tags: t, heads: heads, labels: labs})
	}
	opt.Log("%d non-projective training trees (%s)", nonproj, opt.NonProj)
	// dev with predicted tags
	dvTags := make([][]int, len(dv))
	dvWH := make([][]uint64, len(dv))
	for i := range dv {
		dvTags[i] = mainTagger.tag(dvT[i].words)
		dvWH[i] = wordHashes(dvT[i].words)
	}
	// The parser: opt.Ensemble trainers with different seeds train in
	// parallel; each epoch their averaged weights are mixed (mean) into one
	// model, which is scored on dev.
	trainers := make([]*parserTrainer, opt.Ensemble)
	for i := range trainers {
		trainers[i] = newParserTrainer(labels, root, cats, pd, opt.Seed+int64(1000*i))
	}
	var bestP *depParser
	bestLAS, bestUAS, bestEp := -1.0, 0.0, 0
	for ep := 1; ep <= opt.Epochs; ep++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		zc := make([]float64, len(trainers))
		models := make([]*depParser, len(trainers))
		var wg sync.WaitGroup
		for i, ptr := range trainers {
			wg.Add(1)
			go func(i int, ptr *parserTrainer) {
				defer wg.Done()
				if ep > 1 {
					ptr.explore = opt.Explore
				}
				zc[i] = ptr.epoch()
				ptr.tt.tidy()
				models[i] = ptr.model(vocab)
			}(i, ptr)
		}
		wg.Wait()
		p := models[0]
		if len(models) > 1 {
			ts := make([]*table, len(models))
			for i, m := range models {
				ts[i] = m.w
			}
			p = &depParser{labels: labels, root: root, vocab: vocab, cats: cats, w: mergeTables(ts)}
		}
		uas, las := parseAccuracy(p, dv, dvWH, dvTags, opt.Workers)
		opt.Log("parser epoch %d/%d: oracle agreement %.2f%%, dev UAS %.2f LAS %.2f (%.1fs, %d features)", ep, opt.Epochs, 100*zc[0], uas, las, time.Since(t0).Seconds(), len(p.w.keys))
		if las > bestLAS {
			bestP, bestLAS, bestUAS, bestEp = p, las, uas, ep
		}
	}
	// Prune features with small weights (smaller model, faster lookups):
	// the largest threshold that costs at most 0.1 LAS on dev.
	bestTau := float32(0)
	full := bestP.w
	pruned, prunedLAS := bestP, bestLAS
	for _, tau := range []float32{0.5, 1, 1.5, 2, 3} {
		p := &depParser{labels: labels, root: root, vocab: vocab, cats: cats, w: full.prune(tau)}
		uas, las := parseAccuracy(p, dv, dvWH, dvTags, opt.Workers)
		opt.Log("parser pruning at %.1f: %d of %d features, dev UAS %.2f LAS %.2f", tau, len(p.w.keys), len(full.keys), uas, las)
		if las < bestLAS-0.1 {
			break
		}
		pruned, bestTau, bestUAS, prunedLAS = p, tau, uas, las
	}
	bestP, bestLAS = pruned, prunedLAS
	opt.Log("parser: pruning threshold %.1f: %d features, dev UAS %.2f LAS %.2f", bestTau, len(bestP.w.keys), bestUAS, bestLAS)
	m := &Model{tagger: mainTagger, parser: bestP}
	m.Info = Info{Treebank: opt.Treebank, Sentences: len(tr), Tokens: tokens, TaggerEpoch: mainEpoch, ParserEpoch: bestEp,
		DevUPOS: 100 * mainAcc, DevUAS: bestUAS, DevLAS: bestLAS, Seed: opt.Seed, Jackknife: k, Ensemble: opt.Ensemble, NonProjMode: opt.NonProj,
		TrainSeconds: time.Since(start).Seconds()}
	opt.Log("parser: best dev LAS %.2f (UAS %.2f) at epoch %d; trained in %.0fs", bestLAS, bestUAS, bestEp, m.Info.TrainSeconds)
	return m, nil
}

func index(set map[string]int) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	for i, k := range out {
		set[k] = i
	}
	return out
}

func cloneTD(in []taggerData) []taggerData { return append([]taggerData(nil), in...) }

// uposAccuracy is the UPOS accuracy of t on gold sentences.
func uposAccuracy(t *tagger, gold []*conllu.Sentence) float64 {
	right, total := 0, 0
	for _, s := range gold {
		p := t.tag(s.Forms())
		for i, w := range s.Words {
			if t.upos[p[i]] == w.UPOS {
				right++
			}
			total++
		}
	}
	return float64(right) / float64(max(total, 1))
}

// parseAccuracy parses dev with the given tags; UAS/LAS in percent, LAS on
// universal relations (subtypes ignored) as in the CoNLL 2018 evaluation.
func parseAccuracy(p *depParser, dv []*conllu.Sentence, wh [][]uint64, tags [][]int, workers int) (float64, float64) {
	ua := make([]int, len(dv))
	la := make([]int, len(dv))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(dv); i += workers {
				heads, labs := p.parse(wh[i], suffixHashes(dv[i].Forms()), tags[i])
				for j, word := range dv[i].Words {
					if heads[j] == word.Head {
						ua[i]++
						if universal(p.labels[labs[j]]) == universal(word.Deprel) {
							la[i]++
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	u, l, n := 0, 0, 0
	for i := range dv {
		u += ua[i]
		l += la[i]
		n += len(dv[i].Words)
	}
	return 100 * float64(u) / float64(n), 100 * float64(l) / float64(n)
}
