package parser

import (
	"math/rand"
	"reflect"
	"testing"
)

// clone copies a state for exhaustive search.
func (s *state) clone() *state {
	c := newState(s.n)
	c.stack = append(c.stack[:0], s.stack...)
	c.b = s.b
	copy(c.heads, s.heads)
	copy(c.labels, s.labels)
	copy(c.l1, s.l1)
	copy(c.l2, s.l2)
	copy(c.r1, s.r1)
	copy(c.r2, s.r2)
	copy(c.vl, s.vl)
	copy(c.vr, s.vr)
	copy(c.ls, s.ls)
	copy(c.rs, s.rs)
	copy(c.on, s.on)
	return c
}

// minLoss is the fewest wrong heads of any complete parse reachable from s.
func minLoss(s *state, gh []int) int {
	if s.terminal() {
		loss := 0
		for d := 1; d <= s.n; d++ {
			if s.heads[d] != gh[d] {
				loss++
			}
		}
		return loss
	}
	best := 1 << 30
	for _, c := range s.moves() {
		t := s.clone()
		t.apply(c, 1)
		if l := minLoss(t, gh); l < best {
			best = l
		}
	}
	return best
}

// moves lists the legal unlabeled moves with one label (class ids for nl=1).
func (s *state) moves() []int {
	var out []int
	if s.canShift() {
		out = append(out, 0)
	}
	if s.canLeft() {
		out = append(out, 1)
	}
	if s.canRight() {
		out = append(out, 2)
	}
	return out
}

// randomProjective draws a random projective tree over n words with one
// root word.
func randomProjective(rng *rand.Rand, n int) []int {
	for {
		h := make([]int, n+1)
		root := 1 + rng.Intn(n)
		h[root] = 0
		var build func(head, lo, hi int) // attach words lo..hi (excluding head) under head projectively
		build = func(head, lo, hi int) {
			if lo > hi {
				return
			}
			// pick a child in [lo,hi], attach it, recurse on both sides
			c := lo + rng.Intn(hi-lo+1)
			h[c] = head
			build(c, lo, c-1)
			build(c, c+1, hi)
		}
		build(root, 1, root-1)
		build(root, root+1, n)
		if IsProjective(h) {
			return h
		}
	}
}

func TestDynamicOracleExact(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	checked := 0
	for iter := 0; iter < 300; iter++ {
		n := 1 + rng.Intn(6)
		gh := randomProjective(rng, n)
		s := newState(n)
		for !s.terminal() {
			base := minLoss(s, gh)
			cs, cl, cr := s.costs(gh)
			for _, c := range s.moves() {
				want := []int{cs, cl, cr}[c]
				t2 := s.clone()
				t2.apply(c, 1)
				if got := minLoss(t2, gh) - base; got != want {
					t.Fatalf("gold %v stack %v b %d heads %v: move %d cost %d, exhaustive %d", gh, s.stack, s.b, s.heads, c, want, got)
				}
				checked++
			}
			mv := s.moves()
			s.apply(mv[rng.Intn(len(mv))], 1)
		}
	}
	t.Logf("checked %d transition costs", checked)
}

// TestStaticOracleReproducesTree follows zero-cost labeled transitions and
// must rebuild the gold tree with its labels.
func TestStaticOracleReproducesTree(t *testing.T) {
	for _, tc := range []struct {
		heads, labels []int // 1-based, index 0 unused
	}{
		{[]int{0, 0}, []int{0, 0}},
		{[]int{0, 2, 0, 2}, []int{0, 1, 0, 2}},
		{[]int{0, 4, 4, 4, 0, 4, 7, 5}, []int{0, 1, 2, 1, 0, 2, 1, 2}},
		{[]int{0, 0, 1, 2, 3, 4}, []int{0, 0, 1, 1, 1, 2}},
		{[]int{0, 5, 1, 2, 3, 0}, []int{0, 2, 1, 1, 1, 0}},
	} {
		const nl, root = 3, 0
		n := len(tc.heads) - 1
		s := newState(n)
		mask := make([]bool, 1+2*nl)
		for steps := 0; !s.terminal(); steps++ {
			if steps > 4*n {
				t.Fatal("no termination")
			}
			s.legal(mask, nl, root)
			cs, cl, cr := s.costs(tc.heads)
			s0, s1 := s.at(0), s.at(1)
			next := -1
			switch {
			case mask[shiftClass] && cs == 0 && !(cl == 0 && mask[1+tc.labels[max(s0, 0)]] && tc.heads[max(s0, 0)] == s.b) && !(cr == 0 && tc.heads[max(s0, 0)] == s1 && s.canRight()):
				next = shiftClass
			case s.canLeft() && cl == 0 && tc.heads[s0] == s.b:
				next = 1 + tc.labels[s0]
			case s.canRight() && cr == 0 && tc.heads[s0] == s1:
				next = 1 + nl + tc.labels[s0]
			case mask[shiftClass] && cs == 0:
				next = shiftClass
			}
			if next < 0 || !mask[next] {
				t.Fatalf("tree %v: no legal zero-cost move at stack %v b %d", tc.heads, s.stack, s.b)
			}
			s.apply(next, nl)
		}
		if !reflect.DeepEqual(s.heads[1:n+1], tc.heads[1:]) || !reflect.DeepEqual(s.labels[1:n+1], tc.labels[1:]) {
			t.Errorf("got heads %v labels %v, want %v %v", s.heads[1:n+1], s.labels[1:n+1], tc.heads[1:], tc.labels[1:])
		}
	}
}

