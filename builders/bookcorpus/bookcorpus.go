// Package bookcorpus is the lin-adapter dataset job of 'kprep deps
// bookcorpus': it reads book text (raw, BookCorpus lines or CoNLL-U),
// parses it with our parser (parser), builds the find_head features
// (builders/lindeps) and writes train/dev as Arrow and/or the original JSON
// list, with the pipeline's stages: sources, the ordered worker pool,
// Arrow sinks and atomic files.
//
// Each input becomes its own shard files in ShardDir (atomically), and a
// state file records the finished inputs, so that an interrupted run
// resumes (Options.Resume) with the inputs it finished; the shards are
// merged in input order at the end and manifest.json is written last.
// Bad records are skipped and counted by reason (Options.Strict: the first
// stops the run); an input that ends early keeps its sentences before the
// problem; an input that cannot be opened is recorded and skipped.
package bookcorpus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/kadapter/kadapter/builders/lindeps"
	"github.com/kadapter/kadapter/parser"
	"github.com/kadapter/kadapter/pipeline"
)

// ShardDir is the folder of Options.Out that holds the shards and the
// state of an unfinished run; it is removed when the run completes.
const ShardDir = ".deps-shards"

// ReasonInvalidInput counts, once per input, the unread rest of an input
// that could not be read to its end (a truncated .gz, a read error).
const ReasonInvalidInput = "invalid_input"

// ErrOtherOptions is returned by Run with Resume when the unfinished run
// in Out was started with other Params.
var ErrOtherOptions = errors.New("was started with other options; run without --resume to start over")

// Options configure Run.
type Options struct {
	// Out is the output folder.
	Out string
	// Params shape the output (recorded in the manifest; --resume needs
	// the same).
	Params Params
	// Format fixes the input format of every input; nil: by file name
	// (lindeps.FormatOf).
	Format *lindeps.Format
	// Model parses the sentences that are not parsed already (nil: every
	// input must be parsed CoNLL-U).
	Model *parser.Model
	// Features builds the find_head features (nil: rows without them).
	Features *lindeps.Builder
	// Strict stops at the first bad record or unreadable input.
	Strict bool
	// Resume keeps the inputs finished by an interrupted run.
	Resume bool
	// Workers is the number of goroutines parsing and building features.
	Workers int
	// Progress receives bytes, sentences read and rows written (optional).
	Progress *pipeline.Progress
	// Log receives warnings: skipped inputs, inputs that ended early
	// (optional).
	Log io.Writer

	// afterInput is a test hook called after each input's state is saved.
	afterInput func(i int)
}

func (o *Options) warnf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "kprep deps bookcorpus: "+format+"\n", args...)
	}
}

// Params are the options that shape the output, recorded in the
// manifest; a resumed run must have the same.
type Params struct {
	InputFormat     string  `json:"input_format"`
	Model           string  `json:"model"`
	ModelSize       int64   `json:"model_size"`
	ModelMod        int64   `json:"model_mod"`
	Vocab           string  `json:"vocab"`
	Formats         string  `json:"format"`
	MaxSentences    int     `json:"max_sentences"`
	MinWords        int     `json:"min_words"`
	MaxWords        int     `json:"max_words"`
	Lower           bool    `json:"lower"`
	Dedup           bool    `json:"dedup"`
	CorrectedLabels bool    `json:"corrected_labels"`
	MaxSeqLength    int     `json:"max_seq_length"`
	DevFraction     float64 `json:"dev_fraction"`
	Zstd            bool    `json:"zstd"`
}

// Stats counts what happened to the sentences of one input or of a run.
type Stats struct {
	Read            int            `json:"sentences_read"`
	Written         int            `json:"sentences_written"`
	Train           int            `json:"train"`
	Dev             int            `json:"dev"`
	Words           int            `json:"words"`
	Parsed          int            `json:"parsed_by_model"`
	Preparsed       int            `json:"preparsed"`
	Skipped         map[string]int `json:"skipped"`
	FeaturesKept    int            `json:"features_kept"`
	FeaturesDropped map[string]int `json:"find_head_dropped"`
}

