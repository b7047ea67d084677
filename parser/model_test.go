package parser

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kadapter/kadapter/parser/conllu"
)

// toyTreebank generates sentences of a small grammar:
// DET ADJ* NOUN VERB DET NOUN (ADP DET NOUN) PUNCT, heads as UD would.
func toyTreebank(rng *rand.Rand, n int) []*conllu.Sentence {
	dets := []string{"the", "a", "this", "every"}
	adjs := []string{"big", "red", "old", "happy"}
	nouns := []string{"dog", "cat", "house", "car", "idea", "man", "park"}
	verbs := []string{"sees", "likes", "builds", "finds"}
	preps := []string{"in", "near", "with"}
	var out []*conllu.Sentence
	for i := 0; i < n; i++ {
		s := &conllu.Sentence{Comments: []string{fmt.Sprintf("# sent_id = toy-%d", i)}}
		add := func(form, upos string, head int, rel string) int {
			id := len(s.Words) + 1
			s.Words = append(s.Words, conllu.Word{ID: id, Form: form, Lemma: "_", UPOS: upos, XPOS: "_", Feats: "_", Head: head, Deprel: rel, Deps: "_", Misc: "_"})
			return id
		}
		// subject NP: heads fixed up after the verb is placed
		np := func() (first, noun int) {
			first = add(dets[rng.Intn(len(dets))], "DET", -2, "det")
			var adj []int
			for k := rng.Intn(3); k > 0; k-- {
				adj = append(adj, add(adjs[rng.Intn(len(adjs))], "ADJ", -2, "amod"))
			}
			noun = add(nouns[rng.Intn(len(nouns))], "NOUN", -2, "_")
			s.Words[first-1].Head = noun
			for _, a := range adj {
				s.Words[a-1].Head = noun
			}
			return first, noun
		}
		_, subj := np()
		verb := add(verbs[rng.Intn(len(verbs))], "VERB", 0, "root")
		s.Words[subj-1].Head, s.Words[subj-1].Deprel = verb, "nsubj"
		_, obj := np()
		s.Words[obj-1].Head, s.Words[obj-1].Deprel = verb, "obj"
		if rng.Intn(2) == 0 {
			p := add(preps[rng.Intn(len(preps))], "ADP", -2, "case")
			_, pn := np()
			s.Words[p-1].Head = pn
			if rng.Intn(2) == 0 {
				s.Words[pn-1].Head, s.Words[pn-1].Deprel = verb, "obl"
			} else {
				s.Words[pn-1].Head, s.Words[pn-1].Deprel = obj, "nmod"
			}
		}
		add(".", "PUNCT", verb, "punct")
		if err := s.Validate(); err != nil {
			panic(err)
		}
		out = append(out, s)
	}
	return out
}

func trainToy(t testing.TB) (*Model, []*conllu.Sentence) {
	t.Helper()
	rng := rand.New(rand.NewSource(7))
	train, dev := toyTreebank(rng, 400), toyTreebank(rng, 100)
	m, err := Train(context.Background(), train, dev, TrainOptions{Epochs: 4, TaggerEpochs: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m, dev
}

func TestToyTrainSaveLoad(t *testing.T) {
	m, dev := trainToy(t)
	sc := Evaluate(m, dev, 2)
	if sc.UAS < 90 || sc.LAS < 85 || sc.UPOS < 95 {
		t.Errorf("toy grammar scores too low: %+v", sc)
	}
	path := filepath.Join(t.TempDir(), "toy.model")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Info, m2.Info) || !reflect.DeepEqual(m.Tags(), m2.Tags()) || !reflect.DeepEqual(m.Labels(), m2.Labels()) {
		t.Errorf("info/tags/labels differ after load")
	}
	for _, s := range dev {
		u1, h1, r1 := m.Parse(s.Forms())
		u2, h2, r2 := m2.Parse(s.Forms())
		if !reflect.DeepEqual(u1, u2) || !reflect.DeepEqual(h1, h2) || !reflect.DeepEqual(r1, r2) {
			t.Fatalf("parse differs after load: %v %v %v vs %v %v %v", u1, h1, r1, u2, h2, r2)
		}
	}
	// same data + seed = same model file
	m3, _ := trainToy(t)
	var b1, b2 bytes.Buffer
	if err := m.write(&b1); err != nil {
		t.Fatal(err)
	}
	m3.Info.TrainSeconds = m.Info.TrainSeconds
	if err := m3.write(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("training is not deterministic: model bytes differ")
	}
}

func TestLoadRejects(t *testing.T) {
	m, _ := trainToy(t)
	var buf bytes.Buffer
	if err := m.write(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "too short"},
		{"bad magic", append([]byte("NOTMODEL"), good[8:]...), "bad magic"},
		{"version", append(append([]byte(Magic), 99, 0, 0, 0), good[12:]...), "version 99"},
		{"truncated", good[:len(good)/2], "corrupt model"},
		{"garbage body", append(append([]byte{}, good[:12]...), bytes.Repeat([]byte{7}, 100)...), ""},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.data, 0o644)
		_, err := Load(p)
		if err == nil {
			t.Errorf("%s: Load accepted it", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q should name the file and say %q", tc.name, err, tc.msg)
		}
	}
}

func TestParseConcurrentAndEdgeCases(t *testing.T) {
	m, dev := trainToy(t)
	if u, h, r := m.Parse(nil); len(u) != 0 || len(h) != 0 || len(r) != 0 {
		t.Error("empty sentence")
	}
	u, h, r := m.Parse([]string{"Hello"})
	if len(u) != 1 || h[0] != 0 || r[0] != "root" {
		t.Errorf("one word: %v %v %v", u, h, r)
	}
	// unseen words, long sentence: still a tree with one root
	words := strings.Fields(strings.Repeat("zork blub the 42 ... ", 40))
	_, h, r = m.Parse(words)
	checkTree(t, h, r)
	want := make([][]int, len(dev))
	for i, s := range dev {
		_, want[i], _ = m.Parse(s.Forms())
		checkTree(t, want[i], nil)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, s := range dev {
				if _, h, _ := m.Parse(s.Forms()); !reflect.DeepEqual(h, want[i]) {
					t.Errorf("concurrent parse differs")
					return
				}
			}
		}()
	}
	wg.Wait()
	s := dev[0].Clone()
	m.ParseSentence(s)
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func checkTree(t *testing.T, heads []int, rels []string) {
	t.Helper()
	n := len(heads)
	h := append([]int{0}, heads...)
	roots := 0
	for d := 1; d <= n; d++ {
		if h[d] < 0 || h[d] > n || h[d] == d {
			t.Fatalf("bad head %d of %d", h[d], d)
		}
		if h[d] == 0 {
			roots++
			if rels != nil && rels[d-1] != "root" {
				t.Fatalf("root word labelled %q", rels[d-1])
			}
		}
		if !dominates(h, 0, d) {
			t.Fatalf("word %d not connected to the root: %v", d, heads)
		}
	}
	if n > 0 && roots != 1 {
		t.Fatalf("%d roots: %v", roots, heads)
	}
	if !IsProjective(h) {
		t.Fatalf("non-projective output %v", heads)
	}
}

// FuzzRead feeds corrupted model files to Read: it must fail cleanly (or
// load a model that parses without panicking), never panic.
func FuzzRead(f *testing.F) {
	m, _ := trainToy(f)
	var buf bytes.Buffer
	if err := m.write(&buf); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add([]byte(Magic + "\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		m.Parse([]string{"the", "dog", "sees", "a", "cat", "."})
	})
}
