package trexrc

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// Options of a build. The zero value is not useful: start from
// DefaultOptions.
type Options struct {
	Out            string   // output folder
	Workers        int      // inputs cleaned at once (default 1)
	Seed           uint64   // seed of the split draw, recorded in the manifest
	Drop           []string // relations removed before counting (default P31)
	MinPerRelation int64    // relations with fewer examples are dropped (default 50)
	DevFraction    float64  // share of dev examples; train gets int((1-f)*N) (default 0.1)
	Format         string   // "arrow", "json" or "both"
	Strict         bool     // stop at the first bad record instead of counting it
	Resume         bool     // keep the shards of inputs finished by an earlier run
	Zstd           bool     // zstd-compress Arrow bodies
	// MaxFileBytes rotates train/dev Arrow files at this size (0: one file).
	MaxFileBytes int64
	// MaxDocumentBytes is the largest document read (default 256 MiB);
	// larger ones are counted as document_too_large.
	MaxDocumentBytes int
	// Progress receives byte/document/example counts (optional).
	Progress *pipeline.Progress
	// Log receives warnings about skipped records (optional).
	Log io.Writer
	// DuplicateInputs is the number of inputs given more than once (under
	// another spelling) and read once; recorded in the counts.
	DuplicateInputs int

	// afterInput is a test hook called after each input of pass 1.
	afterInput func(i int)
	// batchRows overrides the rows per output record batch (tests).
	batchRows int
	// innerWorkers clean the documents of one input in parallel, when
	// there are fewer inputs than workers (set by Run).
	innerWorkers int
	logMu        sync.Mutex
	warnings     int
}

// DefaultOptions returns the notebook's parameters: drop P31, at least 50
// examples per relation, 10% dev, Arrow output, seed 0.
func DefaultOptions(out string) Options {
	return Options{Out: out, Workers: 1, Drop: []string{"P31"}, MinPerRelation: 50, DevFraction: 0.1, Format: "arrow"}
}

const maxWarnings = 20

func (o *Options) warnf(format string, args ...any) {
	if o.Log == nil {
		return
	}
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.warnings++
	if o.warnings <= maxWarnings {
		fmt.Fprintf(o.Log, "warning: "+format+"\n", args...)
	} else if o.warnings == maxWarnings+1 {
		fmt.Fprintf(o.Log, "warning: more problems; see the counts in manifest.json\n")
	}
}

// RelationStat is one relation's line in the manifest, in first-appearance
// order.
type RelationStat struct {
	Relation string `json:"relation"`
	Examples int64  `json:"examples"` // cleaned examples
	// Status: "kept", "dropped" (--drop) or "below_min" (< --min-per-relation).
	Status string `json:"status"`
	Train  int64  `json:"train"`
	Dev    int64  `json:"dev"`
	Label  int    `json:"label"` // index in the 410-entry list, -1 if absent
}

// Manifest is manifest.json: everything needed to know how the outputs
// were made. It holds no timings, so two runs with the same inputs and
// parameters write the same bytes.
type Manifest struct {
	Tool       string         `json:"tool"`
	Version    string         `json:"version"`
	Format     int            `json:"shard_format"`
	Parameters map[string]any `json:"parameters"`
	Inputs     []InputResult  `json:"inputs"`
	Counts     Counts         `json:"counts"`
	Relations  []RelationStat `json:"relations"`
	Outputs    []string       `json:"outputs"`
}

// Counts are the totals of a build.
type Counts struct {
	Inputs        int              `json:"inputs"`
	Duplicates    int              `json:"duplicate_inputs,omitempty"` // inputs given again under another spelling, read once
	BadInputs     int              `json:"bad_inputs"`                 // inputs read only partly (see inputs[].error)
	InputBytes    int64            `json:"input_bytes"`
	Cleaning      trex.Counts      `json:"cleaning"`
	DroppedByFlag int64            `json:"examples_dropped_by_drop"`
	DroppedBelow  int64            `json:"examples_dropped_below_min"`
	Kept          int64            `json:"examples_kept"`
	Train         int64            `json:"train"`
	Dev           int64            `json:"dev"`
	UnknownLabel  int64            `json:"examples_not_in_410_list"`
	Relations     int              `json:"relations_seen"`
	RelationsKept int              `json:"relations_kept"`
	ByReason      map[string]int64 `json:"dropped_by_reason"`
}

