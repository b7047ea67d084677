// Command tokenizer-bench measures single-thread encoding speed of the
// kadapter tokenizer and of Hugging Face's Rust tokenizer (through its Node
// binding) on the same English prose, in one run, and the memory one
// tokenizer holds.
//
//	go run ./bench/tokenizer -vocab ../shared/data/roberta -books ../shared/data/books -hf "$KADAPTER_HF_TOKENIZER"
//
// bench/tokenizer/run.sh sets these up. Without -hf only our figures are
// printed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kadapter/kadapter/tokenizer"
)

func main() {
	vocab := flag.String("vocab", "../shared/data/roberta", "tokenizer folder (tokenizer.json + vocab.json/merges.txt)")
	books := flag.String("books", "../shared/data/books", "folder of plain-text books (English prose)")
	hf := flag.String("hf", os.Getenv("KADAPTER_HF_TOKENIZER"), "Hugging Face oracle folder (scripts/install-hf-tokenizer.sh); empty = skip HF")
	passes := flag.Int("passes", 5, "timed passes over the texts (the best is reported)")
	maxTexts := flag.Int("max-texts", 0, "use at most this many paragraphs (0 = all)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of our encoding passes here")
	flag.Parse()
	runtime.GOMAXPROCS(1) // single-thread figures

	texts, bytesIn, err := readParagraphs(*books, *maxTexts)
	if err != nil {
		fail(err)
	}
	fmt.Printf("texts: %d paragraphs of English prose from %s (%.2f MB)\n", len(texts), *books, float64(bytesIn)/1e6)

	runtime.GC()
	var m0, m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	tok, err := tokenizer.Load(*vocab)
	if err != nil {
		fail(err)
	}
	loadTime := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)

	if *cpuprofile != "" {
		stop := startProfile(*cpuprofile)
		defer stop()
	}
	nTok := 0
	var first time.Duration
	encodeTimes := make([]time.Duration, 0, *passes)
	encodeCPU := make([]time.Duration, 0, *passes)
	for p := 0; p < *passes; p++ {
		c0 := cpuTime()
		start := time.Now()
		n := 0
		for _, s := range texts {
			n += tok.Encode(s, nil).Len()
		}
		d := time.Since(start)
		encodeCPU = append(encodeCPU, cpuTime()-c0)
		if p == 0 {
			first = d
		}
		encodeTimes = append(encodeTimes, d)
		nTok = n
	}
	idTimes := make([]time.Duration, 0, *passes)
	var buf []int
	for p := 0; p < *passes; p++ {
		start := time.Now()
		for _, s := range texts {
			buf = tok.AppendIDs(buf[:0], s, false)
		}
		idTimes = append(idTimes, time.Since(start))
	}
	legacyTimes := make([]time.Duration, 0, *passes)
	for p := 0; p < *passes; p++ {
		start := time.Now()
		for _, s := range texts {
			tok.LegacyTokenize(s)
		}
		legacyTimes = append(legacyTimes, time.Since(start))
	}
	runtime.GC()
	runtime.ReadMemStats(&m2)
	runtime.KeepAlive(tok)

	best := func(ds []time.Duration) time.Duration {
		c := append([]time.Duration(nil), ds...)
		sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
		return c[0]
	}
	rate := func(d time.Duration) float64 { return float64(nTok) / d.Seconds() }
	ours := rate(best(encodeTimes))
	fmt.Printf("tokens per pass: %d (with <s> and </s>)\n", nTok)
	fmt.Printf("ours  Encode (ids+offsets+words), 1 thread:  %8.2f M tokens/s (best of %d; first, cold cache: %.2f M/s)\n",
		ours/1e6, *passes, rate(first)/1e6)
	fmt.Printf("ours  Encode per CPU second (process CPU time, GC included): %.2f M tokens/s\n", rate(best(encodeCPU))/1e6)
	fmt.Printf("ours  AppendIDs (ids only), 1 thread:         %8.2f M tokens/s\n", rate(best(idTimes))/1e6)
	fmt.Printf("ours  LegacyTokenize (strings), 1 thread:     %8.2f M tokens/s (approx.: same token count)\n", rate(best(legacyTimes))/1e6)
	fmt.Printf("ours  memory: load %.0f ms; heap held by one tokenizer %.1f MB after load, %.1f MB with a full word cache (Go heap, after GC)\n",
		float64(loadTime.Microseconds())/1e3, float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/1048576,
		float64(int64(m2.HeapAlloc)-int64(m0.HeapAlloc))/1048576)

	if *hf == "" {
		fmt.Println("hf    skipped (set -hf or KADAPTER_HF_TOKENIZER to compare with Hugging Face)")
		return
	}
	res, err := runHF(*hf, filepath.Join(*vocab, "tokenizer.json"), texts, *passes)
	if err != nil {
		fail(err)
	}
	if res.Tokens != nTok {
		fmt.Printf("WARNING: Hugging Face counted %d tokens, we counted %d\n", res.Tokens, nTok)
	}
	minf := func(xs []float64) float64 {
		m := xs[0]
		for _, x := range xs {
			m = min(m, x)
		}
		return m
	}
	hb, hs := float64(res.Tokens)/minf(res.Batch), float64(res.Tokens)/minf(res.Single)
	hc := float64(res.Tokens) / minf(res.BatchCPU)
	fmt.Printf("hf    encodeBatch, 1 Rust thread:              %8.2f M tokens/s (best of %d)\n", hb/1e6, *passes)
	fmt.Printf("hf    encodeBatch per CPU second (node process CPU time): %.2f M tokens/s\n", hc/1e6)
	fmt.Printf("hf    encode, one call per text:               %8.2f M tokens/s (node process RSS %.0f MB)\n", hs/1e6, res.RSSMB)
	fmt.Printf("ratio ours Encode / hf encodeBatch:           %8.2fx\n", ours/hb)
	fmt.Printf("ratio ours Encode / hf encode:                %8.2fx\n", ours/hs)
	fmt.Printf("ratio per CPU second (robust to other load):  %8.2fx\n", rate(best(encodeCPU))/hc)
}

