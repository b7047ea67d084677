package trexrc

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

var shardExamples = []trex.Example{
	{DocID: "Q1", Tokens: []string{"Paris", "is", "in", "France", "."}, Relation: "P17", SubjStart: 0, SubjEnd: 0, ObjStart: 3, ObjEnd: 3, SubjLabel: "Q90", ObjLabel: "Q142"},
	{DocID: "Q2", Tokens: []string{"Zürich", "😀", "\"q\"", ""}, Relation: "P131", SubjStart: 0, SubjEnd: 1, ObjStart: 2, ObjEnd: 3, SubjLabel: "Q72", ObjLabel: ""},
	{DocID: "", Tokens: nil, Relation: "P31", SubjStart: 1 << 40, SubjEnd: -1, ObjStart: 300, ObjEnd: 127, SubjLabel: "a", ObjLabel: "b"},
	{DocID: strings.Repeat("x", 3<<20), Tokens: []string{strings.Repeat("y", 200)}, Relation: "P17", ObjLabel: "big"}, // larger than the read buffer
}

// Records written by shardWriter read back unchanged, with their keys.
func TestShardRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a"+shardExt)
	w, err := newShardWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range shardExamples {
		if err := w.add(&shardExamples[i], i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	r, err := openShard(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	keys, err := os.ReadFile(keysPath(path))
	if err != nil || len(keys) != 12*len(shardExamples) {
		t.Fatalf("key file: %d bytes, %v", len(keys), err)
	}
	var rec shardRecord
	for i, want := range shardExamples {
		body, err := r.next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := rec.decode(body); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got := trex.Example{DocID: string(rec.docID), Relation: want.Relation, SubjLabel: string(rec.subjL), ObjLabel: string(rec.objL),
			SubjStart: rec.ints[0], SubjEnd: rec.ints[1], ObjStart: rec.ints[2], ObjEnd: rec.ints[3]}
		for _, tk := range rec.tokens {
			got.Tokens = append(got.Tokens, string(tk))
		}
		if len(want.Tokens) == 0 {
			want.Tokens = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: got %+v, want %+v", i, got, want)
		}
		if h := hashExample(&want); h != leUint64(keys[12*i:]) || leUint32(keys[12*i+8:]) != uint32(i) {
			t.Fatalf("record %d: key %x/%d, want %x/%d", i, leUint64(keys[12*i:]), leUint32(keys[12*i+8:]), h, i)
		}
	}
	if _, err := r.next(); err == nil {
		t.Fatal("no end after the last record")
	}
}

func leUint64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func leUint32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// A damaged shard (truncated, wrong header, garbage record, key file of
// another length) is an error naming the file, never wrong output.
func TestCorruptShard(t *testing.T) {
	srcs := sources(t, filepath.Join("..", "..", "testdata", "trex"))
	_, out := run(t, srcs, func(o *Options) { o.MinPerRelation = 1; o.Drop = nil })
	shards, _ := filepath.Glob(filepath.Join(out, ShardDir, "*"+shardExt))
	if len(shards) == 0 {
		t.Fatal("no shards")
	}
	var shard string
	for _, s := range shards {
		if fi, _ := os.Stat(s); fi.Size() > 100 {
			shard = s
		}
	}
	orig, _ := os.ReadFile(shard)
	origKeys, _ := os.ReadFile(keysPath(shard))
	for _, c := range []struct {
		name       string
		data, keys []byte
		want       string
	}{
		{"truncated", orig[:len(orig)-3], origKeys, "truncated record"},
		{"header", append([]byte("XXXXXXXX"), orig[8:]...), origKeys, "not a kprep trex shard"},
		{"garbage", append(append([]byte{}, orig[:8]...), 3, 0xff, 0xff, 0xff), origKeys, "corrupt record"},
		{"fewer keys", orig, origKeys[:len(origKeys)-12], "fewer keys than records"},
		{"more keys", orig, append(append([]byte{}, origKeys...), origKeys[:12]...), "more keys than records"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(shard, c.data, 0o644)
			os.WriteFile(keysPath(shard), c.keys, 0o644)
			o := DefaultOptions(out)
			o.Resume, o.MinPerRelation, o.Drop = true, 1, nil
			_, err := Run(context.Background(), srcs, &o)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(shard)) {
				t.Fatalf("error %v, want %q naming %s", err, c.want, filepath.Base(shard))
			}
		})
	}
}

