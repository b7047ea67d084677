package parser

import (
	"math"
	"sort"
)

// trainTable is the weight store of an averaged perceptron while it
// trains: an open-addressing hash table from a 64-bit feature key to a row
// of (class, weight) entries kept contiguous in a slab (rows grow by
// doubling, moving to the slab's end), so that a feature only stores the
// classes it was ever updated for and scoring reads memory sequentially.
// Averaging uses Daumé's trick: besides the weight w, each entry keeps
// u = sum of clock*delta, and the average is w - u/clock.
type trainTable struct {
	nclass int
	keys   []uint64 // 0 = empty slot
	rows   []row    // per slot
	used   int
	slab   []entry
	clock  float64 // number of training instances seen (starts at 1)
}

type row struct {
	off      int32
	len, cap uint16
}

type entry struct {
	class uint16
	w     float32
	u     float64
}

func newTrainTable(nclass int) *trainTable {
	t := &trainTable{nclass: nclass, clock: 1}
	t.keys = make([]uint64, 1<<16)
	t.rows = make([]row, 1<<16)
	return t
}

func fixKey(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return k
}

// slot returns the slot of key k, or -1.
func (t *trainTable) slot(k uint64) int {
	mask := uint64(len(t.keys) - 1)
	i := (k * 0x9E3779B97F4A7C15 >> 20) & mask
	for {
		switch t.keys[i] {
		case k:
			return int(i)
		case 0:
			return -1
		}
		i = (i + 1) & mask
	}
}

// insert returns the slot of key k, adding it if needed.
func (t *trainTable) insert(k uint64) int {
	if (t.used+1)*2 > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	i := (k * 0x9E3779B97F4A7C15 >> 20) & mask
	for {
		switch t.keys[i] {
		case k:
			return int(i)
		case 0:
			t.keys[i] = k
			t.rows[i] = row{}
			t.used++
			return int(i)
		}
		i = (i + 1) & mask
	}
}

func (t *trainTable) grow() {
	oldK, oldR := t.keys, t.rows
	t.keys = make([]uint64, len(oldK)*2)
	t.rows = make([]row, len(oldK)*2)
	mask := uint64(len(t.keys) - 1)
	for j, k := range oldK {
		if k == 0 {
			continue
		}
		i := (k * 0x9E3779B97F4A7C15 >> 20) & mask
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i] = k
		t.rows[i] = oldR[j]
	}
}

// score adds the weights of feats to scores (len nclass, zeroed by the
// caller). With avg, it uses the averaged weights. Like table.score it
// first touches every home slot so that the cache misses overlap.
func (t *trainTable) score(feats []uint64, scores []float32, avg bool) {
	const batch = 64
	var home [batch]uint64
	var sink uint64
	inv := 1 / t.clock
	mask := uint64(len(t.keys) - 1)
	for len(feats) > 0 {
		fs := feats[:min(len(feats), batch)]
		feats = feats[len(fs):]
		for j, k := range fs {
			i := (fixKey(k) * 0x9E3779B97F4A7C15 >> 20) & mask
			home[j] = i
			sink += t.keys[i]
		}
		for j, k := range fs {
			k = fixKey(k)
			i := home[j]
			for t.keys[i] != k && t.keys[i] != 0 {
				i = (i + 1) & mask
			}
			if t.keys[i] == 0 {
				continue
			}
			r := t.rows[i]
			ents := t.slab[r.off : r.off+int32(r.len)]
			if avg {
				for x := range ents {
					scores[ents[x].class] += float32(float64(ents[x].w) - ents[x].u*inv)
				}
			} else {
				for x := range ents {
					scores[ents[x].class] += ents[x].w
				}
			}
		}
	}
	if sink == 1 { // keeps the touching loads alive
		scores[0] += 0
	}
}

// update adds delta to the weight of class for every feature.
func (t *trainTable) update(feats []uint64, class int, delta float32) {
	for _, k := range feats {
		s := t.insert(fixKey(k))
		r := &t.rows[s]
		ents := t.slab[r.off : r.off+int32(r.len)]
		j := 0
		for j < len(ents) && int(ents[j].class) != class {
			j++
		}
		if j == len(ents) {
			if r.len == r.cap {
				nc := max(2*r.cap, 2)
				off := int32(len(t.slab))
				t.slab = append(t.slab, make([]entry, nc)...)
				copy(t.slab[off:], t.slab[r.off:r.off+int32(r.len)])
				r.off, r.cap = off, nc
			}
			t.slab[r.off+int32(r.len)] = entry{class: uint16(class)}
			r.len++
		}
		en := &t.slab[r.off+int32(j)]
		en.w += delta
		en.u += t.clock * float64(delta)
	}
}

