package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantErr checks that err is an *Error of kind that names file and key.
func wantErr(t *testing.T, err error, kind error, file, key string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not a *checkpoint.Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	if ce.File != file || !strings.Contains(err.Error(), file) {
		t.Errorf("error %q does not name file %q", err, file)
	}
	if key != "" && (ce.Key != key || !strings.Contains(err.Error(), key)) {
		t.Errorf("error %q does not name key %q", err, key)
	}
}

// TestTruncatedEverywhere cuts small files of every format at every length:
// each cut must give an error naming the file (never a panic, never a
// silently shorter checkpoint).
func TestTruncatedEverywhere(t *testing.T) {
	for _, format := range []Format{FormatTorchLegacy, FormatTorchZip, FormatSafetensors} {
		full := encode(t, format, small())
		if _, err := readBytes("full", full); err != nil {
			t.Fatalf("%s: untruncated file: %v", format, err)
		}
		for n := 0; n < len(full); n++ {
			name := "cut-" + format.String()
			_, err := readBytes(name, full[:n])
			if err == nil {
				t.Fatalf("%s cut at %d of %d bytes: no error", format, n, len(full))
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != name {
				t.Fatalf("%s cut at %d: error %v does not name the file", format, n, err)
			}
		}
	}
}

// TestTruncatedFixtureCopies truncates copies of real fixture files in a
// temporary folder (never committed) at a few points.
func TestTruncatedFixtureCopies(t *testing.T) {
	tmp := t.TempDir()
	for _, f := range []string{"pytorch_model.bin", "pytorch_model.zip.bin"} {
		b, err := os.ReadFile(filepath.Join(tinyDir(t), "fac-adapter", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, frac := range []float64{0.001, 0.01, 0.3, 0.9, 0.99999} {
			p := filepath.Join(tmp, f)
			if err := os.WriteFile(p, b[:int(float64(len(b))*frac)], 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatalf("%s cut to %.3f: no error", f, frac)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s cut to %.3f: %v is neither truncated nor corrupt", f, frac, err)
			}
		}
	}
}

func TestLegacyErrors(t *testing.T) {
	good := encode(t, FormatTorchLegacy, small())

	t.Run("wrong magic", func(t *testing.T) {
		b := bytes.Clone(good)
		b[5] ^= 0xff // inside the LONG1 magic number
		_, err := readBytes("m.bin", b)
		wantErr(t, err, ErrFormat, "m.bin", "")
	})
	t.Run("wrong protocol version", func(t *testing.T) {
		b := bytes.Clone(good)
		i := bytes.Index(b, []byte{'M', 0xe9, 0x03})
		b[i+1] = 0xea
		_, err := readBytes("p.bin", b)
		wantErr(t, err, ErrFormat, "p.bin", "")
	})
	t.Run("unknown opcode", func(t *testing.T) {
		b := bytes.Clone(good)
		i := bytes.Index(b, []byte("ctorch._utils"))
		b[i] = 0xff
		_, err := readBytes("o.bin", b)
		wantErr(t, err, ErrCorrupt, "o.bin", "")
	})
	t.Run("corrupt pickle structure", func(t *testing.T) {
		b := bytes.Clone(good)
		i := bytes.Index(b, []byte{'t', 'Q'}) // TUPLE before BINPERSID
		b[i] = 'N'                            // leaves a MARK open and persists None
		_, err := readBytes("c.bin", b)
		wantErr(t, err, ErrCorrupt, "c.bin", "")
	})
	t.Run("storage count mismatch", func(t *testing.T) {
		b := bytes.Clone(good)
		// The first storage's element count follows the key-list pickle.
		i := bytes.LastIndex(b, []byte{'e', '.'}) + 2
		binary.LittleEndian.PutUint64(b[i:], 13)
		_, err := readBytes("n.bin", b)
		wantErr(t, err, ErrCorrupt, "n.bin", "a.weight")
	})
	t.Run("huge storage count", func(t *testing.T) {
		ts := small()
		storages := []torchStorage{{key: "0", dtype: Float32, numel: 1 << 40, raw: nil}}
		var buf bytes.Buffer
		if err := writeTorch(&buf, FormatTorchLegacy, "x", storages, []torchEntry{{name: ts[0].Name, size: []int{3}, stride: []int{1}}}); err != nil {
			t.Fatal(err)
		}
		_, err := readBytes("h.bin", buf.Bytes())
		wantErr(t, err, ErrTruncated, "h.bin", "a.weight")
	})
	t.Run("unknown storage type", func(t *testing.T) {
		storageClassNames["complex64"] = "ComplexFloatStorage"
		defer delete(storageClassNames, "complex64")
		var buf bytes.Buffer
		st := []torchStorage{{key: "0", dtype: "complex64", numel: 1, raw: make([]byte, 8)}}
		if err := writeTorch(&buf, FormatTorchLegacy, "x", st, []torchEntry{{name: "c", size: []int{1}, stride: []int{1}}}); err != nil {
			t.Fatal(err)
		}
		_, err := readBytes("d.bin", buf.Bytes())
		wantErr(t, err, ErrDType, "d.bin", "")
		if !strings.Contains(err.Error(), "ComplexFloatStorage") {
			t.Errorf("error %q does not name the storage type", err)
		}
	})
	t.Run("unsupported class", func(t *testing.T) {
		b := bytes.Replace(good, []byte("_rebuild_tensor_v2"), []byte("os_system_xxxxxxx"), 1)
		_, err := readBytes("u.bin", b)
		wantErr(t, err, ErrCorrupt, "u.bin", "")
	})
	t.Run("tar", func(t *testing.T) {
		b := make([]byte, 1024)
		copy(b[257:], "ustar")
		_, err := readBytes("t.bin", b)
		wantErr(t, err, ErrFormat, "t.bin", "")
	})
}

// viewFile writes one tensor viewing a 4-element storage.
func viewFile(t *testing.T, format Format, e torchEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	st := []torchStorage{{key: "0", dtype: Float32, numel: 4, raw: float32Bytes(f32s(4))}}
	if err := writeTorch(&buf, format, "x", st, []torchEntry{e}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestViewErrors(t *testing.T) {
	for _, format := range []Format{FormatTorchLegacy, FormatTorchZip} {
		for _, e := range []torchEntry{
			{name: "too.long", size: []int{5}, stride: []int{1}},
			{name: "past.end", offset: 3, size: []int{2}, stride: []int{1}},
			{name: "strided.past", size: []int{2, 2}, stride: []int{3, 1}},
			{name: "negative.stride", size: []int{2}, stride: []int{-1}},
			{name: "rank.mismatch", size: []int{2, 2}, stride: []int{1}},
			{name: "huge", size: []int{1 << 30, 1 << 30}, stride: []int{0, 0}},
		} {
			_, err := readBytes("v.bin", viewFile(t, format, e))
			wantErr(t, err, ErrCorrupt, "v.bin", e.name)
		}
		_, err := readBytes("v.bin", viewFile(t, format, torchEntry{name: "too.long", size: []int{5}, stride: []int{1}}))
		if !strings.Contains(err.Error(), "shorter than the view") {
			t.Errorf("%v", err)
		}
	}
}

func TestZipErrors(t *testing.T) {
	build := func(files map[string][]byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range files {
			w, _ := zw.Create(name)
			w.Write(data)
		}
		zw.Close()
		return buf.Bytes()
	}
	pkl := stateDictPickle(false, []torchStorage{{key: "0", dtype: Float32, numel: 4}}, []torchEntry{{name: "w", size: []int{4}, stride: []int{1}}})
	cases := []struct {
		name  string
		files map[string][]byte
		kind  error
		key   string
		msg   string
	}{
		{"no data.pkl", map[string][]byte{"a/other": {1}}, ErrFormat, "", "data.pkl"},
		{"torchscript", map[string][]byte{"a/data.pkl": pkl, "a/constants.pkl": {}}, ErrFormat, "", "TorchScript"},
		{"missing record", map[string][]byte{"a/data.pkl": pkl}, ErrCorrupt, "", "a/data/0"},
		{"short record", map[string][]byte{"a/data.pkl": pkl, "a/data/0": make([]byte, 15)}, ErrTruncated, "", "a/data/0"},
		{"big endian", map[string][]byte{"a/data.pkl": pkl, "a/data/0": make([]byte, 16), "a/byteorder": []byte("big")}, ErrFormat, "", "big"},
		{"two prefixes", map[string][]byte{"a/data.pkl": pkl, "b/data.pkl": pkl}, ErrCorrupt, "", "two data.pkl"},
		{"bad pickle", map[string][]byte{"a/data.pkl": pkl[:len(pkl)-3]}, ErrTruncated, "", "STOP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readBytes("z.bin", build(tc.files))
			wantErr(t, err, tc.kind, "z.bin", tc.key)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	// A valid archive with a deflated (re-zipped) record still loads.
	ok := build(map[string][]byte{"any-name/data.pkl": pkl, "any-name/data/0": float32Bytes(f32s(4))})
	c, err := readBytes("ok.bin", ok)
	if err != nil || !sameBits(c.Tensors["w"].Data, f32s(4)) {
		t.Fatalf("deflated archive: %v", err)
	}
}

func TestSafetensorsErrors(t *testing.T) {
	mk := func(header string, data int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		b = append(b, header...)
		return append(b, make([]byte, data)...)
	}
	cases := []struct {
		name string
		raw  []byte
		kind error
		key  string
	}{
		{"header too long", append(binary.LittleEndian.AppendUint64(nil, 1<<40), '{'), ErrTruncated, ""},
		{"not json", mk(`{"a":`, 8), ErrCorrupt, ""},
		{"unknown dtype", mk(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}`, 2), ErrDType, "a"},
		{"size mismatch", mk(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), ErrCorrupt, "a"},
		{"past end", mk(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), ErrTruncated, "a"},
		{"overlap", mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), ErrCorrupt, "b"},
		{"bad offsets", mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, 8), ErrCorrupt, "a"},
		{"negative shape", mk(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8), ErrCorrupt, "a"},
		{"bad metadata", mk(`{"__metadata__":{"a":1}}`, 0), ErrCorrupt, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readBytes("s.safetensors", tc.raw)
			wantErr(t, err, tc.kind, "s.safetensors", tc.key)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "absent.bin"))
	wantErr(t, err, ErrIO, filepath.Join(dir, "absent.bin"), "")
	_, err = Open(dir)
	wantErr(t, err, ErrFormat, dir, "")
	p := filepath.Join(dir, "empty.bin")
	os.WriteFile(p, nil, 0o644)
	_, err = Open(p)
	wantErr(t, err, ErrTruncated, p, "")
	p = filepath.Join(dir, "text.bin")
	os.WriteFile(p, []byte("hello, this is not a checkpoint"), 0o644)
	_, err = Open(p)
	wantErr(t, err, ErrFormat, p, "")
	if _, err := FindWeights(dir); err == nil {
		t.Error("FindWeights found weights in an empty folder")
	}
	if err := WriteTorch(filepath.Join(dir, "x"), FormatSafetensors, nil); err == nil {
		t.Error("WriteTorch accepted the safetensors format")
	}
	if err := WriteSafetensors(filepath.Join(dir, "x"), []*Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1}}}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("writing a tensor whose data does not fill its shape: %v", err)
	}
}

// adapterFixtureCopy loads the fac-adapter fixture, lets edit change the
// tensors and writes them to a temporary legacy file.
func adapterFixtureCopy(t *testing.T, edit func(c *Checkpoint) []*Tensor) string {
	t.Helper()
	c, err := Open(filepath.Join(tinyDir(t), "fac-adapter", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pytorch_model.bin")
	if err := WriteTorch(p, FormatTorchLegacy, edit(c)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdapterStrictKeys: quirk 10 — a missing, mis-shaped or unknown key in
// an adapter file is an error naming the file and key; only the head keys
// may be present besides adapter.*.
func TestAdapterStrictKeys(t *testing.T) {
	without := func(key string) func(c *Checkpoint) []*Tensor {
		return func(c *Checkpoint) []*Tensor {
			var out []*Tensor
			for _, x := range c.Ordered() {
				if x.Name != key {
					out = append(out, x)
				}
			}
			return out
		}
	}
	reshaped := func(key string, shape ...int) func(c *Checkpoint) []*Tensor {
		return func(c *Checkpoint) []*Tensor {
			var out []*Tensor
			for _, x := range c.Ordered() {
				if x.Name == key {
					n := 1
					for _, d := range shape {
						n *= d
					}
					x = &Tensor{Name: key, Shape: shape, DType: Float32, Data: make([]float32, n)}
				}
				out = append(out, x)
			}
			return out
		}
	}
	with := func(extra *Tensor) func(c *Checkpoint) []*Tensor {
		return func(c *Checkpoint) []*Tensor { return append(c.Ordered(), extra) }
	}
	cases := []struct {
		name string
		edit func(c *Checkpoint) []*Tensor
		kind error
		key  string
	}{
		{"missing up_project bias", without("adapter.1.up_project.bias"), ErrMissingKey, "adapter.1.up_project.bias"},
		{"missing layer norm", without("adapter.2.encoder.layer.1.output.LayerNorm.weight"), ErrMissingKey, "adapter.2.encoder.layer.1.output.LayerNorm.weight"},
		{"missing adapter 0", without("adapter.0.down_project.weight"), ErrMissingKey, "adapter.0.down_project.weight"},
		{"mis-shaped query", reshaped("adapter.0.encoder.layer.0.attention.self.query.weight", 32, 31), ErrShape, "adapter.0.encoder.layer.0.attention.self.query.weight"},
		{"mis-shaped down", reshaped("adapter.1.down_project.weight", 16, 64), ErrShape, "adapter.1.down_project.weight"},
		{"mis-shaped intermediate", reshaped("adapter.2.encoder.layer.1.intermediate.dense.weight", 64, 32), ErrShape, "adapter.2.encoder.layer.1.intermediate.dense.weight"},
		{"mis-shaped head", reshaped("com_dense.weight", 64, 64), ErrShape, "com_dense.weight"},
		{"unknown top-level key", with(&Tensor{Name: "classifier.weight", Shape: []int{1}, DType: Float32, Data: []float32{0}}), ErrUnexpectedKey, "classifier.weight"},
		{"unknown adapter key", with(&Tensor{Name: "adapter.0.extra", Shape: []int{1}, DType: Float32, Data: []float32{0}}), ErrUnexpectedKey, "adapter.0.extra"},
		{"extra adapter layer", with(&Tensor{Name: "adapter.1.encoder.layer.2.output.dense.bias", Shape: []int{32}, DType: Float32, Data: make([]float32, 32)}), ErrUnexpectedKey, "adapter.1.encoder.layer.2"},
		{"unknown head key", with(&Tensor{Name: "dense.extra", Shape: []int{1}, DType: Float32, Data: []float32{0}}), ErrUnexpectedKey, "dense.extra"},
		{"int adapter tensor", func(c *Checkpoint) []*Tensor {
			var out []*Tensor
			for _, x := range c.Ordered() {
				if x.Name == "adapter.0.up_project.bias" {
					x = &Tensor{Name: x.Name, Shape: x.Shape, DType: Int64, Int64: make([]int64, 64)}
				}
				out = append(out, x)
			}
			return out
		}, ErrDType, "adapter.0.up_project.bias"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := adapterFixtureCopy(t, tc.edit)
			_, err := LoadAdapterFile(p, 0)
			wantErr(t, err, tc.kind, p, tc.key)
		})
	}
	// Head keys alone may be dropped: an adapter file without a head loads.
	p := adapterFixtureCopy(t, func(c *Checkpoint) []*Tensor {
		var out []*Tensor
		for _, x := range c.Ordered() {
			if strings.HasPrefix(x.Name, "adapter.") {
				out = append(out, x)
			}
		}
		return out
	})
	af, err := LoadAdapterFile(p, 0)
	if err != nil || af.Head.ComDense != nil || af.Adapters.Shapes.Count != 3 {
		t.Fatalf("head-less adapter file: %v", err)
	}
}

// TestRobertaKeys covers the prefixes, gamma/beta renames, ignored keys and
// errors of ExtractRoberta on synthetic models.
func TestRobertaKeys(t *testing.T) {
	for _, prefix := range []string{"roberta.", "model.", ""} {
		s := newSynth(3)
		s.roberta(prefix, 50, 8, 2, 16)
		s.add("lm_head.bias", 50)
		ts := s.tensorMap()
		if prefix == "" {
			delete(ts, "lm_head.bias")
		}
		ts[prefix+"embeddings.position_ids"] = &Tensor{Name: prefix + "embeddings.position_ids", Shape: []int{1, 514}, DType: Int64, Int64: make([]int64, 514)}
		w, err := ExtractRoberta("syn", ts, "auto")
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		want := RobertaShapes{Vocab: 50, Hidden: 8, Layers: 2, Intermediate: 16, MaxPositions: 514, TypeVocab: 1}
		if w.Prefix != prefix || w.Shapes != want {
			t.Errorf("prefix %q: got %q %+v", prefix, w.Prefix, w.Shapes)
		}
		if err := w.CheckConfig("syn", &RobertaConfig{HiddenSize: 8, NumHiddenLayers: 3}); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "num_hidden_layers") {
			t.Errorf("CheckConfig: %v", err)
		}
	}
	// Old checkpoints: LayerNorm.gamma / beta.
	s := newSynth(4)
	s.roberta("roberta.", 50, 8, 1, 16)
	old := s.oldNameMap()
	w, err := ExtractRoberta("old", old, "auto")
	if err != nil || w.EmbedNorm.Weight != s.tensorMap()["roberta.embeddings.LayerNorm.weight"] {
		t.Fatalf("gamma/beta: %v", err)
	}
	// Errors.
	base := func() map[string]*Tensor {
		s := newSynth(5)
		s.roberta("model.", 50, 8, 2, 16)
		return s.tensorMap()
	}
	ts := base()
	delete(ts, "model.encoder.layer.1.attention.self.key.bias")
	_, err = ExtractRoberta("e", ts, "model.")
	wantErr(t, err, ErrMissingKey, "e", "model.encoder.layer.1.attention.self.key.bias")
	ts = base()
	ts["model.encoder.layer.0.output.dense.weight"] = &Tensor{Name: "x", Shape: []int{8, 15}, DType: Float32, Data: make([]float32, 120)}
	_, err = ExtractRoberta("e", ts, "model.")
	wantErr(t, err, ErrShape, "e", "model.encoder.layer.0.output.dense.weight")
	ts = base()
	ts["model.embeddings.extra"] = &Tensor{Name: "model.embeddings.extra", Shape: []int{1}, DType: Float32, Data: []float32{1}}
	_, err = ExtractRoberta("e", ts, "model.")
	wantErr(t, err, ErrUnexpectedKey, "e", "model.embeddings.extra")
	_, err = ExtractRoberta("e", base(), "roberta.")
	wantErr(t, err, ErrMissingKey, "e", "roberta.embeddings.word_embeddings.weight")
	_, err = ExtractRoberta("e", map[string]*Tensor{}, "auto")
	wantErr(t, err, ErrMissingKey, "e", "embeddings.word_embeddings.weight")
}

// TestTaskKeys covers task-checkpoint errors.
func TestTaskKeys(t *testing.T) {
	base := func() map[string]*Tensor {
		s := newSynth(6)
		s.adapters("fac_adapter.adapter.", 2, 4, 8, 1, 16)
		s.linear("dense", 8, 16)
		s.linear("out_proj", 5, 8)
		return s.tensorMap()
	}
	tw, err := ExtractTask("t", base(), 0)
	if err != nil || tw.Hidden != 8 || tw.Fac.Shapes != (AdapterShapes{Count: 2, Width: 4, Hidden: 8, Layers: 1, Intermediate: 16}) || tw.OutProj.Out() != 5 {
		t.Fatalf("synthetic task: %v %+v", err, tw)
	}
	ts := base()
	ts["lm_head.bias"] = &Tensor{Name: "lm_head.bias", Shape: []int{1}, DType: Float32, Data: []float32{0}}
	_, err = ExtractTask("t", ts, 0)
	wantErr(t, err, ErrUnexpectedKey, "t", "lm_head.bias")
	ts = base()
	delete(ts, "out_proj.bias")
	_, err = ExtractTask("t", ts, 0)
	wantErr(t, err, ErrMissingKey, "t", "out_proj.bias")
	ts = base()
	delete(ts, "out_proj.bias")
	delete(ts, "out_proj.weight")
	_, err = ExtractTask("t", ts, 0)
	wantErr(t, err, ErrMissingKey, "t", "out_proj.weight")
	ts = base()
	ts["dense.weight"] = &Tensor{Name: "dense.weight", Shape: []int{8, 12}, DType: Float32, Data: make([]float32, 96)}
	_, err = ExtractTask("t", ts, 0)
	wantErr(t, err, ErrShape, "t", "dense.weight")
	_, err = ExtractTask("t", base(), 16)
	wantErr(t, err, ErrShape, "t", "fac_adapter.adapter.0.down_project.weight")
	ts = base()
	ts["task_dense.weight"] = &Tensor{Name: "task_dense.weight", Shape: []int{8, 8}, DType: Float32, Data: make([]float32, 64)}
	ts["task_dense.bias"] = &Tensor{Name: "task_dense.bias", Shape: []int{8}, DType: Float32, Data: make([]float32, 8)}
	_, err = ExtractTask("t", ts, 0)
	wantErr(t, err, ErrShape, "t", "task_dense.weight")
}
