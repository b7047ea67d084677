// Package trexrc builds the fac-adapter relation-classification dataset
// (data/trex-rc of K-Adapter, spec §8.2) from raw T-REx files in two
// streaming passes: clean every input to an Arrow shard (cleaners/trex),
// then build the train/dev splits from the shards without holding the
// examples in memory.
package trexrc

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed relations410.json
var relations410JSON []byte

// relations410 is the hard-coded 410-entry trex_relations list of the
// original root utils_glue.py (spec §7.1, quirk 33), whose order defines
// the output ids of the released fac-adapter head.
var relations410 []string
var relationIndex map[string]int

func init() {
	if err := json.Unmarshal(relations410JSON, &relations410); err != nil {
		panic(fmt.Sprintf("trexrc: embedded relations410.json: %v", err))
	}
	relationIndex = make(map[string]int, len(relations410))
	for i, r := range relations410 {
		relationIndex[r] = i
	}
}

// Relations410 returns a copy of the 410 property ids in the order of the
// released fac-adapter's classification head.
func Relations410() []string { return append([]string(nil), relations410...) }

// Label returns the index of relation in the 410-entry list, or -1 when the
// relation is not in it (the original fac-adapter.py raises KeyError).
func Label(relation string) int {
	if i, ok := relationIndex[relation]; ok {
		return i
	}
	return -1
}
