package parser

// The transition system is arc-hybrid (Kuhlmann et al. 2011) with the
// artificial root at the bottom of the stack:
//
//	SHIFT     move the front of the buffer b0 onto the stack
//	LEFT-l    pop s0 and attach it to b0 with label l
//	RIGHT-l   pop s0 and attach it to s1 with label l
//
// RIGHT from the root (s1 = root) is allowed only when the buffer is empty,
// with the label "root"; this yields exactly one root word. The dynamic
// oracle is the exact one of Goldberg & Nivre (2013) for projective trees.

const none = -1

// Transition classes: 0 = SHIFT, 1+l = LEFT-l, 1+L+l = RIGHT-l.
const shiftClass = 0

type state struct {
	n      int
	stack  []int
	b      int // front of the buffer; the buffer is b..n
	heads  []int
	labels []int
	l1, l2 []int // leftmost and second leftmost children
	r1, r2 []int // rightmost and second rightmost children
	vl, vr []int
	ls, rs []uint64 // label sets of left and right children
	on     []bool   // on the stack
}

func newState(n int) *state {
	m := n + 2 // 0 = root, 1..n words, n+1 = "none" sentinel
	s := &state{n: n, b: 1}
	ints := make([]int, 8*m)
	s.heads, s.labels = ints[0:m], ints[m:2*m]
	s.l1, s.l2, s.r1, s.r2 = ints[2*m:3*m], ints[3*m:4*m], ints[4*m:5*m], ints[5*m:6*m]
	s.vl, s.vr = ints[6*m:7*m], ints[7*m:8*m]
	for i := 0; i < 6*m; i++ {
		ints[i] = none
	}
	sets := make([]uint64, 2*m)
	s.ls, s.rs = sets[:m], sets[m:]
	s.on = make([]bool, m)
	s.stack = make([]int, 1, n+1)
	s.on[0] = true
	return s
}

func (s *state) terminal() bool { return s.b > s.n && len(s.stack) == 1 }

// at returns the stack element i from the top (0 = s0), or none.
func (s *state) at(i int) int {
	if i < len(s.stack) {
		return s.stack[len(s.stack)-1-i]
	}
	return none
}

// buf returns the buffer element i from the front, or none.
func (s *state) buf(i int) int {
	if s.b+i <= s.n {
		return s.b + i
	}
	return none
}

func (s *state) attach(h, d, l int) {
	s.heads[d], s.labels[d] = h, l
	bit := uint64(1) << (uint(l) & 63)
	if d < h {
		s.vl[h]++
		s.ls[h] |= bit
		if s.l1[h] == none || d < s.l1[h] {
			s.l2[h], s.l1[h] = s.l1[h], d
		} else if s.l2[h] == none || d < s.l2[h] {
			s.l2[h] = d
		}
	} else {
		s.vr[h]++
		s.rs[h] |= bit
		if s.r1[h] == none || d > s.r1[h] {
			s.r2[h], s.r1[h] = s.r1[h], d
		} else if s.r2[h] == none || d > s.r2[h] {
			s.r2[h] = d
		}
	}
}

func (s *state) pop() int {
	d := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	s.on[d] = false
	return d
}

// apply performs transition class c (nl = number of labels).
func (s *state) apply(c, nl int) {
	switch {
	case c == shiftClass:
		s.stack = append(s.stack, s.b)
		s.on[s.b] = true
		s.b++
	case c <= nl:
		d := s.pop()
		s.attach(s.b, d, c-1)
	default:
		d := s.pop()
		s.attach(s.stack[len(s.stack)-1], d, c-1-nl)
	}
}

// canShift, canLeft, canRight report the legality of the unlabeled moves.
func (s *state) canShift() bool { return s.b <= s.n }
func (s *state) canLeft() bool  { return s.b <= s.n && len(s.stack) >= 2 }
func (s *state) canRight() bool {
	return len(s.stack) >= 3 || (len(s.stack) == 2 && s.b > s.n)
}

// legal fills mask (len 1+2*nl) with the legal classes. The root label is
// only legal for RIGHT from the root; other labels only elsewhere.
func (s *state) legal(mask []bool, nl, root int) {
	clear(mask)
	mask[shiftClass] = s.canShift()
	if s.canLeft() {
		for l := 0; l < nl; l++ {
			mask[1+l] = l != root
		}
	}
	if s.canRight() {
		fromRoot := len(s.stack) == 2
		for l := 0; l < nl; l++ {
			mask[1+nl+l] = (l == root) == fromRoot
		}
	}
}

// costs returns the dynamic-oracle costs of SHIFT, LEFT and RIGHT (number of
// gold arcs made unreachable) for gold heads gh (gh[0] unused). Costs of
// illegal moves are meaningless.
func (s *state) costs(gh []int) (cs, cl, cr int) {
	s0, s1, b0 := s.at(0), s.at(1), s.b
	if s.canShift() {
		for _, k := range s.stack {
			if gh[k] == b0 {
				cs++
			}
		}
		if g := gh[b0]; g != s0 && s.on[g] {
			cs++
		}
	}
	if len(s.stack) >= 2 {
		deps := 0
		for k := s.b; k <= s.n; k++ {
			if gh[k] == s0 {
				deps++
			}
		}
		g := gh[s0]
		cl, cr = deps, deps
		if g != b0 && (g == s1 || (g >= s.b && g != 0)) {
			cl++
		}
		if g != s1 && g >= s.b && g != 0 {
			cr++
		}
	}
	return
}
