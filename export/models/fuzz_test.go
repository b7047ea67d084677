package models

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseIntList: --adapter-list never panics, and what it accepts
// prints back to the same numbers.
func FuzzParseIntList(f *testing.F) {
	for _, s := range []string{"0,11,22", "0, 1 ,3", "", ",,", "1,a", "-1,99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		xs, err := ParseIntList(s)
		if err != nil {
			return
		}
		var parts []string
		for _, x := range xs {
			parts = append(parts, strconv.Itoa(x))
		}
		again, err := ParseIntList(strings.Join(parts, ","))
		if err != nil || len(again) != len(xs) {
			t.Fatalf("%q -> %v -> %v, %v", s, xs, again, err)
		}
	})
}

// FuzzReadRobertaConfig: any config.json content gives a config that
// validates or an error, never a panic.
func FuzzReadRobertaConfig(f *testing.F) {
	f.Add(`{"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 128, "layer_norm_eps": 1e-5}`)
	f.Add(`{"hidden_size": 65, "num_attention_heads": 4}`)
	f.Add(`{"hidden_act": "gelu_new"}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := ReadRobertaConfig(p)
		if err == nil && c.Validate() != nil {
			t.Fatalf("accepted an invalid config %+v", c)
		}
	})
}