// Summary is what Run returns (and kprep trex --json prints).
type Summary struct {
	Out           string   `json:"out"`
	Counts        Counts   `json:"counts"`
	Resumed       int      `json:"inputs_resumed"`
	Outputs       []string `json:"outputs"`
	ManifestPath  string   `json:"manifest"`
	RelationsPath string   `json:"relations"`
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Run builds the dataset from the sources into opts.Out.
func Run(ctx context.Context, sources []pipeline.Source, opts *Options) (*Summary, error) {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.MaxDocumentBytes <= 0 {
		opts.MaxDocumentBytes = pipeline.DefaultMaxElement
	}
	if opts.DevFraction < 0 || opts.DevFraction > 1 {
		return nil, fmt.Errorf("dev fraction %v is not in [0, 1]", opts.DevFraction)
	}
	switch opts.Format {
	case "arrow", "json", "both":
	default:
		return nil, fmt.Errorf("format %q: want arrow, json or both", opts.Format)
	}
	dir := filepath.Join(opts.Out, ShardDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := pipeline.RemoveTemps(dir); err != nil {
		return nil, err
	}
	if _, err := pipeline.RemoveTemps(opts.Out); err != nil {
		return nil, err
	}
	if err := removeStaleShards(dir, sources, opts.Resume); err != nil {
		return nil, err
	}

	// Pass 1: clean every input to its shard, `Workers` inputs at a time;
	// with fewer inputs than workers, the documents of each input are
	// shared among the remaining workers.
	outer := min(opts.Workers, max(len(sources), 1))
	opts.innerWorkers = opts.Workers / outer
	results := make([]InputResult, 0, len(sources))
	resumed := 0
	i := 0
	err := pipeline.Ordered(ctx, outer, pipeline.SliceItems(sources),
		func(ctx context.Context, src pipeline.Source) (*InputResult, error) {
			if opts.Resume {
				if r := loadDone(dir, src, opts.MaxDocumentBytes); r != nil {
					if opts.Progress != nil {
						opts.Progress.AddBytes(src.Size)
						opts.Progress.AddDocs(r.Counts.Documents)
						opts.Progress.AddRecords(r.Counts.Examples)
					}
					r.Shard = "resumed:" + r.Shard
					return r, nil
				}
			}
			return cleanInput(ctx, src, dir, opts, opts.Progress)
		},
		func(r *InputResult) error {
			if strings.HasPrefix(r.Shard, "resumed:") {
				r.Shard = strings.TrimPrefix(r.Shard, "resumed:")
				resumed++
			}
			results = append(results, *r)
			if opts.afterInput != nil {
				opts.afterInput(i)
			}
			i++
			return nil
		})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Pass 2: relation counts, filters, split draw and outputs.
	sum, err := buildSplits(ctx, dir, results, opts)
	if err != nil {
		return nil, err
	}
	sum.Resumed = resumed
	return sum, nil
}

// removeStaleShards deletes shards that do not belong to the current
// inputs, and every shard when not resuming.
func removeStaleShards(dir string, sources []pipeline.Source, resume bool) error {
	want := map[string]bool{}
	if resume {
		for _, s := range sources {
			n := shardName(s)
			want[n] = true
			want[donePath(n)] = true
			want[keysPath(n)] = true
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		// (.arrow: shards of format 2 and older.)
		if e.IsDir() || !(strings.HasSuffix(n, shardExt) || strings.HasSuffix(n, ".arrow") || strings.HasSuffix(n, ".done.json") || strings.HasSuffix(n, ".keys")) {
			continue
		}
		if !want[n] {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitKey mixes an example's content hash with the seed (splitmix64).
func splitKey(h, seed uint64) uint64 {
	z := h + seed*0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// shardRows calls fn for every example of every shard whose relation is
// kept, in input order, with its relation (an index in r.Relations) and
// content hash from the key file; other records are skipped undecoded.
func shardRows(ctx context.Context, dir string, results []InputResult, kept map[string]bool, fn func(r *InputResult, rel int, hash uint64, rec *shardRecord) error) error {
	var rec shardRecord
	var kb [12]byte
	n := 0
	for ri := range results {
		r := &results[ri]
		keep := make([]bool, len(r.Relations))
		for i, rc := range r.Relations {
			keep[i] = kept[rc.Relation]
		}
		path := filepath.Join(dir, r.Shard)
		sr, err := openShard(path)
		if err != nil {
			return err
		}
		kp := keysPath(path)
		kf, err := os.Open(kp)
		if err != nil {
			sr.close()
			return err
		}
		err = func() error {
			kr := bufio.NewReaderSize(kf, 64<<10)
			for {
				body, err := sr.next()
				if err == io.EOF {
					if _, err := kr.ReadByte(); err != io.EOF {
						return fmt.Errorf("%s: more keys than records in %s", kp, path)
					}
					return nil
				}
				if err != nil {
					return err
				}
				if _, err := io.ReadFull(kr, kb[:]); err != nil {
					return fmt.Errorf("%s: fewer keys than records in %s: %w", kp, path, err)
				}
				if n++; n&4095 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				rel := int(binary.LittleEndian.Uint32(kb[8:]))
				if rel >= len(keep) {
					return fmt.Errorf("%s: relation index %d out of range", kp, rel)
				}
				if !keep[rel] {
					continue
				}
				if err := rec.decode(body); err != nil {
					return fmt.Errorf("%s: byte offset %d: %w", path, sr.off-int64(len(body)), err)
				}
				if err := fn(r, rel, binary.LittleEndian.Uint64(kb[:]), &rec); err != nil {
					return err
				}
			}
		}()
		sr.close()
		kf.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func buildSplits(ctx context.Context, dir string, results []InputResult, opts *Options) (*Summary, error) {
	var cnt Counts
	cnt.Inputs = len(results)
	cnt.Duplicates = opts.DuplicateInputs
	relOrder := []string{}
	relCount := map[string]int64{}
	for _, r := range results {
		cnt.InputBytes += r.Size
		cnt.Cleaning.Add(r.Counts)
		if r.Error != "" {
			cnt.BadInputs++
		}
		for _, rc := range r.Relations {
			if _, ok := relCount[rc.Relation]; !ok {
				relOrder = append(relOrder, rc.Relation)
			}
			relCount[rc.Relation] += rc.Examples
		}
	}
	drop := map[string]bool{}
	for _, d := range opts.Drop {
		drop[d] = true
	}
	stats := make([]RelationStat, len(relOrder))
	statIdx := map[string]int{}
	kept := map[string]bool{}
	var keptRels []string
	for i, rel := range relOrder {
		st := RelationStat{Relation: rel, Examples: relCount[rel], Label: Label(rel)}
		switch {
		case drop[rel]:
			st.Status = "dropped"
			cnt.DroppedByFlag += st.Examples
		case st.Examples < opts.MinPerRelation:
			st.Status = "below_min"
			cnt.DroppedBelow += st.Examples
		default:
			st.Status = "kept"
			kept[rel] = true
			keptRels = append(keptRels, rel)
			cnt.Kept += st.Examples
		}
		stats[i] = st
		statIdx[rel] = i
	}
	cnt.Relations = len(relOrder)
	cnt.RelationsKept = len(keptRels)

	// The number of train examples, as the notebook: int(N * 0.9).
	k := int64(float64(cnt.Kept) * (1 - opts.DevFraction))
	isTrain, err := drawSplit(ctx, dir, results, kept, k, cnt.Kept, opts.Seed)
	if err != nil {
		return nil, err
	}

	// relations.json: relation -> index, in first-appearance order of the
	// kept relations (the notebook's pred2id).
	relJSON := []byte("{")
	for i, rel := range keptRels {
		if i > 0 {
			relJSON = append(relJSON, ", "...)
		}
		relJSON = trex.AppendPyString(relJSON, rel)
		relJSON = fmt.Appendf(relJSON, ": %d", i)
	}
	relJSON = append(relJSON, '}')

	outs, err := newOutputs(opts)
	if err != nil {
		return nil, err
	}
	defer outs.abort()
	var globalIdx int64
	labels := make([]int, len(stats))
	for i := range stats {
		labels[i] = stats[i].Label
	}
	opts.Progress.StartPhase("building the split", cnt.Kept, "examples")
	err = shardRows(ctx, dir, results, kept, func(res *InputResult, ri int, hash uint64, rec *shardRecord) error {
		opts.Progress.AddPhase(1)
		r := res.Relations[ri].Relation
		train := isTrain(splitKey(hash, opts.Seed), globalIdx)
		globalIdx++
		si := statIdx[r]
		label := labels[si]
		if label < 0 {
			cnt.UnknownLabel++
		}
		st := &stats[si]
		if train {
			st.Train++
			cnt.Train++
		} else {
			st.Dev++
			cnt.Dev++
		}
		return outs.add(train, rec, r, int64(label))
	})
	if err != nil {
		return nil, err
	}
	cnt.ByReason = cnt.Cleaning.ByReason()
	cnt.ByReason["bad_input_file"] = int64(cnt.BadInputs)

	paths, err := outs.commit()
	if err != nil {
		return nil, err
	}
	relPath := filepath.Join(opts.Out, "relations.json")
	if err := pipeline.WriteFileAtomic(relPath, relJSON); err != nil {
		return nil, err
	}
	paths = append(paths, relPath)
	rel := make([]string, len(paths))
	for i, p := range paths {
		rel[i], _ = filepath.Rel(opts.Out, p)
	}
	m := Manifest{
		Tool:    "kprep trex",
		Version: version(),
		Format:  shardFormat,
		Parameters: map[string]any{
			"seed": opts.Seed, "drop": nonNil(opts.Drop), "min_per_relation": opts.MinPerRelation,
			"dev_fraction": opts.DevFraction, "format": opts.Format, "strict": opts.Strict,
			"zstd": opts.Zstd, "max_file_bytes": opts.MaxFileBytes, "split": "seeded content hash (splitmix64 of FNV-1a), train = the int((1-dev_fraction)*N) smallest keys",
		},
		Inputs:    results,
		Counts:    cnt,
		Relations: stats,
		Outputs:   rel,
	}
	mb, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, err
	}
	manPath := filepath.Join(opts.Out, "manifest.json")
	if err := pipeline.WriteFileAtomic(manPath, append(mb, '\n')); err != nil {
		return nil, err
	}
	return &Summary{Out: opts.Out, Counts: cnt, Outputs: append(rel, "manifest.json"), ManifestPath: manPath, RelationsPath: relPath}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// drawSplit decides train membership: the k examples with the smallest
// (key, index) go to train, where key mixes the content hash with the
// seed. It finds the threshold with a 65536-bucket histogram and one
// sorted bucket, so memory stays small whatever the number of examples.
func drawSplit(ctx context.Context, dir string, results []InputResult, kept map[string]bool, k, n int64, seed uint64) (func(key uint64, idx int64) bool, error) {
	if k >= n {
		return func(uint64, int64) bool { return true }, nil
	}
	if k <= 0 {
		return func(uint64, int64) bool { return false }, nil
	}
	var hist [1 << 16]int64
	err := shardKeys(ctx, dir, results, kept, func(key uint64) {
		hist[splitKey(key, seed)>>48]++
	})
	if err != nil {
		return nil, err
	}
	var below int64
	bucket := 0
	for ; bucket < len(hist); bucket++ {
		if below+hist[bucket] > k-1 {
			break
		}
		below += hist[bucket]
	}
	// The k-th smallest key lies in `bucket`; collect that bucket.
	type entry struct {
		key uint64
		idx int64
	}
	var in []entry
	var idx int64
	err = shardKeys(ctx, dir, results, kept, func(h uint64) {
		key := splitKey(h, seed)
		if int(key>>48) == bucket {
			in = append(in, entry{key, idx})
		}
		idx++
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(in, func(a, b entry) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(a.idx - b.idx)
	})
	last := in[k-1-below] // the k-th smallest overall
	lo, hi := uint64(bucket)<<48, last.key
	return func(key uint64, i int64) bool {
		if key>>48 < lo>>48 {
			return true
		}
		if key>>48 > lo>>48 {
			return false
		}
		return key < hi || key == hi && i <= last.idx
	}, nil
}

// shardKeys calls fn with the content hash of every kept example, in input
// order, reading the shards' key files.
func shardKeys(ctx context.Context, dir string, results []InputResult, kept map[string]bool, fn func(hash uint64)) error {
	var buf [12]byte
	n := 0
	for _, r := range results {
		keep := make([]bool, len(r.Relations))
		for i, rc := range r.Relations {
			keep[i] = kept[rc.Relation]
		}
		p := keysPath(filepath.Join(dir, r.Shard))
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(f, 256<<10)
		for {
			if _, err := io.ReadFull(br, buf[:]); err != nil {
				f.Close()
				if err == io.EOF {
					break
				}
				return fmt.Errorf("%s: %w", p, err)
			}
			if n++; n&0xffff == 0 && ctx.Err() != nil {
				f.Close()
				return ctx.Err()
			}
			rel := binary.LittleEndian.Uint32(buf[8:])
			if int(rel) >= len(keep) {
				f.Close()
				return fmt.Errorf("%s: relation index %d out of range", p, rel)
			}
			if keep[rel] {
				fn(binary.LittleEndian.Uint64(buf[:]))
			}
		}
	}
	return nil
}