// The record batches assembled from flat buffers are byte-identical to
// those of the Arrow builders (pipeline.AppendRow), with and without zstd,
// for several batch sizes and with rotation.
func TestExampleBatchEqualsBuilders(t *testing.T) {
	dir := t.TempDir()
	for _, opt := range []pipeline.ArrowOptions{{}, {BatchRows: 1}, {BatchRows: 3, Zstd: true}, {BatchRows: 2, MaxFileBytes: 1}} {
		viaBuilder, viaBatch := filepath.Join(dir, "b.arrow"), filepath.Join(dir, "f.arrow")
		sb, err := pipeline.NewArrowSink(viaBuilder, SplitSchema, opt)
		if err != nil {
			t.Fatal(err)
		}
		sf, _ := pipeline.NewArrowSink(viaBatch, SplitSchema, opt)
		batch := newExampleBatch(sf.Schema(), sf.BatchRows())
		var rec shardRecord
		for i := range shardExamples {
			ex := &shardExamples[i]
			if err := pipeline.AppendRow(sb.Builder(), ex.DocID, ex.Tokens, ex.Relation, ex.SubjStart, ex.SubjEnd, ex.ObjStart, ex.ObjEnd, ex.SubjLabel, ex.ObjLabel, int64(i-1)); err != nil {
				t.Fatal(err)
			}
			if err := sb.RowDone(); err != nil {
				t.Fatal(err)
			}
			b := appendShardRecord(nil, ex)
			n, k := binary.Uvarint(b)
			if k <= 0 || int(n) != len(b)-k || uvarintLen(n) != k {
				t.Fatalf("record prefix %d (%d bytes) for %d bytes", n, k, len(b))
			}
			if err := rec.decode(b[k:]); err != nil {
				t.Fatal(err)
			}
			if batch.add(&rec, ex.Relation, int64(i-1)) {
				r := batch.record()
				if err := sf.WriteRecordBatch(r); err != nil {
					t.Fatal(err)
				}
				r.Release()
				batch.reset()
			}
		}
		if batch.n > 0 {
			r := batch.record()
			if err := sf.WriteRecordBatch(r); err != nil {
				t.Fatal(err)
			}
			r.Release()
		}
		pb, err := sb.Close()
		if err != nil {
			t.Fatal(err)
		}
		pf, err := sf.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(pb) != len(pf) || sb.Rows() != sf.Rows() {
			t.Fatalf("%+v: %d files/%d rows via builders, %d/%d via batches", opt, len(pb), sb.Rows(), len(pf), sf.Rows())
		}
		for i := range pb {
			x, _ := os.ReadFile(pb[i])
			y, _ := os.ReadFile(pf[i])
			if !bytes.Equal(x, y) {
				t.Fatalf("%+v: %s and %s differ", opt, pb[i], pf[i])
			}
			os.Remove(pb[i])
			os.Remove(pf[i])
		}
	}
}

// Decoding arbitrary bytes as a shard record never panics, and a record
// that decodes re-encodes to the same bytes.
func FuzzShardRecord(f *testing.F) {
	for i := range shardExamples[:3] {
		b := appendShardRecord(nil, &shardExamples[i])
		_, k := binary.Uvarint(b)
		f.Add(b[k:])
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		var rec shardRecord
		if rec.decode(body) != nil {
			return
		}
		ex := trex.Example{DocID: string(rec.docID), SubjLabel: string(rec.subjL), ObjLabel: string(rec.objL),
			SubjStart: rec.ints[0], SubjEnd: rec.ints[1], ObjStart: rec.ints[2], ObjEnd: rec.ints[3]}
		for _, tk := range rec.tokens {
			ex.Tokens = append(ex.Tokens, string(tk))
		}
		b := appendShardRecord(nil, &ex)
		_, k := binary.Uvarint(b)
		if !bytes.Equal(b[k:], body) {
			// Over-long varints decode but re-encode shorter; only
			// canonical bodies must round-trip.
			var again shardRecord
			if again.decode(b[k:]) != nil {
				t.Fatalf("re-encoded record does not decode: %x", b[k:])
			}
		}
	})
}