// tidy copies the live rows into a fresh slab, dropping the space left
// behind by grown rows.
func (t *trainTable) tidy() {
	n := 0
	for s, k := range t.keys {
		if k != 0 {
			n += int(t.rows[s].len)
		}
	}
	slab := make([]entry, 0, n+n/4)
	for s, k := range t.keys {
		if k == 0 {
			continue
		}
		r := &t.rows[s]
		off := int32(len(slab))
		slab = append(slab, t.slab[r.off:r.off+int32(r.len)]...)
		r.off, r.cap = off, r.len
	}
	t.slab = slab
}

// tick advances the averaging clock by one training instance.
func (t *trainTable) tick() { t.clock++ }

// compact returns the averaged weights as an inference table, dropping
// weights whose magnitude is below prune.
func (t *trainTable) compact(prune float32) *table {
	type kv struct {
		k uint64
		s int
	}
	var list []kv
	for s, k := range t.keys {
		if k != 0 {
			list = append(list, kv{k, s})
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].k < list[b].k })
	out := &table{nclass: t.nclass}
	out.off = append(out.off, 0)
	inv := 1 / t.clock
	type cw struct {
		c uint16
		w float32
	}
	var rw []cw
	for _, x := range list {
		rw = rw[:0]
		r := t.rows[x.s]
		for _, en := range t.slab[r.off : r.off+int32(r.len)] {
			w := float32(float64(en.w) - en.u*inv)
			if w > prune || w < -prune {
				rw = append(rw, cw{en.class, w})
			}
		}
		if len(rw) == 0 {
			continue
		}
		sort.Slice(rw, func(a, b int) bool { return rw[a].c < rw[b].c })
		out.keys = append(out.keys, x.k)
		if 2*len(rw) >= t.nclass {
			// dense row: every class, in order (scored without indirection)
			base := len(out.w)
			for c := 0; c < t.nclass; c++ {
				out.cls = append(out.cls, uint16(c))
				out.w = append(out.w, 0)
			}
			for _, r := range rw {
				out.w[base+int(r.c)] = r.w
			}
		} else {
			for _, r := range rw {
				out.cls = append(out.cls, r.c)
				out.w = append(out.w, r.w)
			}
		}
		out.off = append(out.off, uint32(len(out.cls)))
	}
	out.build()
	return out
}

// table is the compact, read-only weight store of a trained perceptron:
// sorted feature keys with CSR rows of (class, weight) (the file layout),
// and a hash index built at load time whose slots hold the row location
// inline, so that scoring a feature costs one cache miss for the slot and
// one for a row. Rows holding at least half of the classes are stored
// dense (every class, no class ids). Safe for concurrent use.
type table struct {
	nclass int
	keys   []uint64  // sorted, fixed (non-zero)
	off    []uint32  // len(keys)+1
	cls    []uint16  // class of each weight
	w      []float32 // weights

	slots  []slot
	dense  []float32   // dense rows, nclass each
	sparse []sparseEnt // sparse rows
}

type slot struct {
	key   uint64
	off   uint32 // into dense or sparse
	n     uint16 // number of sparse entries; 0 for a dense row
	dense bool
}

type sparseEnt struct {
	c uint16
	w float32
}

func (t *table) build() {
	n := 1
	for n < 2*len(t.keys)+2 {
		n <<= 1
	}
	t.slots = make([]slot, n)
	t.dense, t.sparse = nil, nil
	nd, ns := 0, 0
	for j := range t.keys {
		if k := int(t.off[j+1] - t.off[j]); k == t.nclass {
			nd++
		} else {
			ns += k
		}
	}
	t.dense = make([]float32, 0, nd*t.nclass)
	t.sparse = make([]sparseEnt, 0, ns)
	mask := uint64(n - 1)
	for j, k := range t.keys {
		i := (k * 0x9E3779B97F4A7C15 >> 20) & mask
		for t.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		a, b := t.off[j], t.off[j+1]
		sl := slot{key: k}
		if int(b-a) == t.nclass {
			sl.dense, sl.off = true, uint32(len(t.dense))
			t.dense = append(t.dense, t.w[a:b]...)
		} else {
			sl.off, sl.n = uint32(len(t.sparse)), uint16(b-a)
			for x := a; x < b; x++ {
				t.sparse = append(t.sparse, sparseEnt{t.cls[x], t.w[x]})
			}
		}
		t.slots[i] = sl
	}
}

