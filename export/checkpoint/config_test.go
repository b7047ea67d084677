package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigErrors: a bad field of config.json gives an error that names
// the config.json file and the field (and what is wrong with it), for a
// field that does not decode, one that is out of range, and one that
// disagrees with the weights.
func TestConfigErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(tinyDir(t), "roberta", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(tinyDir(t), "roberta", "pytorch_model.bin")
	ts, err := Load(weights)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := ExtractRoberta(weights, ts, "auto")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		from, to string // replaced in the fixture's config.json
		kind     error
		want     []string
	}{
		{"hidden_size too large", `"hidden_size": 64`, `"hidden_size": 128`, ErrShape,
			[]string{"hidden_size is 128", "give 64", weights, "roberta.embeddings.word_embeddings.weight"}},
		{"num_hidden_layers", `"num_hidden_layers": 4`, `"num_hidden_layers": 5`, ErrShape, []string{"num_hidden_layers is 5", "give 4"}},
		{"vocab_size", `"vocab_size": 1000`, `"vocab_size": 50265`, ErrShape, []string{"vocab_size is 50265", "give 1000"}},
		{"intermediate_size", `"intermediate_size": 128`, `"intermediate_size": 3072`, ErrShape, []string{"intermediate_size is 3072", "give 128"}},
		{"hidden_size a string", `"hidden_size": 64`, `"hidden_size": "64"`, ErrCorrupt, []string{"field hidden_size is a JSON string, want a int"}},
		{"hidden_size zero", `"hidden_size": 64`, `"hidden_size": 0`, ErrCorrupt, []string{"hidden_size is 0"}},
		{"hidden_size negative", `"hidden_size": 64`, `"hidden_size": -64`, ErrCorrupt, []string{"hidden_size is -64"}},
		{"num_attention_heads missing", `"num_attention_heads": 4,`, ``, ErrCorrupt, []string{"num_attention_heads is 0"}},
		{"heads do not divide", `"num_attention_heads": 4`, `"num_attention_heads": 5`, ErrCorrupt, []string{"hidden_size 64 is not a multiple of num_attention_heads 5"}},
		{"layer_norm_eps", `"layer_norm_eps": 1e-05`, `"layer_norm_eps": -1`, ErrCorrupt, []string{"layer_norm_eps is -1"}},
		{"hidden_act", `"hidden_act": "gelu"`, `"hidden_act": "relu"`, ErrCorrupt, []string{`hidden_act "relu"`}},
		{"syntax", `"hidden_size": 64,`, `"hidden_size": 64,,`, ErrCorrupt, []string{"not valid JSON at byte offset"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.from) {
				t.Fatalf("fixture config.json has no %q", tc.from)
			}
			p := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(p, []byte(strings.Replace(string(good), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := ReadRobertaConfig(p)
			if err == nil {
				err = rw.CheckConfig(weights, cfg)
			}
			wantErr(t, err, tc.kind, p, "")
			for _, w := range tc.want {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The unmodified file passes and records its path.
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, good, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadRobertaConfig(p)
	if err != nil || cfg.Path != p {
		t.Fatalf("good config: %v (path %q)", err, cfg.Path)
	}
	if err := rw.CheckConfig(weights, cfg); err != nil {
		t.Fatal(err)
	}
	// A config built in code (no path) still names the weights file.
	err = rw.CheckConfig(weights, &RobertaConfig{HiddenSize: 32})
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), weights) || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("config without a path: %v", err)
	}
}
