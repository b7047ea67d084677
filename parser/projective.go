package parser

// Projectivity. heads is indexed 1..n (heads[0] unused), 0 = root.

// dominates reports whether h is an ancestor of k (or k itself).
func dominates(heads []int, h, k int) bool {
	for steps := 0; k != 0 && steps < len(heads); steps++ {
		if k == h {
			return true
		}
		k = heads[k]
	}
	return h == k
}

// nonProjective reports whether the arc heads[d] -> d is non-projective: a
// word strictly between head and dependent is not dominated by the head.
func nonProjective(heads []int, d int) bool {
	h := heads[d]
	lo, hi := h, d
	if lo > hi {
		lo, hi = hi, lo
	}
	for k := lo + 1; k < hi; k++ {
		if !dominates(heads, h, k) {
			return true
		}
	}
	return false
}

// IsProjective reports whether the tree heads (1-based, heads[0] unused)
// has no crossing arcs.
func IsProjective(heads []int) bool {
	for d := 1; d < len(heads); d++ {
		if nonProjective(heads, d) {
			return false
		}
	}
	return true
}

// Projectivize returns a projective tree obtained by lifting, repeatedly,
// the shortest non-projective arc to the head's head (Nivre & Nilsson
// 2005, without label encoding). Labels are kept as they are.
func Projectivize(heads []int) []int {
	h := append([]int(nil), heads...)
	for {
		best, bl := -1, 0
		for d := 1; d < len(h); d++ {
			if h[d] == 0 || !nonProjective(h, d) {
				continue
			}
			l := d - h[d]
			if l < 0 {
				l = -l
			}
			if best < 0 || l < bl {
				best, bl = d, l
			}
		}
		if best < 0 {
			return h
		}
		h[best] = h[h[best]]
	}
}
