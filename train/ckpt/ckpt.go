// Package ckpt writes a training checkpoint folder (checkpoint-N) as one
// atomic step: every file goes into a temporary folder beside it, which is
// renamed into place when complete, so a crash leaves the previous
// checkpoint or the new one, never half of one.
package ckpt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kadapter/kadapter/export/checkpoint"
)

// Folder is the content of one checkpoint folder.
type Folder struct {
	// Torch files: name → tensors in state-dict order, written in torch's
	// legacy format (what torch 1.3 wrote and the original code reads).
	Torch map[string][]*checkpoint.Tensor
	// Safetensors files: name → tensors.
	Safetensors map[string][]*checkpoint.Tensor
	// JSON files: name → value (written indented).
	JSON map[string]any
	// Raw files: name → bytes.
	Raw map[string][]byte
}

// Write writes f as dir (a folder path such as out/checkpoint-4),
// replacing an existing folder of that name only once the new one is
// complete.
func Write(dir string, f Folder) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	for name, ts := range f.Torch {
		if err := checkpoint.WriteTorch(filepath.Join(tmp, name), checkpoint.FormatTorchLegacy, ts); err != nil {
			return err
		}
	}
	for name, ts := range f.Safetensors {
		if err := checkpoint.WriteSafetensors(filepath.Join(tmp, name), ts, nil); err != nil {
			return err
		}
	}
	for name, v := range f.JSON {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	for name, b := range f.Raw {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	ok = true
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
