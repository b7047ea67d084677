package parser

// Parser feature templates after Zhang & Nivre (2011), adapted to
// arc-hybrid: the stack top s0 and s1 are the two candidate heads/
// dependents and b0 the buffer front. Atoms: w = normalized word, p = tag,
// l = arc label, d = distance, v = valency, s = label set. s0l/s0r are the
// leftmost/rightmost children, s0l2/s0r2 the second ones.

// sentAtoms holds the per-word atoms of one sentence, indexed 0 (root),
// 1..n (words) and n+1 (no such position).
type sentAtoms struct {
	w   []uint64
	p   []uint64
	suf []uint64 // suffix-3 hash of the normalized word (also for <unk> words)
	// running counts of verbs and punctuation: cv[i] = verbs among words 1..i
	cv, cp []int32
}

// Tag categories for the "between" features.
const (
	catOther = iota
	catVerb
	catPunct
)

// tagCats maps tag classes to categories from their UPOS.
func tagCats(upos []string) []uint8 {
	out := make([]uint8, len(upos))
	for i, u := range upos {
		switch u {
		case "VERB", "AUX":
			out[i] = catVerb
		case "PUNCT":
			out[i] = catPunct
		}
	}
	return out
}

// between returns capped counts of verbs and punctuation strictly between
// positions i < j (0 when either is missing).
func (a *sentAtoms) between(i, j, nn int) uint64 {
	if i <= 0 || j <= 0 || i >= nn || j >= nn || j-i < 2 {
		return 0
	}
	v := a.cv[j-1] - a.cv[i]
	p := a.cp[j-1] - a.cp[i]
	return uint64(1 + min(v, 2) + 3*min(p, 2))
}

var (
	rootWord = strHash(100, "<ROOT>")
	noneWord = strHash(100, "<NONE>")
)

func makeAtoms(wh, sh []uint64, tags []int, cats []uint8) sentAtoms {
	n := len(wh)
	a := sentAtoms{w: make([]uint64, n+2), p: make([]uint64, n+2), suf: make([]uint64, n+2),
		cv: make([]int32, n+2), cp: make([]int32, n+2)}
	a.w[0], a.p[0] = rootWord, 1
	a.w[n+1], a.p[n+1] = noneWord, 2
	for i := 0; i < n; i++ {
		a.w[i+1] = wh[i]
		a.p[i+1] = uint64(tags[i] + 3)
		a.suf[i+1] = sh[i]
		a.cv[i+1], a.cp[i+1] = a.cv[i], a.cp[i]
		switch cats[tags[i]] {
		case catVerb:
			a.cv[i+1]++
		case catPunct:
			a.cp[i+1]++
		}
	}
	return a
}

func distBucket(d int) uint64 {
	switch {
	case d <= 0:
		return 0
	case d <= 4:
		return uint64(d)
	case d <= 7:
		return 5
	case d <= 11:
		return 6
	default:
		return 7
	}
}

func capv(v int) uint64 {
	if v > 6 {
		return 6
	}
	return uint64(v)
}

