package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	_ "github.com/kadapter/kadapter/tasks" // registers the formats of tasks defined there
	"github.com/kadapter/kadapter/tokenizer"
)

func init() {
	program.Register(&cli.Command{
		Name:    "features",
		Summary: "build model inputs (Arrow) for a K-Adapter task, as the original converters did",
		Run:     runFeatures,
	})
}

const featuresDescription = `
Turns a task file in its original layout into model inputs, exactly as
K-Adapter's Python converters did (pytorch_transformers 1.2.0 tokenization,
the same markers, truncation, padding and label ids), and writes them as an
Arrow IPC stream file with Hugging Face metadata (atomically).

Tasks and inputs (JSON array or JSON lines, sniffed; .gz/.zst/.bz2 read in place):
  trex-rc     fac-adapter relation classification: {token, subj_start, subj_end,
              obj_start, obj_end, relation}; also the train.arrow of 'kprep trex'.
              Labels: the released fac-adapter's 410-relation list (built in;
              --labels overrides it).
  find-head   lin-adapter head prediction: {sent, tokens:[{"1":{start,end}}...], pairs}
  tacred      TACRED: {id, token, subj_start, subj_end, obj_start, obj_end, relation}
              (default labels: the 42-relation list of utils_glue.py)
  openentity  {sent, start, end, labels} (9 types)
  figer       {sent, start, end, labels}; --labels: labels.json or train.json
  cosmosqa    JSON lines {id, context, question, answer0..3, label}

Columns: id, record, input_ids, attention_mask, then subj_pos/obj_pos/label
(tacred, trex-rc), entity_pos/labels (openentity, figer), labels (find-head),
label (cosmosqa; input_ids/attention_mask are 4 x L there).

Records the original dropped are dropped and counted by reason; records on
which it crashed (unknown label, marker index == L, OpenEntity longer than L,
malformed record) are rejected and counted, and --strict stops at the first.
An input that cannot be read to its end (a truncated JSON array, garbage
after it, a missing comma, a truncated .gz) keeps the records before the
problem, as kprep trex does: the rest counts as one invalid_input rejection
and the summary names the byte offset; --strict stops there, writing nothing.
Invalid UTF-8 is read as U+FFFD per maximal subpart (as kprep tokenize and
Hugging Face's bindings read it) and the records holding it are counted
(invalid_utf8_records); they are converted, not dropped.
`

type featuresSummary struct {
	Task         string         `json:"task"`
	Input        string         `json:"input"`
	Output       string         `json:"output"`
	MaxSeqLength int            `json:"max_seq_length"`
	Records      int            `json:"records"`
	Kept         int            `json:"kept"`
	Dropped      map[string]int `json:"dropped"`
	DroppedTotal int            `json:"dropped_total"`
	Rejected     int            `json:"rejected"`
	// BadUTF8 counts records with invalid UTF-8 (read as U+FFFD).
	BadUTF8 int `json:"invalid_utf8_records"`
	// InputError is the problem that ended reading early (the records
	// before it are kept); empty when the input was read to its end.
	InputError string  `json:"input_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"records_per_second"`
}

// featureResults are a chunk's results and, for each, whether its record
// held invalid UTF-8.
type featureResults struct {
	res     []features.Result
	badUTF8 []bool
}

// featureChunk is a batch of consecutive input records handed to a worker.
type featureChunk struct {
	start int
	raw   [][]byte
	rel   []features.RelationRecord
}

const featureChunkSize = 256

