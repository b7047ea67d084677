package checkpoint

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// checkInvariants verifies what every successful read promises.
func checkInvariants(t *testing.T, c *Checkpoint, err error) {
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %T %v is not a *checkpoint.Error", err, err)
		}
		return
	}
	if len(c.Keys) != len(c.Tensors) {
		t.Fatalf("%d keys, %d tensors", len(c.Keys), len(c.Tensors))
	}
	for _, k := range c.Keys {
		x := c.Tensors[k]
		if x == nil || x.Name != k {
			t.Fatalf("key %q: tensor %v", k, x)
		}
		n := x.NumElements()
		if x.DType.IsFloat() && len(x.Data) != n || !x.DType.IsFloat() && len(x.Int64) != n {
			t.Fatalf("key %q: shape %v but %d floats / %d ints", k, x.Shape, len(x.Data), len(x.Int64))
		}
	}
}

// fuzzSeeds are small files of one format: plain tensors, views and dtypes.
func fuzzSeeds(f *testing.F, format Format) {
	f.Add(encode(f, format, small()))
	f.Add(encode(f, format, nil))
	if format == FormatSafetensors {
		f.Add(append(append([]byte{16, 0, 0, 0, 0, 0, 0, 0}, `{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`[:16]...), 0, 60))
		return
	}
	var buf bytes.Buffer
	st := []torchStorage{
		{key: "0", dtype: Float32, numel: 6, raw: float32Bytes(f32s(6))},
		{key: "1", dtype: Float16, numel: 2, raw: u16Bytes(0x3C00, 0x0001)},
		{key: "2", dtype: Int64, numel: 1, raw: int64Bytes([]int64{3})},
	}
	entries := []torchEntry{
		{name: "t", storage: 0, size: []int{3, 2}, stride: []int{1, 3}},
		{name: "r", storage: 0, offset: 2, size: []int{2}, stride: []int{1}},
		{name: "h", storage: 1, size: []int{2}, stride: []int{1}},
		{name: "i", storage: 2, size: []int{}, stride: []int{}},
	}
	if format == FormatTorchLegacy {
		entries = append(entries, torchEntry{name: "v", storage: 0, offset: 1, size: []int{2}, stride: []int{2}, view: []int{1, 4}})
	}
	if err := writeTorch(&buf, format, "archive", st, entries); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
}

func fuzzFormat(f *testing.F, format Format) {
	fuzzSeeds(f, format)
	if os.Getenv("KADAPTER_FUZZ_PANICS") == "1" {
		catchPanics = false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := readAs("fuzz", bytes.NewReader(data), int64(len(data)), format)
		checkInvariants(t, c, err)
		c, err = Read("fuzz", bytes.NewReader(data), int64(len(data)))
		checkInvariants(t, c, err)
	})
}

// FuzzLegacy feeds mutated torch legacy files to the legacy reader.
func FuzzLegacy(f *testing.F) { fuzzFormat(f, FormatTorchLegacy) }

// FuzzZip feeds mutated torch zip files to the zip reader. Mutations of a
// whole archive mostly break its checksums; FuzzZipPickle reaches the
// pickle machinery instead.
func FuzzZip(f *testing.F) { fuzzFormat(f, FormatTorchZip) }

// FuzzZipPickle builds a valid zip around a mutated data.pkl and storage
// records "0" and "1", so that the mutations reach the pickle machinery.
func FuzzZipPickle(f *testing.F) {
	pkl := stateDictPickle(false, []torchStorage{{key: "0", dtype: Float32, numel: 4}, {key: "1", dtype: Float16, numel: 2}},
		[]torchEntry{{name: "w", size: []int{2, 2}, stride: []int{1, 2}}, {name: "h", storage: 1, size: []int{2}, stride: []int{1}}})
	f.Add(pkl, float32Bytes(f32s(4)), u16Bytes(1, 2))
	f.Add(stateDictPickle(false, nil, nil), []byte{}, []byte{})
	if os.Getenv("KADAPTER_FUZZ_PANICS") == "1" {
		catchPanics = false
	}
	f.Fuzz(func(t *testing.T, pkl, s0, s1 []byte) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range map[string][]byte{"a/data.pkl": pkl, "a/data/0": s0, "a/data/1": s1} {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		c, err := readAs("fuzz", bytes.NewReader(buf.Bytes()), int64(buf.Len()), FormatTorchZip)
		checkInvariants(t, c, err)
	})
}

// FuzzSafetensors feeds mutated safetensors files to the safetensors reader.
func FuzzSafetensors(f *testing.F) { fuzzFormat(f, FormatSafetensors) }

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
