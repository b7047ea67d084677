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
	m  map[string][]int32
	_  [32]byte // keep shards on separate cache lines
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
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	s := c.shard(word)
	s.mu.RLock()
	v, ok := s.m[word]
	s.mu.RUnlock()
	return v, ok
}

func (c *wordCache) put(word string, ids []int32) {
	s := c.shard(word)
	key := strings.Clone(word)
	val := append([]int32(nil), ids...)
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		clear(s.m)
	}
	s.m[key] = val
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
	if ids, ok := t.cache.get(word); ok {
		return append(dst, ids...)
	}
	n := len(dst)
	dst = t.bpe(dst, word)
	t.cache.put(word, dst[n:])
	return dst
}