func runFeatures(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("kprep", "features", "--task TASK --in FILE --vocab DIR --out FILE.arrow [flags]", featuresDescription, env.Stderr)
	task := fs.String("task", "", "task: "+strings.Join(features.Tasks(), "|"))
	in := fs.String("in", "", "input file (JSON array, JSON lines, or .arrow for trex-rc/tacred)")
	vocab := fs.String("vocab", "", "tokenizer folder (vocab.json + merges.txt, or tokenizer.json)")
	out := fs.String("out", "", "output Arrow file")
	maxLen := fs.Int("max-seq-length", 0, "max_seq_length (0 = the original script's: trex-rc 64, find-head 64, tacred 184, others 256)")
	labelsPath := fs.String("labels", "", "label list file (JSON array of strings); figer also accepts a train.json")
	strict := fs.Bool("strict", false, "fail at the first rejected record instead of counting it")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout")
	negative := fs.Int("negative-sample", 0, "tacred/trex-rc training sets: keep only the first N-1 no_relation records, as the original's counter (0 = off, as for dev/test; 1 drops them all)")
	clamp := fs.Bool("clamp-at-max", false, "tacred: clamp a marker index equal to max_seq_length to max_seq_length-10 instead of rejecting the record")
	headMapping := fs.String("head-mapping", "original", "find-head labels: original (released lin-adapter) or first-subtoken (corrected)")
	padID := fs.Int64("pad-id", 0, "cosmosqa padding id (the original pads with 0 = <s>)")
	legacyLabel := fs.Bool("legacy-label", false, "cosmosqa: reproduce 'int(label) if label else None' (an integer 0 label becomes null)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "worker goroutines")
	quiet := fs.Bool("quiet", false, "no progress output")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile to this file (for benchmarking)")
	zstd := fs.Bool("zstd", true, "zstd-compress the Arrow record batches (padded ids shrink about 20x; pyarrow, datasets and arrow-go read them); --zstd=false writes them uncompressed")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	format, known := features.Lookup(*task)
	switch {
	case *task == "":
		return cli.Usagef("--task is required (%s)", strings.Join(features.Tasks(), "|"))
	case !known:
		return cli.Usagef("unknown --task %q (want %s)", *task, strings.Join(features.Tasks(), "|"))
	case *in == "":
		return cli.Usagef("--in is required")
	case *vocab == "":
		return cli.Usagef("--vocab is required")
	case *out == "":
		return cli.Usagef("--out is required")
	case *maxLen < 0:
		return cli.Usagef("--max-seq-length must not be negative")
	}
	arrowIn := strings.HasSuffix(strings.ToLower(*in), ".arrow")
	if arrowIn && format.Layout != features.LayoutRelation {
		return cli.Usagef("Arrow input is supported for relation tasks (trex-rc, tacred) only")
	}
	mapping, err := features.ParseHeadMapping(*headMapping)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	cfg := features.Config{Task: *task, MaxSeqLength: *maxLen, NegativeSample: *negative, ClampAtMax: *clamp,
		HeadMapping: mapping, PadID: *padID, LegacyLabel: *legacyLabel}
	if *labelsPath != "" {
		if cfg.Labels, err = features.ReadLabels(*labelsPath); err != nil {
			return err
		}
	} else if format.NeedsLabels {
		return cli.Usagef("--task %s needs --labels (labels.json, or the train.json to build the list from)", *task)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	tok, err := features.LoadTokenizer(*vocab)
	if err != nil {
		return err
	}
	conv, err := features.NewConverter(tok, cfg)
	if err != nil {
		return err
	}
	cfg = conv.Config()
	schema, err := features.Schema(*task)
	if err != nil {
		return err
	}

	var srcs []pipeline.Source
	var total int64
	if arrowIn {
		// The file itself or its rotated shards (train-00000-of-00002.arrow ...).
		files, err := pipeline.ArrowFiles(*in)
		if err != nil {
			return err
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				total += fi.Size()
			}
		}
	} else {
		if srcs, err = pipeline.ExpandSources([]string{*in}, pipeline.ExpandOptions{}); err != nil {
			return err
		}
		if len(srcs) != 1 {
			return cli.Usagef("--in names %d files; give one task file", len(srcs))
		}
		total = srcs[0].Size
	}
	mode := pipeline.ProgressAuto
	if *quiet {
		mode = pipeline.ProgressOff
	}
	prog := pipeline.NewProgress(env.Stderr, pipeline.ProgressOptions{Label: "kprep features " + *task, TotalBytes: total, Mode: mode, Unit: "examples"})
	sink, err := pipeline.NewArrowSink(*out, schema, pipeline.ArrowOptions{Zstd: *zstd})
	if err != nil {
		prog.Finish()
		return err
	}
	started := time.Now()

	var next func() (featureChunk, bool, error)
	var cleanup func()
	var inputErr error // the problem that ended a JSON input early
	if arrowIn {
		next, cleanup = arrowChunks(ctx, *in, prog)
	} else {
		next, cleanup, err = jsonChunks(srcs[0], prog, *strict, &inputErr)
		if err != nil {
			sink.Abort()
			prog.Finish()
			return err
		}
	}

	warn := prog.Writer(env.Stderr) // warnings that keep the progress bar intact
	var sum features.Summary
	records, badUTF8 := 0, 0
	shown := map[string]int{}
	work := func(_ context.Context, c featureChunk) (featureResults, error) {
		n := len(c.raw) + len(c.rel)
		out := featureResults{res: make([]features.Result, n), badUTF8: make([]bool, n)}
		res := out.res
		for i := 0; i < n; i++ {
			if c.rel != nil {
				res[i] = conv.ConvertRelation(c.start+i, &c.rel[i])
			} else if c.raw[i] == nil {
				res[i] = features.Result{Err: &features.DropError{Reason: features.ReasonInvalidRecord,
					Detail: fmt.Sprintf("larger than the %d-byte record limit", pipeline.DefaultMaxElement)}}
			} else {
				raw := c.raw[i]
				if !utf8.Valid(raw) {
					// As kprep tokenize: U+FFFD per maximal subpart
					// (encoding/json would replace byte by byte).
					out.badUTF8[i] = true
					raw = []byte(tokenizer.ToValidUTF8(string(raw)))
				}
				res[i] = conv.Convert(c.start+i, raw)
			}
		}
		return out, nil
	}
	emit := func(fr featureResults) error {
		kept := int64(0)
		rs := fr.res
		for i := range rs {
			r := &rs[i]
			conv.Sequence(r)
			sum.Add(r)
			records++
			if fr.badUTF8[i] {
				badUTF8++
			}
			if r.Err != nil {
				reason := features.DropReason(r.Err)
				rec := records - 1
				if *strict && features.IsRejection(reason) {
					return fmt.Errorf("%s: record %d: %v", *in, rec, r.Err)
				}
				if features.IsRejection(reason) && shown[reason] < 3 {
					shown[reason]++
					fmt.Fprintf(warn, "kprep features: %s: record %d rejected: %v\n", *in, rec, r.Err)
				}
				continue
			}
			if err := features.AppendRow(*task, sink.Builder(), &r.Example); err != nil {
				return err
			}
			if err := sink.RowDone(); err != nil {
				return err
			}
			kept++
		}
		prog.AddDocs(int64(len(rs)))
		prog.AddRecords(kept)
		return nil
	}
	err = pipeline.Ordered(ctx, *workers, next, work, emit)
	cleanup()
	if err != nil {
		sink.Abort()
		prog.Finish()
		return err
	}
	if inputErr != nil {
		// The rest of the input is one rejected record (counted, as kprep
		// trex counts an input that ends early; --strict stopped above).
		if sum.Dropped == nil {
			sum.Dropped = features.DropCounts{}
		}
		sum.Dropped.Add(features.ReasonInvalidInput)
		fmt.Fprintf(env.Stderr, "kprep features: %v: reading stopped there; the %d records before it are kept (--strict stops instead)\n", inputErr, records)
		records++
	}
	if _, err := sink.Close(); err != nil {
		prog.Finish()
		return err
	}
	prog.Finish()

	el := time.Since(started).Seconds()
	s := featuresSummary{Task: *task, Input: *in, Output: *out, MaxSeqLength: cfg.MaxSeqLength, Records: records,
		Kept: sum.Kept, Dropped: map[string]int{}, DroppedTotal: sum.Dropped.Total(), Rejected: sum.Dropped.Rejected(), BadUTF8: badUTF8, Seconds: el}
	if inputErr != nil {
		s.InputError = inputErr.Error()
	}
	for k, v := range sum.Dropped {
		s.Dropped[k] = v
	}
	if el > 0 {
		s.PerSecond = float64(records) / el
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(env.Stdout, "kprep features %s: %d records -> %d examples in %s (max_seq_length %d, %.0f records/s)\n",
		*task, records, sum.Kept, *out, cfg.MaxSeqLength, s.PerSecond)
	if s.DroppedTotal > 0 {
		fmt.Fprintf(env.Stdout, "  dropped %d (%d rejected as bad input):\n", s.DroppedTotal, s.Rejected)
		for _, r := range sum.Reasons() {
			kind := "by design"
			if features.IsRejection(r) {
				kind = "rejected"
			}
			fmt.Fprintf(env.Stdout, "    %-22s %8d  (%s)\n", r, sum.Dropped[r], kind)
		}
	}
	if s.InputError != "" {
		fmt.Fprintf(env.Stdout, "  input ended early: %s\n", s.InputError)
	}
	if badUTF8 > 0 {
		fmt.Fprintf(env.Stdout, "  %d records had invalid UTF-8 (read as U+FFFD)\n", badUTF8)
	}
	return nil
}

// jsonChunks reads raw records from one JSON-array / JSON-lines source.
// A problem that ends the input early (a structural error of the array,
// a read error) ends the chunks without error and is stored in *inputErr,
// so the records before it are kept; under strict it is returned.
func jsonChunks(src pipeline.Source, prog *pipeline.Progress, strict bool, inputErr *error) (func() (featureChunk, bool, error), func(), error) {
	rc, err := src.Open(prog.Bytes())
	if err != nil {
		return nil, nil, err
	}
	rr, err := features.NewRecordReader(rc, src.Name)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	done := false
	idx := 0
	next := func() (featureChunk, bool, error) {
		if done {
			return featureChunk{}, false, nil
		}
		c := featureChunk{start: idx}
		for len(c.raw) < featureChunkSize {
			b, err := rr.Next()
			if errors.Is(err, io.EOF) {
				done = true
				break
			}
			var tooLarge *pipeline.ElementTooLargeError
			if errors.As(err, &tooLarge) {
				// Keep the record count aligned: an oversize element is an
				// invalid record (its bytes were skipped); nil marks it.
				c.raw = append(c.raw, nil)
				idx++
				continue
			}
			if err != nil {
				done = true
				if strict {
					return c, false, fmt.Errorf("%w (--strict)", err)
				}
				*inputErr = err
				break
			}
			c.raw = append(c.raw, append([]byte(nil), b...))
			idx++
		}
		if len(c.raw) == 0 {
			return c, false, nil
		}
		return c, true, nil
	}
	return next, func() { rc.Close() }, nil
}

// arrowChunks reads relation records from Arrow IPC stream files (the
// output of kprep trex) on a goroutine.
func arrowChunks(ctx context.Context, path string, prog *pipeline.Progress) (func() (featureChunk, bool, error), func()) {
	ch := make(chan featureChunk, 4)
	errc := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(ch)
		files, err := pipeline.ArrowFiles(path)
		if err != nil {
			errc <- err
			return
		}
		idx := 0
		for _, f := range files {
			_, err = pipeline.ReadArrow([]string{f}, func(rec arrow.RecordBatch) error {
				recs, err := features.RelationRecordsFromArrow(rec)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				for len(recs) > 0 {
					n := min(featureChunkSize, len(recs))
					select {
					case ch <- featureChunk{start: idx, rel: recs[:n:n]}:
					case <-stop:
						return context.Canceled
					case <-ctx.Done():
						return ctx.Err()
					}
					idx += n
					recs = recs[n:]
				}
				return nil
			})
			if err != nil {
				break
			}
			if fi, err := os.Stat(f); err == nil {
				prog.AddBytes(fi.Size())
			}
		}
		if err != nil {
			errc <- err
		}
	}()
	next := func() (featureChunk, bool, error) {
		c, ok := <-ch
		if !ok {
			select {
			case err := <-errc:
				return c, false, err
			default:
				return c, false, nil
			}
		}
		return c, true, nil
	}
	return next, func() {
		close(stop)
		for range ch {
		}
	}
}