// parseFeatures appends the feature keys of state s.
func parseFeatures(buf []uint64, s *state, a *sentAtoms) []uint64 {
	nn := s.n + 1
	ix := func(i int) int {
		if i < 0 {
			return nn
		}
		return i
	}
	s0, s1, s2 := ix(s.at(0)), ix(s.at(1)), ix(s.at(2))
	b0, b1, b2 := ix(s.buf(0)), ix(s.buf(1)), ix(s.buf(2))
	s0l, s0r, s0l2, s0r2 := ix(s.l1[s0]), ix(s.r1[s0]), ix(s.l2[s0]), ix(s.r2[s0])
	s1l, s1r, s1r2 := ix(s.l1[s1]), ix(s.r1[s1]), ix(s.r2[s1])
	b0l, b0l2 := ix(s.l1[b0]), ix(s.l2[b0])
	W, P := a.w, a.p
	L := func(i int) uint64 { return uint64(s.labels[i] + 2) }

	s0w, s0p, s1w, s1p, s2w, s2p := W[s0], P[s0], W[s1], P[s1], W[s2], P[s2]
	b0w, b0p, b1w, b1p, b2w, b2p := W[b0], P[b0], W[b1], P[b1], W[b2], P[b2]
	var d, d1 uint64
	if s0 != nn && b0 != nn && s0 != 0 {
		d = distBucket(b0 - s0)
	}
	if s0 != nn && s1 != nn && s1 != 0 {
		d1 = distBucket(s0 - s1)
	} else if s1 == 0 {
		d1 = 8
	}
	s0vl, s0vr, s1vl, s1vr, b0vl := capv(s.vl[s0]), capv(s.vr[s0]), capv(s.vl[s1]), capv(s.vr[s1]), capv(s.vl[b0])

	t := uint64(0)
	next := func() uint64 { t++; return t }
	return append(buf,
		// unigrams
		f2(next(), s0w, s0p), f1(next(), s0w), f1(next(), s0p),
		f2(next(), s1w, s1p), f1(next(), s1w), f1(next(), s1p),
		f2(next(), s2w, s2p), f1(next(), s2p),
		f2(next(), b0w, b0p), f1(next(), b0w), f1(next(), b0p),
		f2(next(), b1w, b1p), f1(next(), b1w), f1(next(), b1p),
		f2(next(), b2w, b2p), f1(next(), b2w), f1(next(), b2p),
		// pairs s0-b0
		f4(next(), s0w, s0p, b0w, b0p), f3(next(), s0w, s0p, b0w), f3(next(), s0w, b0w, b0p),
		f3(next(), s0w, s0p, b0p), f3(next(), s0p, b0w, b0p), f2(next(), s0w, b0w), f2(next(), s0p, b0p),
		f2(next(), b0p, b1p),
		// pairs s1-s0
		f4(next(), s1w, s1p, s0w, s0p), f3(next(), s1w, s1p, s0w), f3(next(), s1w, s0w, s0p),
		f3(next(), s1w, s1p, s0p), f3(next(), s1p, s0w, s0p), f2(next(), s1w, s0w), f2(next(), s1p, s0p),
		// s1-b0
		f2(next(), s1p, b0p), f2(next(), s1w, b0w),
		// triples of tags
		f3(next(), b0p, b1p, b2p), f3(next(), s0p, b0p, b1p), f3(next(), s1p, s0p, b0p), f3(next(), s2p, s1p, s0p),
		f3(next(), s0p, P[s0l], b0p), f3(next(), s0p, P[s0r], b0p), f3(next(), s0p, b0p, P[b0l]),
		f3(next(), s1p, P[s1l], s0p), f3(next(), s1p, P[s1r], s0p), f3(next(), s1p, s0p, P[s0l]), f3(next(), s1p, s0p, P[s0r]),
		f4(next(), s1p, s0p, b0p, b1p), f3(next(), s1w, s0p, b0p), f3(next(), s1p, s0w, b0p), f3(next(), s1p, s0p, b0w),
		// distance
		f2(next(), s0w, d), f2(next(), s0p, d), f2(next(), b0w, d), f2(next(), b0p, d),
		f3(next(), s0w, b0w, d), f3(next(), s0p, b0p, d),
		f2(next(), s1w, d1), f2(next(), s1p, d1), f2(next(), s0w, d1), f2(next(), s0p, d1),
		f3(next(), s1w, s0w, d1), f3(next(), s1p, s0p, d1),
		// valency
		f2(next(), s0w, s0vr), f2(next(), s0p, s0vr), f2(next(), s0w, s0vl), f2(next(), s0p, s0vl),
		f2(next(), b0w, b0vl), f2(next(), b0p, b0vl),
		f2(next(), s1w, s1vr), f2(next(), s1p, s1vr), f2(next(), s1w, s1vl), f2(next(), s1p, s1vl),
		// children unigrams
		f1(next(), W[s0l]), f1(next(), P[s0l]), f1(next(), L(s0l)),
		f1(next(), W[s0r]), f1(next(), P[s0r]), f1(next(), L(s0r)),
		f1(next(), W[b0l]), f1(next(), P[b0l]), f1(next(), L(b0l)),
		f1(next(), W[s1l]), f1(next(), P[s1l]), f1(next(), L(s1l)),
		f1(next(), W[s1r]), f1(next(), P[s1r]), f1(next(), L(s1r)),
		// third order
		f1(next(), W[s0l2]), f1(next(), P[s0l2]), f1(next(), L(s0l2)),
		f1(next(), W[s0r2]), f1(next(), P[s0r2]), f1(next(), L(s0r2)),
		f1(next(), W[b0l2]), f1(next(), P[b0l2]), f1(next(), L(b0l2)),
		f3(next(), s0p, P[s0l], P[s0l2]), f3(next(), s0p, P[s0r], P[s0r2]), f3(next(), b0p, P[b0l], P[b0l2]),
		f3(next(), s1p, P[s1r], P[s1r2]),
		f3(next(), s0p, L(s0l), L(s0l2)), f3(next(), s0p, L(s0r), L(s0r2)), f3(next(), b0p, L(b0l), L(b0l2)),
		// label sets
		f2(next(), s0w, s.rs[s0]), f2(next(), s0p, s.rs[s0]), f2(next(), s0w, s.ls[s0]), f2(next(), s0p, s.ls[s0]),
		f2(next(), b0w, s.ls[b0]), f2(next(), b0p, s.ls[b0]),
		f2(next(), s1p, s.rs[s1]), f2(next(), s1p, s.ls[s1]),
		// children with heads
		f3(next(), s0w, P[s0l], L(s0l)), f3(next(), s0p, W[s0l], L(s0l)),
		f3(next(), s1p, W[s1r], L(s1r)), f3(next(), b0p, W[b0l], L(b0l)),
		f2(next(), s0w, b1w), f2(next(), s0p, b1w), f3(next(), s0p, b0p, b1w),
		f2(next(), b0w, b1w), f3(next(), b0w, b0p, b1p), f3(next(), b0p, b1w, b1p),
		// suffixes (the only lexical cue for <unk> words) and what lies between
		f2(next(), a.suf[s0], s0p), f2(next(), a.suf[b0], b0p), f2(next(), a.suf[s1], s1p),
		f3(next(), s0p, b0p, a.between(s0, b0, nn)), f3(next(), s1p, s0p, a.between(s1, s0, nn)),
		f3(next(), s0w, b0p, a.between(s0, b0, nn)), f3(next(), s1p, s0w, a.between(s1, s0, nn)),
	)
}
