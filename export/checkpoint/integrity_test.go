package checkpoint

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// zipRecordOffset returns the offset of the first data byte of record name
// in the zip archive b.
func zipRecordOffset(t *testing.T, b []byte, name string) int64 {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			return off
		}
	}
	t.Fatalf("no record %s", name)
	return 0
}

// TestZipCRC flips one byte inside records of a copy of the kadapter-tiny
// RoBERTa zip checkpoint: every record the reader uses is checked against
// its CRC-32, and the error names the file, the record and the key.
func TestZipCRC(t *testing.T) {
	src := filepath.Join(tinyDir(t), "roberta", "pytorch_model.zip.bin")
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read("good.bin", bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("unmodified fixture: %v", err)
	}
	cases := []struct {
		name   string
		record string
		at     int64 // offset inside the record
		kind   error
		key    string
		msg    []string
	}{
		{"first storage", "pytorch_model.zip/data/0", 100, ErrCorrupt, "roberta.embeddings.word_embeddings.weight", []string{"pytorch_model.zip/data/0", "CRC-32"}},
		{"storage last byte", "pytorch_model.zip/data/0", 256000 - 1, ErrCorrupt, "roberta.embeddings.word_embeddings.weight", []string{"pytorch_model.zip/data/0", "CRC-32"}},
		{"small storage", "pytorch_model.zip/data/10", 3, ErrCorrupt, "", []string{"pytorch_model.zip/data/10", "CRC-32"}},
		{"pickle", "pytorch_model.zip/data.pkl", 200, ErrCorrupt, "", []string{"pytorch_model.zip/data.pkl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			b[zipRecordOffset(t, b, tc.record)+tc.at] ^= 0x40
			p := filepath.Join(t.TempDir(), "pytorch_model.zip.bin")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p)
			wantErr(t, err, tc.kind, p, tc.key)
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// TestZipRecordChecks: synthetic archives whose records disagree with their
// CRC-32 or with the size their storage needs are rejected, naming the record.
func TestZipRecordChecks(t *testing.T) {
	pkl := stateDictPickle(false, []torchStorage{{key: "0", dtype: Float32, numel: 4}}, []torchEntry{{name: "w", size: []int{4}, stride: []int{1}}})
	build := func(method uint16, data []byte, crc func(uint32) uint32) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "a/data.pkl", Method: zip.Store})
		w.Write(pkl)
		w, _ = zw.CreateHeader(&zip.FileHeader{Name: "a/data/0", Method: method})
		w.Write(data)
		zw.Close()
		b := buf.Bytes()
		if crc != nil { // rewrite the CRC-32 in the central directory
			zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			f := zr.File[1]
			want := crc(f.CRC32)
			i := bytes.LastIndex(b, []byte("PK\x01\x02"))
			putLE32(b[i+16:], want)
		}
		return b
	}
	vals := float32Bytes(f32s(4))
	cases := []struct {
		name string
		b    []byte
		kind error
		msg  string
	}{
		{"stored, bad CRC", build(zip.Store, vals, func(c uint32) uint32 { return c ^ 1 }), ErrCorrupt, "CRC-32"},
		{"deflated, bad CRC", build(zip.Deflate, vals, func(c uint32) uint32 { return c ^ 1 }), ErrCorrupt, "CRC-32"},
		{"stored, CRC zeroed", build(zip.Store, vals, func(uint32) uint32 { return 0 }), ErrCorrupt, "CRC-32"},
		{"record longer than storage", build(zip.Store, append(bytes.Clone(vals), 0, 0, 0, 0), nil), ErrCorrupt, "holds 20 bytes"},
		{"record shorter than storage", build(zip.Store, vals[:12], nil), ErrTruncated, "holds 12 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readBytes("z.bin", tc.b)
			wantErr(t, err, tc.kind, "z.bin", "w")
			for _, m := range []string{"a/data/0", tc.msg} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		if _, err := readBytes("ok.bin", build(method, vals, nil)); err != nil {
			t.Errorf("method %d, intact archive: %v", method, err)
		}
	}
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// TestLegacyTrailingData: bytes after the last storage of a legacy file
// (which torch never writes) are rejected, naming the file and the offset.
func TestLegacyTrailingData(t *testing.T) {
	fixture := filepath.Join(tinyDir(t), "roberta", "pytorch_model.bin")
	real, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		b     []byte
		extra int
	}{
		{"synthetic, 1 byte", encode(t, FormatTorchLegacy, small()), 1},
		{"synthetic, 70 bytes", encode(t, FormatTorchLegacy, small()), 70},
		{"fixture, 70 bytes", real, 70},
		{"fixture, 8 zero bytes", real, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readBytes("l.bin", tc.b); err != nil {
				t.Fatalf("intact file: %v", err)
			}
			b := append(bytes.Clone(tc.b), make([]byte, tc.extra)...)
			_, err := readBytes("l.bin", b)
			wantErr(t, err, ErrCorrupt, "l.bin", "")
			want := []string{"trailing", strconv.Itoa(tc.extra) + " bytes", "offset " + strconv.Itoa(len(tc.b))}
			for _, m := range want {
				if err != nil && !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}