// score adds the weights of feats to scores (len nclass). Lookups are
// memory-bound, so it works in passes: first it loads every feature's home
// slot (independent loads the CPU overlaps), then it resolves the slots and
// touches each row, then it adds the rows.
func (t *table) score(feats []uint64, scores []float32) {
	const batch = 64
	var home [batch]uint64
	var found [batch]*slot
	var sink float32
	mask := uint64(len(t.slots) - 1)
	nc := uint32(t.nclass)
	for len(feats) > 0 {
		fs := feats[:min(len(feats), batch)]
		feats = feats[len(fs):]
		for j, k := range fs {
			i := (fixKey(k) * 0x9E3779B97F4A7C15 >> 20) & mask
			home[j] = i
			sink += float32(t.slots[i].n)
		}
		for j, k := range fs {
			k = fixKey(k)
			i := home[j]
			found[j] = nil
			for {
				sl := &t.slots[i]
				if sl.key == k {
					found[j] = sl
					if sl.dense {
						sink += t.dense[sl.off]
					} else if sl.n > 0 {
						sink += t.sparse[sl.off].w
					}
					break
				}
				if sl.key == 0 {
					break
				}
				i = (i + 1) & mask
			}
		}
		for j := range fs {
			sl := found[j]
			if sl == nil {
				continue
			}
			if sl.dense {
				w := t.dense[sl.off : sl.off+nc]
				sc := scores[:len(w)]
				for x := range w {
					sc[x] += w[x]
				}
			} else {
				for _, e := range t.sparse[sl.off : sl.off+uint32(sl.n)] {
					scores[e.c] += e.w
				}
			}
		}
	}
	if sink == 1e38 { // never true; keeps the touching loads alive
		scores[0] += 0
	}
}

// argmaxLegal returns the best class among those with legal[c], or -1.
func argmaxLegal(scores []float32, legal []bool) int {
	best, bs := -1, float32(math.Inf(-1))
	for c, s := range scores {
		if legal[c] && (best < 0 || s > bs) {
			best, bs = c, s
		}
	}
	return best
}

// mergeTables returns the mean of several tables of the same classes
// (parameter mixing: the mean of linear models is one linear model, so an
// ensemble costs nothing at parse time).
func mergeTables(ts []*table) *table {
	nclass := ts[0].nclass
	out := &table{nclass: nclass}
	out.off = append(out.off, 0)
	pos := make([]int, len(ts))
	acc := make([]float32, nclass)
	has := make([]bool, nclass)
	scale := 1 / float32(len(ts))
	for {
		// smallest next key
		var k uint64
		found := false
		for i, t := range ts {
			if pos[i] < len(t.keys) && (!found || t.keys[pos[i]] < k) {
				k, found = t.keys[pos[i]], true
			}
		}
		if !found {
			break
		}
		clear(acc)
		clear(has)
		for i, t := range ts {
			if pos[i] < len(t.keys) && t.keys[pos[i]] == k {
				f := pos[i]
				for j := t.off[f]; j < t.off[f+1]; j++ {
					acc[t.cls[j]] += t.w[j] * scale
					has[t.cls[j]] = true
				}
				pos[i]++
			}
		}
		n := 0
		for c := range has {
			if has[c] {
				n++
			}
		}
		out.keys = append(out.keys, k)
		for c := 0; c < nclass; c++ {
			if 2*n >= nclass || has[c] {
				out.cls = append(out.cls, uint16(c))
				out.w = append(out.w, acc[c])
			}
		}
		out.off = append(out.off, uint32(len(out.cls)))
	}
	out.build()
	return out
}

// prune returns a copy of t without the features whose largest weight
// magnitude is below tau (they barely move any score), which shrinks the
// model and makes lookups cheaper.
func (t *table) prune(tau float32) *table {
	out := &table{nclass: t.nclass}
	out.off = append(out.off, 0)
	for j, k := range t.keys {
		a, b := t.off[j], t.off[j+1]
		var m float32
		for _, w := range t.w[a:b] {
			if w > m {
				m = w
			} else if -w > m {
				m = -w
			}
		}
		if m < tau {
			continue
		}
		out.keys = append(out.keys, k)
		out.cls = append(out.cls, t.cls[a:b]...)
		out.w = append(out.w, t.w[a:b]...)
		out.off = append(out.off, uint32(len(out.w)))
	}
	out.build()
	return out
}

// pruneWeights returns a copy of t without the single weights whose
// magnitude is below tau (rows get shorter; rows left with fewer than half
// the classes become sparse).
func (t *table) pruneWeights(tau float32) *table {
	out := &table{nclass: t.nclass}
	out.off = append(out.off, 0)
	var cls []uint16
	var ws []float32
	for j, k := range t.keys {
		cls, ws = cls[:0], ws[:0]
		for x := t.off[j]; x < t.off[j+1]; x++ {
			if w := t.w[x]; w >= tau || w <= -tau {
				cls = append(cls, t.cls[x])
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			continue
		}
		out.keys = append(out.keys, k)
		if 2*len(ws) >= t.nclass {
			base := len(out.w)
			for c := 0; c < t.nclass; c++ {
				out.cls = append(out.cls, uint16(c))
				out.w = append(out.w, 0)
			}
			for i, c := range cls {
				out.w[base+int(c)] = ws[i]
			}
		} else {
			out.cls = append(out.cls, cls...)
			out.w = append(out.w, ws...)
		}
		out.off = append(out.off, uint32(len(out.w)))
	}
	out.build()
	return out
}