// add adds o's counts to s.
func (s *Stats) add(o Stats) {
	s.Read += o.Read
	s.Written += o.Written
	s.Train += o.Train
	s.Dev += o.Dev
	s.Words += o.Words
	s.Parsed += o.Parsed
	s.Preparsed += o.Preparsed
	s.FeaturesKept += o.FeaturesKept
	for k, v := range o.Skipped {
		s.skip(k, v)
	}
	for k, v := range o.FeaturesDropped {
		if s.FeaturesDropped == nil {
			s.FeaturesDropped = map[string]int{}
		}
		s.FeaturesDropped[k] += v
	}
}

// skip counts n sentences skipped for reason.
func (s *Stats) skip(reason string, n int) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason] += n
}

// inputState records one finished input of a run.
type inputState struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModUnix int64  `json:"mod_unix"`
	Shard   int    `json:"shard"`
	Stats   Stats  `json:"stats"`
	// Error is the problem that ended reading this input early; the
	// sentences before it are kept.
	Error string `json:"error,omitempty"`
}

// runState is the state file of an unfinished run (ShardDir/state.json).
type runState struct {
	Options Params        `json:"options"`
	Done    []inputState  `json:"done"`
	Failed  []FailedInput `json:"failed_inputs,omitempty"`
}

// FailedInput is an input that could not be opened (or read under
// --strict), with the problem.
type FailedInput struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

// Summary is the result of a run, written as manifest.json.
type Summary struct {
	Command string        `json:"command"`
	Out     string        `json:"out"`
	Inputs  int           `json:"inputs"`
	Resumed int           `json:"inputs_resumed"`
	Failed  []FailedInput `json:"failed_inputs"`
	// EndedEarly lists the inputs that could not be read to their end
	// (their sentences before the problem are kept).
	EndedEarly []FailedInput `json:"inputs_ended_early,omitempty"`
	Options    Params        `json:"options"`
	Stats      Stats         `json:"stats"`
	Seconds    float64       `json:"seconds"`
	PerSec     float64       `json:"sentences_per_second"`
	Outputs    []string      `json:"outputs"`
	NoChange   bool          `json:"already_complete,omitempty"`
	Sources    []InputSig    `json:"sources"`
}

// InputSig identifies an input for --resume: its name (as pipeline.Source
// names it), size and modification time.
type InputSig struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModUnix int64  `json:"mod_unix"`
}

func sourceSigs(srcs []pipeline.Source) []InputSig {
	out := make([]InputSig, len(srcs))
	for i, s := range srcs {
		out[i] = InputSig{Name: s.Name, Size: s.Size, ModUnix: s.ModUnix}
	}
	return out
}

