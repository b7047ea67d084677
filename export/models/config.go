// Package models builds K-Adapter's networks (spec §1-§4) as graphs of the
// export/graph IR: RoBERTa as pytorch_transformers 1.2.0 computes it, the
// adapter chains and fusion, with weights from the checkpoint files, under
// the head of a registered task: each task's inputs, head and loss are a
// TaskGraph that package tasks registers (Register). Build turns a Spec
// and a Weights set into a graph whose inputs and outputs follow the
// published interface (docs/export.md).
package models

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kadapter/kadapter/export/checkpoint"
)

// RobertaConfig is what the model needs from RoBERTa's config.json; it is
// export/checkpoint's type (read with checkpoint.ReadRobertaConfig, checked
// with Validate).
type RobertaConfig = checkpoint.RobertaConfig

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
