// Command gen writes synthetic T-REx input (re-nlg_*.json files: one JSON
// array of documents per file, on one line, as the dump) for benchmarks:
// realistic documents of about 7 KB (text, entities, words, sentences,
// triples with the dump's extra keys), offsets in Unicode code points,
// non-ASCII text written as \uXXXX escapes as in the dump, and null and
// misaligned boundaries at rates close to the real data. Same flags, same
// bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kadapter/kadapter/cleaners/trex"
)

var words = strings.Fields(`the of and in a to was is for on as by with from at his that an which
first were are also one its after he has had this it their who two new been born other city
world second between during state district under years national university family football
village known played since river county season league album population film member team
American French German English Spanish Italian British Canadian Japanese Russian Polish
Zaïdi Bethoncourt département Doubs Andorra Catalan Principat São Paulo Kraków Łódź Zürich
Malmö Köln München Besançon Córdoba Málaga Ñuñoa Reykjavík Þingvellir Ærø Øresund ænˈdɔːrə
Москва Санкт-Петербург Київ Αθήνα Θεσσαλονίκη 東京 日本 北京 中国 서울 대한민국 القاهرة
Sheffield Manchester Liverpool Dublin Toronto Montréal Québec Lisboa Porto Genève Tromsø
Nora Mebrak Obama Honolulu Hawaii Parliament European Union Pyrenees Vella Lancet —`)

var props = func() []string {
	// A skewed relation distribution: a few frequent properties, a long tail.
	base := []string{"P17", "P131", "P31", "P47", "P150", "P27", "P19", "P20", "P106", "P569",
		"P570", "P530", "P36", "P1376", "P361", "P527", "P279", "P495", "P407", "P364",
		"P57", "P161", "P175", "P264", "P136", "P54", "P413", "P641", "P1344", "P69",
		"P108", "P463", "P102", "P39", "P26", "P40", "P22", "P25", "P3373", "P737",
		"P9999", "P8888"}
	var out []string
	for i, p := range base {
		for k := 0; k < 1+40/(i+1); k++ {
			out = append(out, p)
		}
	}
	return out
}()

type span struct{ start, end int } // code points, [start, end)

func main() {
	out := flag.String("out", "", "output folder (created)")
	mb := flag.Float64("mb", 64, "total size to write, in MB (10^6 bytes)")
	files := flag.Int("files", 4, "number of re-nlg_*.json files")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen --out DIR [--mb 64] [--files 4] [--seed 1]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(*seed, 0x7e3))
	per := int64(*mb * 1e6 / float64(*files))
	docid := 100000
	var total, docs int64
	for f := 0; f < *files; f++ {
		path := filepath.Join(*out, fmt.Sprintf("re-nlg_%d-%d.json", f*10000, (f+1)*10000))
		fh, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		w := bufio.NewWriterSize(fh, 1<<20)
		var n int64
		w.WriteByte('[')
		n++
		var b []byte
		first := true
		for n < per {
			b = genDoc(b[:0], r, docid)
			docid++
			docs++
			if !first {
				w.WriteString(", ")
				n += 2
			}
			first = false
			w.Write(b)
			n += int64(len(b))
		}
		w.WriteByte(']')
		n++
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fh.Close()
		total += n
	}
	fmt.Printf("wrote %d documents, %d bytes in %d files to %s\n", docs, total, *files, *out)
}