// Run builds the dataset from srcs into opts.Out and returns the summary
// (also written as manifest.json). A finished run with the same Params and
// inputs is not redone under Resume (Summary.NoChange).
func Run(ctx context.Context, srcs []pipeline.Source, opts Options) (*Summary, error) {
	p := opts.Params
	started := time.Now()
	shardDir := filepath.Join(opts.Out, ShardDir)
	statePath := filepath.Join(shardDir, "state.json")
	manifestPath := filepath.Join(opts.Out, "manifest.json")
	sum := Summary{Command: "kprep deps bookcorpus", Out: opts.Out, Inputs: len(srcs), Options: p, Failed: []FailedInput{},
		Sources: sourceSigs(srcs)}
	prog := opts.Progress
	if prog == nil {
		prog = pipeline.NewProgress(io.Discard, pipeline.ProgressOptions{Mode: pipeline.ProgressOff})
	}

	// Resume: a finished run with the same options and inputs has nothing left to do.
	state := runState{Options: p}
	if opts.Resume {
		if prev, ok := readManifest(manifestPath); ok && prev.Options == p && slices.Equal(prev.Sources, sum.Sources) && !exists(shardDir) {
			prev.NoChange = true
			return &prev, nil
		}
		if data, err := os.ReadFile(statePath); err == nil {
			var st runState
			if err := json.Unmarshal(data, &st); err != nil {
				return nil, fmt.Errorf("%s: %v (remove %s to start over)", statePath, err, shardDir)
			}
			if st.Options != p {
				return nil, fmt.Errorf("%s %w", opts.Out, ErrOtherOptions)
			}
			state = st
			state.Failed = nil // failed inputs are tried again
		}
	} else if err := os.RemoveAll(shardDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(shardDir, 0o755); err != nil {
		return nil, err
	}
	_, _ = pipeline.RemoveTemps(shardDir)
	done := map[string]inputState{}
	for _, d := range state.Done {
		done[d.Name] = d
	}

	seen := map[uint64]bool{}
	written := 0
	var kept []inputState
	for i, src := range srcs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if d, ok := done[src.Name]; ok && d.Size == src.Size && d.ModUnix == src.ModUnix && d.Shard == i {
			if p.Dedup {
				if err := loadSeen(shardFile(shardDir, i, "seen"), seen); err != nil {
					return nil, fmt.Errorf("resume: %v (run without --resume)", err)
				}
			}
			kept = append(kept, d)
			sum.Resumed++
			written += d.Stats.Written
			prog.AddBytes(src.Size)
			continue
		}
		if p.MaxSentences > 0 && written >= p.MaxSentences {
			break
		}
		format := lindeps.FormatOf(src.Name)
		if opts.Format != nil {
			format = *opts.Format
		}
		job := &inputJob{src: src, index: i, dir: shardDir, format: format, opts: p, model: opts.Model, fb: opts.Features,
			seen: seen, limit: p.MaxSentences - written, strict: opts.Strict, workers: max(opts.Workers, 1), prog: prog}
		if p.MaxSentences == 0 {
			job.limit = -1
		}
		st, err := job.run(ctx)
		if err != nil {
			var fail *inputFailure
			if errors.As(err, &fail) && !opts.Strict {
				opts.warnf("skipping %s: %v", src.Name, fail.err)
				state.Failed = append(state.Failed, FailedInput{Name: src.Name, Error: fail.err.Error()})
				continue
			}
			return nil, err
		}
		if job.inputErr != "" {
			opts.warnf("%s: reading stopped there; the %d sentences before it are kept (--strict stops instead)", job.inputErr, st.Read)
		}
		d := inputState{Name: src.Name, Size: src.Size, ModUnix: src.ModUnix, Shard: i, Stats: st, Error: job.inputErr}
		kept = append(kept, d)
		written += st.Written
		state.Done = append(state.Done, d)
		if err := writeJSONAtomic(statePath, state); err != nil {
			return nil, err
		}
		if opts.afterInput != nil {
			opts.afterInput(i)
		}
	}

	// Merge the shards into the final files.
	sort.Slice(kept, func(a, b int) bool { return kept[a].Shard < kept[b].Shard })
	for _, d := range kept {
		sum.Stats.add(d.Stats)
		if d.Error != "" {
			sum.EndedEarly = append(sum.EndedEarly, FailedInput{Name: d.Name, Error: d.Error})
		}
	}
	splits := []string{"train"}
	if p.DevFraction > 0 {
		splits = append(splits, "dev")
	}
	for _, split := range splits {
		if p.Formats != "json" {
			var parts []string
			for _, d := range kept {
				parts = append(parts, shardFile(shardDir, d.Shard, split+".arrow"))
			}
			path := filepath.Join(opts.Out, split+".arrow")
			if err := mergeArrow(path, parts, p.Zstd); err != nil {
				return nil, err
			}
			sum.Outputs = append(sum.Outputs, path)
		}
		if p.Formats != "arrow" {
			var parts []string
			for _, d := range kept {
				parts = append(parts, shardFile(shardDir, d.Shard, split+".json"))
			}
			path := filepath.Join(opts.Out, split+".json")
			if err := mergeJSON(path, parts); err != nil {
				return nil, err
			}
			sum.Outputs = append(sum.Outputs, path)
		}
	}
	// Outputs of an earlier run into the same folder that this run did not
	// write (another --format or no dev split) would be stale: remove them.
	for _, split := range []string{"train", "dev"} {
		for _, ext := range []string{".arrow", ".json"} {
			path := filepath.Join(opts.Out, split+ext)
			if !slices.Contains(sum.Outputs, path) {
				if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
		}
	}
	sum.Failed = append(sum.Failed, state.Failed...)
	if sum.Stats.Skipped == nil {
		sum.Stats.Skipped = map[string]int{}
	}
	if sum.Stats.FeaturesDropped == nil {
		sum.Stats.FeaturesDropped = map[string]int{}
	}
	sum.Seconds = time.Since(started).Seconds()
	if sum.Seconds > 0 {
		sum.PerSec = float64(sum.Stats.Written) / sum.Seconds
	}
	if err := writeJSONAtomic(manifestPath, sum); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(shardDir); err != nil {
		return nil, err
	}
	return &sum, nil
}

// readManifest reads a finished run's manifest.json.
func readManifest(path string) (Summary, bool) {
	var s Summary
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &s) != nil {
		return s, false
	}
	return s, true
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// writeJSONAtomic writes v as indented JSON to path with the pipeline's
// atomic files (a temporary file renamed into place).
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(path, append(data, '\n'))
}