type hfResult struct {
	Texts  int       `json:"texts"`
	Tokens int       `json:"tokens"`
	Batch  []float64 `json:"batch"`
	Single []float64 `json:"single"`
	// BatchCPU is the node process's CPU time per encodeBatch pass.
	BatchCPU []float64 `json:"batch_cpu"`
	RSSMB    float64   `json:"rss_mb"`
}

func runHF(dir, tokJSON string, texts []string, passes int) (*hfResult, error) {
	tmp, err := os.MkdirTemp("", "tokenizer-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "texts.jsonl")
	var b bytes.Buffer
	for _, s := range texts {
		line, _ := json.Marshal(map[string]string{"text": s})
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "hf_bench.js")
	cmd := exec.Command("node", script, tokJSON, in, fmt.Sprint(passes))
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"), "RAYON_NUM_THREADS=1",
		"TOKENIZERS_PARALLELISM=false", "UV_THREADPOOL_SIZE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node %s: %v\n%s", script, err, stderr.String())
	}
	var res hfResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("node output %q: %v", out, err)
	}
	return &res, nil
}

// readParagraphs reads the books and returns their paragraphs (blank-line
// separated, hard-wrapped lines joined by a space).
func readParagraphs(dir string, maxTexts int) ([]string, int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		return nil, 0, fmt.Errorf("no .txt books in %s", dir)
	}
	sort.Strings(files)
	var out []string
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, 0, err
		}
		var para []string
		flush := func() {
			if len(para) > 0 {
				p := strings.Join(para, " ")
				out = append(out, p)
				total += len(p)
				para = para[:0]
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			l := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
			if l == "" {
				flush()
				continue
			}
			para = append(para, l)
		}
		flush()
	}
	if maxTexts > 0 && len(out) > maxTexts {
		out = out[:maxTexts]
	}
	return out, total, nil
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tokenizer-bench:", err)
	os.Exit(1)
}
