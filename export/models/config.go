// Package models builds K-Adapter's networks (spec §1-§4) as graphs of the
// export/graph IR: RoBERTa as pytorch_transformers 1.2.0 computes it, the
// adapter chains, fusion, and every task head, with weights from the
// checkpoint files. Build turns a Spec and a Weights set into a graph whose
// inputs and outputs follow the published interface (docs/export.md).
package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RobertaConfig is what the model needs from RoBERTa's config.json.
type RobertaConfig struct {
	// HiddenSize is H (1024 for roberta-large).
	HiddenSize int `json:"hidden_size"`
	// NumHiddenLayers is N, the number of transformer layers.
	NumHiddenLayers int `json:"num_hidden_layers"`
	// NumAttentionHeads is the head count of every layer.
	NumAttentionHeads int `json:"num_attention_heads"`
	// IntermediateSize is the width of the GELU layer.
	IntermediateSize int `json:"intermediate_size"`
	// LayerNormEps is every LayerNorm's epsilon (1e-12 when absent, as
	// pytorch_transformers defaults; RoBERTa's configs say 1e-5).
	LayerNormEps float64 `json:"layer_norm_eps"`
	// VocabSize is the number of word embeddings (informational; the
	// weights' shape is used).
	VocabSize int `json:"vocab_size"`
	// MaxPositionEmbeddings is the position table size (514).
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// TypeVocabSize is the token-type table size (1).
	TypeVocabSize int `json:"type_vocab_size"`
	// HiddenAct must be "gelu" (exact erf) or empty.
	HiddenAct string `json:"hidden_act"`
	// NumLabels is informational (FIGER's task config sets it).
	NumLabels int `json:"num_labels"`
}

// ReadRobertaConfig reads and checks config.json (a file or the folder
// holding it).
func ReadRobertaConfig(path string) (RobertaConfig, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	var c RobertaConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	// pytorch_transformers' default when the key is absent.
	c.LayerNormEps = 1e-12
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks the sizes are usable.
func (c RobertaConfig) Validate() error {
	switch {
	case c.HiddenSize <= 0 || c.NumHiddenLayers <= 0 || c.NumAttentionHeads <= 0 || c.IntermediateSize <= 0:
		return fmt.Errorf("hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive")
	case c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("layer_norm_eps must be positive")
	case c.HiddenAct != "" && c.HiddenAct != "gelu":
		return fmt.Errorf("hidden_act %q: only gelu (exact erf) is supported", c.HiddenAct)
	}
	return nil
}

// AdapterConfig describes one knowledge adapter chain. Size, Layers and
// Intermediate are read from the weight shapes; Heads cannot be and comes
// from the command line (12 in K-Adapter's AdapterConfig).
type AdapterConfig struct {
	// List are the taps into RoBERTa's hidden-state list (0 = embeddings),
	// one adapter per entry; K-Adapter's scripts use 0,11,22.
	List []int
	// SkipLayers is adapter_skip_layers (0 disables; 1 is rejected; see
	// spec §3 for what 2 and more do).
	SkipLayers int
	// Heads is the attention head count of the adapter encoder layers.
	Heads int
	// Eps is the adapters' LayerNorm epsilon (1e-5 hard-coded upstream).
	Eps float64
	// Size (A), Layers and Intermediate are filled from the weights.
	Size, Layers, Intermediate int
}

// ParseIntList parses "0,11,22".
func ParseIntList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q in list %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}