// shardFile is the path of one shard file of input number shard.
func shardFile(dir string, shard int, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%05d.%s", shard, suffix))
}

// inputFailure is an input that could not be opened, or read under
// --strict (skipped and recorded unless --strict).
type inputFailure struct{ err error }

// Error returns the underlying message.
func (f *inputFailure) Error() string { return f.err.Error() }

// inputJob turns one input into its shard files.
type inputJob struct {
	src     pipeline.Source
	index   int
	dir     string
	format  lindeps.Format
	opts    Params
	model   *parser.Model
	fb      *lindeps.Builder
	seen    map[uint64]bool
	limit   int // sentences still allowed; -1 = no limit
	strict  bool
	workers int
	prog    *pipeline.Progress
	// inputErr is the read error that ended the input early (its
	// sentences before it are kept); "" when it was read to its end.
	inputErr string
}

type inputItem struct {
	first int
	sents []*lindeps.Sentence
}

type inputOut struct {
	rows []lindeps.Row
	json [][]byte
	dev  []bool
	pre  []bool // already parsed in the input
}

type shardSinks struct {
	arrow map[string]*pipeline.ArrowSink
	json  map[string]*pipeline.AtomicFile
	jbuf  map[string]*bufio.Writer
	count map[string]int
	seen  *pipeline.AtomicFile
}

func (s *shardSinks) abort() {
	for _, a := range s.arrow {
		a.Abort()
	}
	for _, f := range s.json {
		f.Abort()
	}
	if s.seen != nil {
		s.seen.Abort()
	}
}