func TestLegalRoot(t *testing.T) {
	const nl, root = 3, 1
	s := newState(2)
	mask := make([]bool, 1+2*nl)
	s.legal(mask, nl, root)
	if !reflect.DeepEqual(mask, []bool{true, false, false, false, false, false, false}) {
		t.Fatalf("initial: %v", mask)
	}
	s.apply(shiftClass, nl) // stack [0 1], buffer [2]
	s.legal(mask, nl, root)
	// RIGHT from root is illegal while the buffer is not empty; LEFT never uses "root".
	if !reflect.DeepEqual(mask, []bool{true, true, false, true, false, false, false}) {
		t.Fatalf("after shift: %v", mask)
	}
	s.apply(shiftClass, nl) // stack [0 1 2], buffer empty
	s.legal(mask, nl, root)
	if !reflect.DeepEqual(mask, []bool{false, false, false, false, true, false, true}) {
		t.Fatalf("buffer empty: %v", mask)
	}
	s.apply(1+nl+0, nl) // 1 -> 2
	s.legal(mask, nl, root)
	if !reflect.DeepEqual(mask, []bool{false, false, false, false, false, true, false}) {
		t.Fatalf("last: %v", mask)
	}
	s.apply(1+nl+root, nl)
	if !s.terminal() || s.heads[1] != 0 || s.heads[2] != 1 || s.labels[1] != root {
		t.Fatalf("final heads %v labels %v", s.heads, s.labels)
	}
}

func TestProjectivity(t *testing.T) {
	for _, tc := range []struct {
		heads []int
		proj  bool
		lift  []int
	}{
		{[]int{0, 0}, true, []int{0, 0}},
		{[]int{0, 2, 0, 2}, true, []int{0, 2, 0, 2}},
		// 1 -> 3 crosses 2 -> 4:  words 1..4, root 2
		{[]int{0, 2, 0, 1, 2}, false, []int{0, 2, 0, 2, 2}},
		// "A hearing is scheduled on the issue today": 2 -> 5 (nmod) crosses 4 -> 3? classic example
		{[]int{0, 2, 4, 4, 0, 2, 7, 5, 4}, false, []int{0, 2, 4, 4, 0, 4, 7, 5, 4}},
		{[]int{0, 3, 3, 0, 3}, true, []int{0, 3, 3, 0, 3}},
	} {
		if got := IsProjective(tc.heads); got != tc.proj {
			t.Errorf("%v: IsProjective %v, want %v", tc.heads, got, tc.proj)
		}
		got := Projectivize(tc.heads)
		if !reflect.DeepEqual(got, tc.lift) {
			t.Errorf("%v: Projectivize %v, want %v", tc.heads, got, tc.lift)
		}
		if !IsProjective(got) {
			t.Errorf("%v: lifted tree not projective", tc.heads)
		}
	}
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 500; i++ {
		n := 2 + rng.Intn(10)
		h := make([]int, n+1)
		// random tree: attach each word to a random earlier-built node
		perm := rng.Perm(n)
		h[perm[0]+1] = 0
		for j := 1; j < n; j++ {
			h[perm[j]+1] = perm[rng.Intn(j)] + 1
		}
		p := Projectivize(h)
		if !IsProjective(p) {
			t.Fatalf("%v -> %v not projective", h, p)
		}
		roots := 0
		for d := 1; d <= n; d++ {
			if p[d] == 0 {
				roots++
			}
			if !dominates(p, 0, d) {
				t.Fatalf("%v -> %v not a tree", h, p)
			}
		}
		if roots != 1 {
			t.Fatalf("%v -> %v has %d roots", h, p, roots)
		}
	}
}
