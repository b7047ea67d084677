package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// wordCache memoises the BPE of pre-tokens. It is split into shards, each
// behind its own lock, and bounded: a shard that reaches its capacity is
// emptied before the next insertion, so memory stays bounded whatever the
// input while frequent words come back quickly.
type wordCache struct {
	seed     maphash.Seed
	shards   []cacheShard
	perShard int
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[uint64]cacheEntry // keyed by the word's hash; the entry holds the word to check
	_  [40]byte              // keep shards on separate cache lines
}

type cacheEntry struct {
	word string
	ids  []int32
}

const (
	cacheShards = 16
	// DefaultCacheWords is the total number of words a Tokenizer's cache
	// holds at most.
	DefaultCacheWords = 1 << 15
	// maxCachedWord is the longest pre-token (in bytes) that is cached.
	maxCachedWord = 64
)

func newWordCache(capacity int) *wordCache {
	if capacity <= 0 {
		return nil
	}
	per := (capacity + cacheShards - 1) / cacheShards
	c := &wordCache{seed: maphash.MakeSeed(), shards: make([]cacheShard, cacheShards), perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry)
	}
	return c
}

func (c *wordCache) get(word string) (uint64, []int32, bool) {
	h := maphash.String(c.seed, word)
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e, ok := s.m[h]
	s.mu.RUnlock()
	if !ok || e.word != word {
		return h, nil, false
	}
	return h, e.ids, true
}

func (c *wordCache) put(h uint64, word string, ids []int32) {
	s := &c.shards[h%cacheShards]
	e := cacheEntry{word: strings.Clone(word), ids: append([]int32(nil), ids...)}
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		clear(s.m)
	}
	s.m[h] = e // a colliding word simply replaces the other
	s.mu.Unlock()
}

// wordIDs appends the ids of one pre-token, through the cache.
func (t *Tokenizer) wordIDs(dst []int32, word string) []int32 {
	if len(word) == 1 {
		return append(dst, t.byteID[word[0]])
	}
	if t.cache == nil || len(word) > maxCachedWord {
		return t.bpe(dst, word)
	}
	h, ids, ok := t.cache.get(word)
	if ok {
		return append(dst, ids...)
	}
	n := len(dst)
	dst = t.bpe(dst, word)
	t.cache.put(h, word, dst[n:])
	return dst
}
