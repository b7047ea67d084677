package tokenizer

// BPE over token ids. merges maps the pair (left id, right id) packed as
// left<<32|right to rank<<32|merged id. A word is merged by repeatedly
// applying the pair of lowest rank, the leftmost one among equal ranks —
// the order Hugging Face's BPE (a priority queue on (rank, position))
// applies merges in.

const noRank = ^uint32(0)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// heapThreshold is the word length (in bytes) from which the priority-queue
// merge is used instead of the quadratic scan, which is faster on short words.
const heapThreshold = 96

// bpe appends to dst the ids the word (raw bytes) is split into.
func (t *Tokenizer) bpe(dst []int32, word string) []int32 {
	n := len(word)
	if n == 1 {
		return append(dst, t.byteID[word[0]])
	}
	if n >= heapThreshold {
		return t.bpeHeap(dst, word)
	}
	var symBuf [heapThreshold]int32
	var rankBuf [heapThreshold]uint32
	var newBuf [heapThreshold]int32
	syms := symBuf[:n]
	ranks := rankBuf[:n-1]
	news := newBuf[:n-1]
	for i := 0; i < n; i++ {
		syms[i] = t.byteID[word[i]]
	}
	for i := 0; i < n-1; i++ {
		ranks[i], news[i] = t.lookup(syms[i], syms[i+1])
	}
	for len(syms) > 1 {
		best := -1
		bestRank := noRank
		for i, r := range ranks {
			if r < bestRank {
				bestRank, best = r, i
			}
		}
		if best < 0 {
			break
		}
		syms[best] = news[best]
		copy(syms[best+1:], syms[best+2:])
		syms = syms[:len(syms)-1]
		copy(ranks[best:], ranks[best+1:])
		ranks = ranks[:len(ranks)-1]
		copy(news[best:], news[best+1:])
		news = news[:len(news)-1]
		if best > 0 {
			ranks[best-1], news[best-1] = t.lookup(syms[best-1], syms[best])
		}
		if best < len(ranks) {
			ranks[best], news[best] = t.lookup(syms[best], syms[best+1])
		}
	}
	return append(dst, syms...)
}

func (t *Tokenizer) lookup(a, b int32) (uint32, int32) {
	if a < 0 || b < 0 {
		return noRank, -1
	}
	v, ok := t.merges[pairKey(a, b)]
	if !ok {
		return noRank, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// bpeHeap is the O(n log n) merge for long words: symbols in a linked list,
// candidate pairs in a binary heap ordered by (rank, position); entries made
// stale by an earlier merge are recognised and dropped, as in Hugging Face.
func (t *Tokenizer) bpeHeap(dst []int32, word string) []int32 {
	n := len(word)
	type sym struct {
		id         int32
		prev, next int32
		alive      bool
	}
	syms := make([]sym, n)
	for i := 0; i < n; i++ {
		syms[i] = sym{id: t.byteID[word[i]], prev: int32(i - 1), next: int32(i + 1), alive: true}
	}
	syms[n-1].next = -1
	h := mergeHeap(make([]mergeItem, 0, n))
	for i := 0; i < n-1; i++ {
		if r, nid := t.lookup(syms[i].id, syms[i+1].id); r != noRank {
			h = append(h, mergeItem{rank: r, pos: int32(i), newID: nid})
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		s := &syms[top.pos]
		if !s.alive || s.next < 0 {
			continue
		}
		right := &syms[s.next]
		if r, nid := t.lookup(s.id, right.id); r != top.rank || nid != top.newID {
			continue
		}
		s.id = top.newID
		right.alive = false
		s.next = right.next
		if s.next >= 0 {
			syms[s.next].prev = top.pos
		}
		if s.prev >= 0 {
			if r, nid := t.lookup(syms[s.prev].id, s.id); r != noRank {
				h.push(mergeItem{rank: r, pos: s.prev, newID: nid})
			}
		}
		if s.next >= 0 {
			if r, nid := t.lookup(s.id, syms[s.next].id); r != noRank {
				h.push(mergeItem{rank: r, pos: top.pos, newID: nid})
			}
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		dst = append(dst, syms[i].id)
	}
	return dst
}

type mergeItem struct {
	rank  uint32
	pos   int32
	newID int32
}

type mergeHeap []mergeItem

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h mergeHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) push(x mergeItem) {
	*h = append(*h, x)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	if last > 0 {
		(*h).down(0)
	}
	return top
}

func (h mergeHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
