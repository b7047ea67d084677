package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFlattenFixtures checks that flattening the typed view of every
// kadapter-tiny file under its own prefixes gives back exactly the file's
// keys (less the ignored lm_head.*) and the very tensors loaded.
func TestFlattenFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(tinyDir(t), "*", "*.bin"))
	if err != nil || len(files) < 22 {
		t.Fatalf("found %d fixture files (%v)", len(files), err)
	}
	for _, p := range files {
		ts, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]*Tensor
		switch filepath.Base(filepath.Dir(p)) {
		case "roberta":
			rw, err := ExtractRoberta(p, ts, "auto")
			if err != nil {
				t.Fatal(err)
			}
			got = rw.Flatten(rw.Prefix)
		case "fac-adapter", "lin-adapter":
			af, err := ExtractAdapterFile(p, ts, 64)
			if err != nil {
				t.Fatal(err)
			}
			got = af.Adapters.Flatten("adapter.")
			for k, v := range af.Head.Flatten() {
				got[k] = v
			}
		default:
			tw, err := ExtractTask(p, ts, 64)
			if err != nil {
				t.Fatal(err)
			}
			got = tw.Flatten("model.")
		}
		var want []string
		for _, k := range sortedKeys(ts) {
			if !strings.HasPrefix(k, "lm_head.") {
				want = append(want, k)
			}
		}
		if keys := sortedKeys(got); !slices.Equal(keys, want) {
			t.Errorf("%s: flattened keys\n%v\nwant\n%v", p, keys, want)
			continue
		}
		for k, v := range got {
			if v != ts[k] {
				t.Errorf("%s: %s is not the loaded tensor", p, k)
			}
		}
	}
}

// TestFlattenRenames checks Flatten's names for a re-prefixed RoBERTa with
// old gamma/beta LayerNorm names.
func TestFlattenRenames(t *testing.T) {
	s := newSynth(8)
	s.roberta("model.", 50, 8, 1, 16)
	old := s.oldNameMap()
	w, err := ExtractRoberta("old", old, "auto")
	if err != nil {
		t.Fatal(err)
	}
	got := w.Flatten("roberta.")
	var want []string
	for _, x := range s.out {
		want = append(want, "roberta."+strings.TrimPrefix(x.Name, "model."))
	}
	slices.Sort(want)
	if keys := sortedKeys(got); !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if got["roberta.encoder.layer.0.output.LayerNorm.bias"] != old["model.encoder.layer.0.output.LayerNorm.beta"] {
		t.Error("renamed beta is not the file's tensor")
	}
}

// TestFindRobertaWeights checks the folder lookup order and the errors.
func TestFindRobertaWeights(t *testing.T) {
	dir := t.TempDir()
	_, err := FindRobertaWeights(dir)
	wantErr(t, err, ErrIO, dir, "")
	_, err = FindRobertaWeights(filepath.Join(dir, "absent"))
	wantErr(t, err, ErrIO, filepath.Join(dir, "absent"), "")
	// Each file added goes before the ones already there.
	for i := len(RobertaWeightFileNames) - 1; i >= 0; i-- {
		p := filepath.Join(dir, RobertaWeightFileNames[i])
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := FindRobertaWeights(dir); got != p || err != nil {
			t.Errorf("found %q, %v; want %q", got, err, p)
		}
		if got, err := FindRobertaWeights(p); got != p || err != nil {
			t.Errorf("a file resolves to %q, %v; want itself", got, err)
		}
	}
	// FindWeights keeps its own order (model.safetensors first) and does
	// not take pytorch_pretrained_model.bin.
	if got, err := FindWeights(dir); got != filepath.Join(dir, "model.safetensors") || err != nil {
		t.Errorf("FindWeights: %q, %v", got, err)
	}
	only := t.TempDir()
	os.WriteFile(filepath.Join(only, "pytorch_pretrained_model.bin"), nil, 0o644)
	if _, err := FindWeights(only); !errors.Is(err, ErrIO) {
		t.Errorf("FindWeights took pytorch_pretrained_model.bin: %v", err)
	}
}

// TestReadRobertaConfigFolder checks that a folder reads its config.json
// and that invalid settings are rejected naming the file.
func TestReadRobertaConfigFolder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	os.WriteFile(p, []byte(`{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}`), 0o644)
	c, err := ReadRobertaConfig(dir)
	if err != nil || c.HiddenSize != 8 || c.LayerNormEps != 1e-12 || c.HiddenAct != "gelu" {
		t.Fatalf("config %+v, %v", c, err)
	}
	for _, bad := range []string{
		`{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 16}`,
		`{"hidden_size": 8, "num_hidden_layers": 0, "num_attention_heads": 2, "intermediate_size": 16}`,
		`{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu_new"}`,
		`{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "layer_norm_eps": -1}`,
	} {
		os.WriteFile(p, []byte(bad), 0o644)
		_, err := ReadRobertaConfig(dir)
		wantErr(t, err, ErrCorrupt, p, "")
	}
}
