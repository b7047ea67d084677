package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/testshared"
)

// manifest is the part of kadapter-tiny/manifest.json these tests use.
type manifest struct {
	Adapter struct {
		AdapterSize              int   `json:"adapter_size"`
		AdapterIntermediate      int   `json:"adapter_intermediate"`
		AdapterTransformerLayers int   `json:"adapter_transformer_layers"`
		AdapterList              []int `json:"adapter_list"`
	} `json:"adapter"`
	Roberta   RobertaConfig `json:"roberta"`
	Artifacts map[string]struct {
		Dir       string `json:"dir"`
		Weights   string `json:"weights"`
		StateDict []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
			DType string `json:"dtype"`
		} `json:"state_dict"`
	} `json:"artifacts"`
}

func tinyDir(t *testing.T) string {
	t.Helper()
	return testshared.Path(t, "fixtures", "kadapter-tiny")
}

func readManifest(t *testing.T) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tinyDir(t), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// fixturePairs lists (legacy, zip) file pairs of kadapter-tiny.
func fixturePairs(t *testing.T) [][2]string {
	t.Helper()
	zips, err := filepath.Glob(filepath.Join(tinyDir(t), "*", "*.zip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(zips) < 11 {
		t.Fatalf("found %d zip checkpoints in kadapter-tiny, want 11", len(zips))
	}
	var out [][2]string
	for _, z := range zips {
		out = append(out, [2]string{strings.TrimSuffix(z, ".zip.bin") + ".bin", z})
	}
	return out
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestFixturesBothFormats: the legacy and zip files of every kadapter-tiny
// folder hold the same keys (same order), shapes and values, and match
// manifest.json's state_dict lists (names, order, shapes, dtypes).
func TestFixturesBothFormats(t *testing.T) {
	m := readManifest(t)
	byDir := map[string][]string{}
	for name, a := range m.Artifacts {
		if len(a.StateDict) > 0 {
			byDir[a.Dir] = append(byDir[a.Dir], name)
		}
	}
	for _, pair := range fixturePairs(t) {
		dir := filepath.Base(filepath.Dir(pair[0]))
		t.Run(dir, func(t *testing.T) {
			leg, err := Open(pair[0])
			if err != nil {
				t.Fatal(err)
			}
			zp, err := Open(pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if leg.Format != FormatTorchLegacy || zp.Format != FormatTorchZip {
				t.Fatalf("formats %s, %s; want torch-legacy, torch-zip", leg.Format, zp.Format)
			}
			if !slices.Equal(leg.Keys, zp.Keys) {
				t.Fatalf("key lists differ:\nlegacy %v\nzip    %v", leg.Keys, zp.Keys)
			}
			for _, k := range leg.Keys {
				a, b := leg.Tensors[k], zp.Tensors[k]
				if !slices.Equal(a.Shape, b.Shape) || !sameBits(a.Data, b.Data) || !slices.Equal(a.Int64, b.Int64) || a.DType != b.DType {
					t.Errorf("%s: legacy %v %s and zip %v %s differ", k, a.Shape, a.DType, b.Shape, b.DType)
				}
				if len(a.Data) != a.NumElements() {
					t.Errorf("%s: %d values for shape %v", k, len(a.Data), a.Shape)
				}
			}
			names := byDir[dir]
			if len(names) != 1 {
				t.Fatalf("manifest has %d artifacts with a state_dict for dir %s", len(names), dir)
			}
			sd := m.Artifacts[names[0]].StateDict
			if len(sd) != len(leg.Keys) {
				t.Fatalf("%d keys, manifest lists %d", len(leg.Keys), len(sd))
			}
			for i, e := range sd {
				got := leg.Tensors[leg.Keys[i]]
				if e.Name != leg.Keys[i] || !slices.Equal(e.Shape, got.Shape) || e.DType != string(got.DType) {
					t.Errorf("entry %d: got %s %v %s, manifest %s %v %s", i, leg.Keys[i], got.Shape, got.DType, e.Name, e.Shape, e.DType)
				}
			}
		})
	}
}

// TestFixtureTiedWeights: the hub-style RoBERTa file ties lm_head.decoder to
// the word embeddings (one storage, two tensors).
func TestFixtureTiedWeights(t *testing.T) {
	for _, f := range []string{"pytorch_model.bin", "pytorch_model.zip.bin"} {
		ts, err := Load(filepath.Join(tinyDir(t), "roberta", f))
		if err != nil {
			t.Fatal(err)
		}
		a, b := ts["roberta.embeddings.word_embeddings.weight"], ts["lm_head.decoder.weight"]
		if a == nil || b == nil || !sameBits(a.Data, b.Data) {
			t.Fatalf("%s: lm_head.decoder.weight is not the word embedding matrix", f)
		}
	}
}

// TestFixtureRoundTrip writes every fixture's tensors in the three formats
// and reads them back unchanged.
func TestFixtureRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	for _, pair := range fixturePairs(t) {
		c, err := Open(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			format Format
			write  func(string) error
		}{
			{FormatSafetensors, func(p string) error { return WriteSafetensors(p, c.Ordered(), map[string]string{"format": "pt"}) }},
			{FormatTorchLegacy, func(p string) error { return WriteTorch(p, FormatTorchLegacy, c.Ordered()) }},
			{FormatTorchZip, func(p string) error { return WriteTorch(p, FormatTorchZip, c.Ordered()) }},
		} {
			p := filepath.Join(tmp, "rt."+w.format.String())
			if err := w.write(p); err != nil {
				t.Fatal(err)
			}
			back, err := Open(p)
			if err != nil {
				t.Fatalf("%s as %s: %v", pair[0], w.format, err)
			}
			if back.Format != w.format {
				t.Fatalf("sniffed %s, wrote %s", back.Format, w.format)
			}
			if w.format == FormatSafetensors {
				if back.Metadata["format"] != "pt" {
					t.Errorf("metadata %v", back.Metadata)
				}
			} else if !slices.Equal(back.Keys, c.Keys) {
				t.Errorf("%s: key order changed", w.format)
			}
			if len(back.Keys) != len(c.Keys) {
				t.Fatalf("%s: %d keys, want %d", w.format, len(back.Keys), len(c.Keys))
			}
			for _, k := range c.Keys {
				a, b := c.Tensors[k], back.Tensors[k]
				if b == nil || !slices.Equal(a.Shape, b.Shape) || !sameBits(a.Data, b.Data) || !slices.Equal(a.Int64, b.Int64) {
					t.Errorf("%s %s: round trip changed the tensor", w.format, k)
				}
			}
		}
	}
}

// TestFixtureExtract checks the typed views of every fixture against the
// configuration in manifest.json (sizes inferred from shapes, quirk 11).
func TestFixtureExtract(t *testing.T) {
	m := readManifest(t)
	dir := tinyDir(t)
	cfg := m.Roberta
	wantAdapter := AdapterShapes{Count: len(m.Adapter.AdapterList), Width: m.Adapter.AdapterSize, Hidden: cfg.HiddenSize,
		Layers: m.Adapter.AdapterTransformerLayers, Intermediate: m.Adapter.AdapterIntermediate}
	wantRoberta := RobertaShapes{Vocab: cfg.VocabSize, Hidden: cfg.HiddenSize, Layers: cfg.NumHiddenLayers,
		Intermediate: cfg.IntermediateSize, MaxPositions: cfg.MaxPositionEmbeddings, TypeVocab: cfg.TypeVocabSize}

	for _, f := range []string{"pytorch_model.bin", "pytorch_model.zip.bin"} {
		p := filepath.Join(dir, "roberta", f)
		ts, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		rw, err := ExtractRoberta(p, ts, "auto")
		if err != nil {
			t.Fatal(err)
		}
		if rw.Prefix != "roberta." || rw.Shapes != wantRoberta || rw.Pooler == nil || len(rw.Layers) != 4 {
			t.Errorf("%s: prefix %q shapes %+v, want roberta. %+v", p, rw.Prefix, rw.Shapes, wantRoberta)
		}
		rc, err := ReadRobertaConfig(filepath.Join(dir, "roberta", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.CheckConfig(p, rc); err != nil {
			t.Error(err)
		}
		if rc.NumAttentionHeads != 4 || rc.LayerNormEps != 1e-5 {
			t.Errorf("config %+v", rc)
		}
		if got := rw.Layers[2].Intermediate.Weight; got != ts["roberta.encoder.layer.2.intermediate.dense.weight"] {
			t.Errorf("layer 2 intermediate weight is not the file's tensor")
		}

		for _, name := range []string{"fac-adapter", "lin-adapter"} {
			af, err := LoadAdapterFile(filepath.Join(dir, name, f), 0)
			if err != nil {
				t.Fatal(err)
			}
			if af.Adapters.Shapes != wantAdapter {
				t.Errorf("%s: adapter shapes %+v, want %+v", name, af.Adapters.Shapes, wantAdapter)
			}
			h := af.Head
			if h.ComDense == nil || h.Dense == nil || h.OutProj == nil {
				t.Errorf("%s: head %+v incomplete", name, h)
			}
			if name == "fac-adapter" && (h.SelfAttention != nil || h.OutProj.Out() != 410 || h.Dense.In() != 128) {
				t.Errorf("fac head: self_attention %v, out_proj %d rows, dense in %d", h.SelfAttention != nil, h.OutProj.Out(), h.Dense.In())
			}
			if name == "lin-adapter" && (h.SelfAttention == nil || h.OutProj.Out() != 24 || h.Dense.In() != 64) {
				t.Errorf("lin head: self_attention %v, out_proj %d rows", h.SelfAttention != nil, h.OutProj.Out())
			}
		}
	}

	tasks := []struct {
		dir, file           string
		roberta, fac, lin   bool
		cosmos, concat      bool
		denseIn, outRows    int
		classifier, fusion3 bool
	}{
		{"tacred", "pytorch_model.bin", false, true, true, false, true, 128, 42, false, true},
		{"tacred_add_fac", "pytorch_model.bin", false, true, false, false, false, 128, 42, false, false},
		{"openentity", "pytorch_model.bin", false, true, true, false, true, 64, 9, false, true},
		{"figer", "pytorch_task_model.bin", false, true, true, false, true, 64, 13, false, true},
		{"cosmosqa", "pytorch_model.bin", false, true, true, true, true, 0, 0, true, true},
		{"cosmosqa_rates", "pytorch_model.bin", false, true, true, true, true, 0, 0, true, true},
		{"roberta_with_adapter_fac_only", "pytorch_model.bin", true, true, false, false, true, 0, 0, false, false},
		{"roberta_with_adapter_fac_lin", "pytorch_model.bin", true, true, true, false, true, 0, 0, false, true},
	}
	for _, tc := range tasks {
		for _, f := range []string{tc.file, strings.TrimSuffix(tc.file, ".bin") + ".zip.bin"} {
			p := filepath.Join(dir, tc.dir, f)
			tw, err := LoadTask(p, 0)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if tw.Hidden != 64 || (tw.Roberta != nil) != tc.roberta || (tw.Fac != nil) != tc.fac || (tw.Lin != nil) != tc.lin {
				t.Errorf("%s: hidden %d roberta %v fac %v lin %v", p, tw.Hidden, tw.Roberta != nil, tw.Fac != nil, tw.Lin != nil)
			}
			for _, a := range []*AdapterWeights{tw.Fac, tw.Lin} {
				if a != nil && a.Shapes != wantAdapter {
					t.Errorf("%s %s: %+v, want %+v", p, a.Prefix, a.Shapes, wantAdapter)
				}
			}
			if tc.roberta && tw.Roberta.Shapes != wantRoberta {
				t.Errorf("%s: roberta %+v", p, tw.Roberta.Shapes)
			}
			if (tw.FacTaskDense != nil) != tc.cosmos || (tw.LinTaskDense != nil) != tc.cosmos {
				t.Errorf("%s: cosmos per-adapter task_dense presence wrong", p)
			}
			if (tw.TaskDenseFac != nil) != tc.concat || (tw.TaskDense != nil) != tc.concat || (tw.TaskDenseLin != nil) != tc.fusion3 {
				t.Errorf("%s: concat fusion layers presence wrong", p)
			}
			if tc.denseIn > 0 && (tw.Dense == nil || tw.Dense.In() != tc.denseIn || tw.OutProj.Out() != tc.outRows) {
				t.Errorf("%s: head dense/out_proj wrong", p)
			}
			if tc.denseIn == 0 && (tw.Dense != nil || tw.OutProj != nil) {
				t.Errorf("%s: unexpected dense/out_proj", p)
			}
			if (tw.Classifier != nil) != tc.classifier {
				t.Errorf("%s: classifier presence wrong", p)
			}
		}
	}
}