func (j *inputJob) run(ctx context.Context) (Stats, error) {
	var st Stats
	rc, err := j.src.Open(j.prog.Bytes())
	if err != nil {
		return st, &inputFailure{err: err}
	}
	defer rc.Close()
	rd := lindeps.NewReader(rc, j.src.Name, j.format, nil)

	sinks := &shardSinks{arrow: map[string]*pipeline.ArrowSink{}, json: map[string]*pipeline.AtomicFile{},
		jbuf: map[string]*bufio.Writer{}, count: map[string]int{}}
	defer sinks.abort()
	splits := []string{"train"}
	if j.opts.DevFraction > 0 {
		splits = append(splits, "dev")
	}
	for _, split := range splits {
		if j.opts.Formats != "json" {
			a, err := pipeline.NewArrowSink(shardFile(j.dir, j.index, split+".arrow"), lindeps.Schema(), pipeline.ArrowOptions{Zstd: j.opts.Zstd, BatchRows: 1024})
			if err != nil {
				return st, err
			}
			sinks.arrow[split] = a
		}
		if j.opts.Formats != "arrow" {
			f, err := pipeline.CreateAtomic(shardFile(j.dir, j.index, split+".json"))
			if err != nil {
				return st, err
			}
			sinks.json[split] = f
			sinks.jbuf[split] = bufio.NewWriterSize(f, 1<<20)
		}
	}
	var seenW *bufio.Writer
	if j.opts.Dedup {
		f, err := pipeline.CreateAtomic(shardFile(j.dir, j.index, "seen"))
		if err != nil {
			return st, err
		}
		sinks.seen = f
		seenW = bufio.NewWriter(f)
	}

	var readErr error
	var added []uint64 // dedup hashes of this input, forgotten if it fails
	defer func() {
		if added != nil {
			for _, h := range added {
				delete(j.seen, h)
			}
		}
	}()
	n := 0
	next := func() (inputItem, bool, error) {
		item := inputItem{first: n}
		for len(item.sents) < 64 {
			if j.limit >= 0 && n >= j.limit {
				break
			}
			s, err := rd.Next()
			if err == io.EOF {
				break
			}
			var ie *lindeps.InputError
			if errors.As(err, &ie) {
				if j.strict {
					return item, false, ie
				}
				st.skip(ie.Reason, 1)
				continue
			}
			if err != nil {
				readErr = err
				break
			}
			st.Read++
			j.prog.AddDocs(1)
			switch {
			case len(s.Words) < j.opts.MinWords || len(s.Words) == 0:
				st.skip("too_few_words", 1)
				continue
			case j.opts.MaxWords > 0 && len(s.Words) > j.opts.MaxWords:
				st.skip("too_many_words", 1)
				continue
			}
			if j.opts.Dedup {
				key := s.Text
				if j.opts.Lower {
					key = strings.ToLower(key)
				}
				h := fnv.New64a()
				h.Write([]byte(key))
				sum := h.Sum64()
				if j.seen[sum] {
					st.skip("duplicate", 1)
					continue
				}
				j.seen[sum] = true
				added = append(added, sum)
				var b [8]byte
				for k := 0; k < 8; k++ {
					b[k] = byte(sum >> (8 * k))
				}
				seenW.Write(b[:])
			}
			if !s.Parsed() && j.model == nil {
				return item, false, fmt.Errorf("%s: sentence %s is not parsed and no --model was given", j.src.Name, s.ID)
			}
			item.sents = append(item.sents, s)
			n++
		}
		return item, len(item.sents) > 0, nil
	}
	work := func(_ context.Context, it inputItem) (inputOut, error) {
		o := inputOut{rows: make([]lindeps.Row, len(it.sents)), json: make([][]byte, len(it.sents)),
			dev: make([]bool, len(it.sents)), pre: make([]bool, len(it.sents))}
		for k, s := range it.sents {
			if s.Parsed() {
				o.pre[k] = true
			} else {
				upos, heads, rels := j.model.Parse(s.ParserForms())
				if len(upos) != len(s.Words) || len(heads) != len(s.Words) || len(rels) != len(s.Words) {
					return o, fmt.Errorf("%s: the parser returned %d heads for the %d words of %s", j.src.Name, len(heads), len(s.Words), s.ID)
				}
				for w := range s.Words {
					s.Words[w].UPOS, s.Words[w].Head, s.Words[w].Deprel = upos[w], heads[w], rels[w]
				}
			}
			if j.opts.Lower {
				s.Lower()
			}
			o.rows[k] = j.fb.Build(it.first+k, s)
			if j.opts.Formats != "arrow" {
				o.json[k] = s.AppendJSON(nil)
			}
			o.dev[k] = isDev(s.ID, j.opts.DevFraction)
		}
		return o, nil
	}
	emit := func(o inputOut) error {
		for k := range o.rows {
			r := &o.rows[k]
			split := "train"
			if o.dev[k] {
				split = "dev"
			}
			if a := sinks.arrow[split]; a != nil {
				r.AppendArrow(a.Builder())
				if err := a.RowDone(); err != nil {
					return err
				}
			}
			if w := sinks.jbuf[split]; w != nil {
				if sinks.count[split] > 0 {
					w.WriteString(",\n")
				}
				w.Write(o.json[k])
			}
			sinks.count[split]++
			st.Written++
			if split == "dev" {
				st.Dev++
			} else {
				st.Train++
			}
			st.Words += len(r.Sentence.Words)
			if o.pre[k] {
				st.Preparsed++
			} else {
				st.Parsed++
			}
			switch r.Drop {
			case "":
				st.FeaturesKept++
			default:
				if st.FeaturesDropped == nil {
					st.FeaturesDropped = map[string]int{}
				}
				st.FeaturesDropped[r.Drop]++
			}
		}
		j.prog.AddRecords(int64(len(o.rows)))
		return nil
	}
	if err := pipeline.Ordered(ctx, j.workers, next, work, emit); err != nil {
		return st, err
	}
	if readErr != nil {
		// As kprep trex and kprep features: the sentences before the
		// problem are kept and the rest counts as one invalid_input;
		// --strict stops.
		err := namedError(j.src.Name, readErr)
		if j.strict {
			return st, &inputFailure{err: err}
		}
		j.inputErr = err.Error()
		st.skip(ReasonInvalidInput, 1)
	}
	for _, split := range splits {
		if a := sinks.arrow[split]; a != nil {
			if _, err := a.Close(); err != nil {
				return st, err
			}
		}
		if w := sinks.jbuf[split]; w != nil {
			if err := w.Flush(); err != nil {
				return st, err
			}
			if err := sinks.json[split].Commit(); err != nil {
				return st, err
			}
		}
	}
	if seenW != nil {
		if err := seenW.Flush(); err != nil {
			return st, err
		}
		if err := sinks.seen.Commit(); err != nil {
			return st, err
		}
	}
	added = nil // the input is done: keep its hashes
	return st, nil
}