func genDoc(b []byte, r *rand.Rand, id int) []byte {
	// Text: sentences of words separated by spaces, ending with " .".
	var text []string
	var wordsB []span
	var sents []span
	pos := 0
	nsent := 3 + r.IntN(8)
	for s := 0; s < nsent; s++ {
		start := pos
		nw := 8 + r.IntN(18)
		for i := 0; i < nw; i++ {
			w := words[r.IntN(len(words))]
			if i == 0 {
				rs := []rune(w)
				w = strings.ToUpper(string(rs[:1])) + string(rs[1:])
			}
			l := len([]rune(w))
			text = append(text, w)
			wordsB = append(wordsB, span{pos, pos + l})
			pos += l + 1
		}
		text = append(text, ".")
		wordsB = append(wordsB, span{pos, pos + 1})
		pos += 2
		sents = append(sents, span{start, pos - 1})
	}
	// A straddling word entry now and then (quirk 29), as in the dump.
	if r.IntN(20) == 0 && len(wordsB) > 4 {
		k := 1 + r.IntN(len(wordsB)-2)
		wordsB = append(wordsB, span{wordsB[k].start, wordsB[k+1].end})
	}
	txt := strings.Join(text, " ")
	uri := func(q int) string { return "http://www.wikidata.org/entity/Q" + strconv.Itoa(q) }
	surface := func(sp span) string { return string([]rune(txt)[sp.start:sp.end]) }
	// Entities: spans of 1-3 consecutive words inside a sentence.
	var ents []span
	for si, s := range sents {
		_ = si
		var in []int
		for i, w := range wordsB[:len(wordsB)] {
			if w.start >= s.start && w.end <= s.end {
				in = append(in, i)
			}
		}
		for k := 0; k < 2+r.IntN(3) && len(in) > 3; k++ {
			a := r.IntN(len(in) - 3)
			l := r.IntN(3)
			ents = append(ents, span{wordsB[in[a]].start, wordsB[in[a+l]].end})
		}
	}
	b = append(b, `{"docid": `...)
	b = trex.AppendPyString(b, uri(id))
	b = append(b, `, "title": `...)
	b = trex.AppendPyString(b, text[0]+" "+text[1])
	b = append(b, `, "text": `...)
	b = trex.AppendPyString(b, txt)
	b = append(b, `, "uri": `...)
	b = trex.AppendPyString(b, uri(id))
	b = append(b, `, "entities": [`...)
	for i, e := range ents {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, `{"boundaries": [%d, %d], "surfaceform": `, e.start, e.end)
		b = trex.AppendPyString(b, surface(e))
		b = append(b, `, "uri": `...)
		b = trex.AppendPyString(b, uri(1000+r.IntN(5000000)))
		b = append(b, `, "annotator": "Wikidata_Spotlight_Entity_Linker"}`...)
	}
	b = append(b, `], "words_boundaries": [`...)
	for i, w := range wordsB {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "[%d, %d]", w.start, w.end)
	}
	b = append(b, `], "triples": [`...)
	ntri := 1 + r.IntN(6)
	for t := 0; t < ntri && len(ents) > 1; t++ {
		if t > 0 {
			b = append(b, ", "...)
		}
		si := r.IntN(len(sents))
		var local []span
		for _, e := range ents {
			if e.start >= sents[si].start && e.end <= sents[si].end {
				local = append(local, e)
			}
		}
		if len(local) < 2 {
			local = ents[:2]
		}
		sub, obj := local[r.IntN(len(local))], local[r.IntN(len(local))]
		ann := "Simple-Aligner"
		subB := fmt.Sprintf("[%d, %d]", sub.start, sub.end)
		switch x := r.IntN(100); {
		case x < 12: // NoSubject aligner: subject boundaries null
			subB, ann = "null", "NoSubject-Triple-aligner"
		case x < 15: // misaligned: ends mid-word
			subB = fmt.Sprintf("[%d, %d]", sub.start, sub.end-1)
		}
		b = fmt.Appendf(b, `{"sentence_id": %d, "predicate": {"boundaries": null, "surfaceform": null, "uri": "http://www.wikidata.org/prop/direct/%s", "annotator": "%s"}, `, si, props[r.IntN(len(props))], ann)
		b = fmt.Appendf(b, `"object": {"boundaries": [%d, %d], "surfaceform": `, obj.start, obj.end)
		b = trex.AppendPyString(b, surface(obj))
		b = append(b, `, "uri": `...)
		b = trex.AppendPyString(b, uri(1000+r.IntN(5000000)))
		b = append(b, `, "annotator": "Wikidata_Spotlight_Entity_Linker"}, "dependency_path": null, "confidence": null, "subject": {"boundaries": `...)
		b = append(b, subB...)
		b = append(b, `, "surfaceform": `...)
		b = trex.AppendPyString(b, surface(sub))
		b = append(b, `, "uri": `...)
		b = trex.AppendPyString(b, uri(1000+r.IntN(5000000)))
		b = fmt.Appendf(b, `, "annotator": "Wikidata_Spotlight_Entity_Linker"}, "annotator": "%s"}`, ann)
	}
	b = append(b, `], "sentences_boundaries": [`...)
	for i, s := range sents {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "[%d, %d]", s.start, s.end)
	}
	return append(b, "]}"...)
}