// namedError is err with the input's name in front, once (the reader
// layers below may have named it already).
func namedError(name string, err error) error {
	msg, prefix := err.Error(), name+": "
	for strings.HasPrefix(msg, prefix+prefix) {
		msg = msg[len(prefix):]
	}
	if strings.HasPrefix(msg, prefix) {
		return errors.New(msg)
	}
	return errors.New(prefix + msg)
}

// isDev reports whether the sentence id goes to the dev split.
func isDev(id string, frac float64) bool {
	if frac <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%1000000) < frac*1000000
}

// loadSeen adds the dedup hashes of a finished input's seen file.
func loadSeen(path string, seen map[uint64]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i := 0; i+8 <= len(data); i += 8 {
		var v uint64
		for k := 0; k < 8; k++ {
			v |= uint64(data[i+k]) << (8 * k)
		}
		seen[v] = true
	}
	return nil
}

// mergeArrow concatenates the shards' record batches into one Arrow IPC
// stream file at dst (atomically). No shards: an empty file with the schema.
func mergeArrow(dst string, parts []string, zstd bool) error {
	if len(parts) == 0 {
		s, err := pipeline.NewArrowSink(dst, lindeps.Schema(), pipeline.ArrowOptions{Zstd: zstd})
		if err != nil {
			return err
		}
		_, err = s.Close()
		return err
	}
	f, err := pipeline.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w *ipc.Writer
	_, err = pipeline.ReadArrow(parts, func(rec arrow.RecordBatch) error {
		if w == nil {
			opts := []ipc.Option{ipc.WithSchema(rec.Schema())}
			if zstd {
				opts = append(opts, ipc.WithZstd(), ipc.WithCompressConcurrency(1))
			}
			w = ipc.NewWriter(bw, opts...)
		}
		return w.Write(rec)
	})
	if err != nil {
		return err
	}
	if w == nil { // every shard empty: copy the first one's schema-only stream
		data, err := os.ReadFile(parts[0])
		if err != nil {
			return err
		}
		if _, err := bw.Write(data); err != nil {
			return err
		}
	} else if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

// mergeJSON writes the JSON list made of the shards' records (each shard
// holds records separated by ",\n", no brackets).
func mergeJSON(dst string, parts []string) error {
	f, err := pipeline.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString("[\n")
	first := true
	for _, p := range parts {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			continue
		}
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(bw, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	bw.WriteString("\n]\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Commit()
}
