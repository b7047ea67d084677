package trexrc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

// ShardDir is the folder of --out that holds the cleaned shards.
const ShardDir = "shards"

// shardFormat changes when the shard layout or the cleaning changes, so
// that --resume never mixes shards of two versions.
const shardFormat = 3

// exampleFields are the columns of the original example layout.
var exampleFields = []arrow.Field{
	{Name: "docid", Type: arrow.BinaryTypes.String},
	{Name: "token", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "relation", Type: arrow.BinaryTypes.String},
	{Name: "subj_start", Type: arrow.PrimitiveTypes.Int64},
	{Name: "subj_end", Type: arrow.PrimitiveTypes.Int64},
	{Name: "obj_start", Type: arrow.PrimitiveTypes.Int64},
	{Name: "obj_end", Type: arrow.PrimitiveTypes.Int64},
	{Name: "subj_label", Type: arrow.BinaryTypes.String},
	{Name: "obj_label", Type: arrow.BinaryTypes.String},
}

// SplitSchema is the schema of train.arrow and dev.arrow: the example
// columns plus label, the index of the relation in the 410-entry list of
// the released fac-adapter (-1 when absent).
var SplitSchema = arrow.NewSchema(append(append([]arrow.Field{}, exampleFields...),
	arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Int64}), nil)

// RelationCount is a relation and its number of examples.
type RelationCount struct {
	Relation string `json:"relation"`
	Examples int64  `json:"examples"`
}

// InputResult is what pass 1 records for one input (the .done.json file
// beside its shard, and an entry of the manifest).
type InputResult struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModUnix int64  `json:"mod_unix"`
	Shard   string `json:"shard"`
	Format  int    `json:"format"`
	// MaxDocumentBytes is the document size limit the shard was made
	// with: a resumed run with another limit redoes the input.
	MaxDocumentBytes int `json:"max_document_bytes"`
	// Error is the problem that stopped reading this input early (truncated
	// or invalid JSON, unreadable file); the examples before it are kept.
	Error     string          `json:"error,omitempty"`
	Counts    trex.Counts     `json:"counts"`
	Relations []RelationCount `json:"relations"` // first-appearance order
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// shardName is a stable file name for a source's shard.
func shardName(src pipeline.Source) string {
	h := fnv.New64a()
	h.Write([]byte(src.Name))
	base := filepath.Base(src.Entry)
	if src.Entry == "" {
		base = filepath.Base(src.Path)
	}
	base = unsafeChars.ReplaceAllString(pipeline.StripCompressionExt(base), "_")
	if len(base) > 80 {
		base = base[:80]
	}
	return fmt.Sprintf("%s-%016x%s", base, h.Sum64(), shardExt)
}

// shardExt is the extension of shard files (shardfmt.go describes them).
const shardExt = ".shard"

func donePath(shard string) string { return strings.TrimSuffix(shard, shardExt) + ".done.json" }

// keysPath is the shard's key file: for every example, its content hash
// (uint64) and the index of its relation in InputResult.Relations
// (uint32), little-endian. The split draw reads these 12 bytes per example
// instead of the whole shard.
func keysPath(shard string) string { return strings.TrimSuffix(shard, shardExt) + ".keys" }

// loadDone returns the recorded result of a finished input, or nil when
// the input must be (re)done.
func loadDone(dir string, src pipeline.Source, maxDoc int) *InputResult {
	shard := filepath.Join(dir, shardName(src))
	b, err := os.ReadFile(donePath(shard))
	if err != nil {
		return nil
	}
	var r InputResult
	if json.Unmarshal(b, &r) != nil || r.Name != src.Name || r.Size != src.Size || r.ModUnix != src.ModUnix || r.Format != shardFormat || r.MaxDocumentBytes != maxDoc {
		return nil
	}
	for _, p := range []string{shard, keysPath(shard)} {
		if _, err := os.Stat(p); err != nil {
			return nil
		}
	}
	return &r
}

// BadRecordError is returned under --strict for the first bad record
// (and its message is the warning for a skipped one by default).
type BadRecordError struct {
	Input  string
	Index  int   // 0-based document index in the input's array (-1 for the file)
	Offset int64 // byte offset of the document
	Triple int   // 0-based triple index in the document (-1: the whole document)
	Reason string
	Err    error
}

// Error implements error: the input, the document and its byte offset,
// the triple, the reason and the problem in words.
func (e *BadRecordError) Error() string {
	loc := e.Input
	if e.Index >= 0 {
		loc += fmt.Sprintf(": document %d at byte offset %d", e.Index, e.Offset)
		if e.Triple >= 0 {
			loc += fmt.Sprintf(", triple %d", e.Triple)
		}
	}
	// The splitter's errors already start with the input's name.
	return loc + ": " + e.Reason + ": " + strings.TrimPrefix(e.Err.Error(), e.Input+": ")
}

// tooLargeRecord describes a document skipped by the splitter.
func tooLargeRecord(input string, tl *pipeline.ElementTooLargeError) *BadRecordError {
	return &BadRecordError{Input: input, Index: tl.Index, Offset: tl.Offset, Triple: -1, Reason: trex.ReasonDocumentTooLarge,
		Err: fmt.Errorf("%d bytes, larger than the limit of %d bytes (--max-doc-mb)", tl.Size, tl.Limit)}
}

// documentRecord describes a document the cleaner rejected (err is a
// *trex.DocumentError).
func documentRecord(input string, index int, offset int64, de *trex.DocumentError) *BadRecordError {
	return &BadRecordError{Input: input, Index: index, Offset: offset, Triple: de.Triple, Reason: trex.ReasonMalformedDocument, Err: de}
}

// tripleRecord describes the first unreadable triple of a document.
func tripleRecord(input string, index int, offset int64, p trex.TripleProblem) *BadRecordError {
	return &BadRecordError{Input: input, Index: index, Offset: offset, Triple: p.Index, Reason: p.Reason, Err: errors.New(p.Msg)}
}

// keptDocs says how many documents before a problem that ends an input
// are kept.
func keptDocs(n int) string {
	switch n {
	case 0:
		return "no document before it"
	case 1:
		return "the document before it is kept"
	}
	return fmt.Sprintf("the %d documents before it are kept", n)
}

// Unwrap returns the underlying problem.
func (e *BadRecordError) Unwrap() error { return e.Err }

// hashExample is an FNV-1a hash of the example's content.
func hashExample(ex *trex.Example) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	str := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0x1f
		h *= prime
	}
	str(ex.DocID)
	for _, t := range ex.Tokens {
		str(t)
	}
	str(ex.Relation)
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(ex.SubjStart))
	binary.LittleEndian.PutUint64(b[8:], uint64(ex.SubjEnd))
	binary.LittleEndian.PutUint64(b[16:], uint64(ex.ObjStart))
	binary.LittleEndian.PutUint64(b[24:], uint64(ex.ObjEnd))
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	str(ex.SubjLabel)
	str(ex.ObjLabel)
	return h
}

// cleanInput runs pass 1 on one input: clean every document into the
// input's shard, then record its result (.done.json) — both atomically.
func cleanInput(ctx context.Context, src pipeline.Source, dir string, opts *Options, prog *pipeline.Progress) (*InputResult, error) {
	shard := filepath.Join(dir, shardName(src))
	res := &InputResult{Name: src.Name, Size: src.Size, ModUnix: src.ModUnix, Shard: filepath.Base(shard), Format: shardFormat, MaxDocumentBytes: opts.MaxDocumentBytes}
	w, err := newShardWriter(shard)
	if err != nil {
		return nil, err
	}
	defer w.abort()

	relIdx := map[string]int{}
	c := trex.NewCleaner()
	emit := func(ex *trex.Example) error {
		i, ok := relIdx[ex.Relation]
		if !ok {
			// ex.Relation may point into the read buffer: copy it before
			// keeping it as a map key.
			rel := strings.Clone(ex.Relation)
			i = len(res.Relations)
			relIdx[rel] = i
			res.Relations = append(res.Relations, RelationCount{Relation: rel})
		}
		res.Relations[i].Examples++
		return w.add(ex, i)
	}

	rc, err := src.Open(progBytes(prog))
	if err != nil {
		if opts.Strict {
			return nil, &BadRecordError{Input: src.Name, Index: -1, Triple: -1, Reason: "unreadable input", Err: err}
		}
		res.Error = err.Error()
	} else {
		if opts.innerWorkers > 1 {
			res.Counts, err = readDocsParallel(ctx, rc, src, opts.innerWorkers, emit, opts, prog, res)
		} else {
			err = readDocs(ctx, rc, src, c, emit, opts, prog, res)
			res.Counts = c.Counts()
		}
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := w.commit(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	if err := pipeline.WriteFileAtomic(donePath(shard), append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

func progBytes(p *pipeline.Progress) *atomic.Int64 {
	if p == nil {
		return nil
	}
	return p.Bytes()
}

// readDocs splits the input's array and cleans each document.
func readDocs(ctx context.Context, r io.Reader, src pipeline.Source, c *trex.Cleaner, emit func(*trex.Example) error, opts *Options, prog *pipeline.Progress, res *InputResult) error {
	a := pipeline.NewArrayReader(r, src.Name, pipeline.ArrayOptions{MaxElement: opts.MaxDocumentBytes})
	var lastExamples int64
	// Documents are decoded in place in the read buffer when they fit
	// (NextPrefix), which saves scanning them twice.
	var doc *trex.Document
	try := func(avail []byte) (int, bool) {
		d, n, ok := c.DecodePrefix(avail)
		doc = d
		return n, ok
	}
	for n := 0; ; n++ {
		if n&63 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw, decoded, err := a.NextPrefix(try)
		if err == io.EOF {
			break
		}
		var tooLarge *pipeline.ElementTooLargeError
		if errors.As(err, &tooLarge) {
			bad := tooLargeRecord(src.Name, tooLarge)
			if opts.Strict {
				return bad
			}
			c.CountTooLarge()
			opts.warnf("%v (skipped)", bad)
			continue
		}
		if err != nil {
			if fatal := arrayError(src.Name, opts.Strict, err); fatal != nil {
				return fatal
			}
			res.Error = err.Error()
			opts.warnf("%v (%s)", err, keptDocs(a.Count()))
			break
		}
		if decoded {
			err = c.CleanDocument(doc, emit)
		} else {
			err = c.Clean(raw, emit)
		}
		var de *trex.DocumentError
		if errors.As(err, &de) {
			bad := documentRecord(src.Name, a.Index(), a.Offset(), de)
			if opts.Strict {
				return bad
			}
			opts.warnf("%v (skipped)", bad)
		} else if err != nil {
			return err
		}
		if p, ok := c.BadTriple(); ok && opts.Strict {
			return tripleRecord(src.Name, a.Index(), a.Offset(), p)
		}
		if prog != nil {
			prog.AddDocs(1)
			ex := c.Counts().Examples
			prog.AddRecords(ex - lastExamples)
			lastExamples = ex
		}
	}
	return nil
}

// arrayError sorts an error of the JSON array reader of input name: nil
// when it is a syntax or read error that may end the input early (the
// documents before it are kept), a BadRecordError for such an error under
// strict, and err itself for anything else.
func arrayError(name string, strict bool, err error) error {
	var se *pipeline.SyntaxError
	if !errors.As(err, &se) && !isReadError(err) {
		return err
	}
	if strict {
		return &BadRecordError{Input: name, Index: -1, Triple: -1, Reason: "invalid JSON array", Err: err}
	}
	return nil
}

// isReadError reports whether err is an I/O error of the input (wrapped
// by the splitter with the input's name), as opposed to a bug.
func isReadError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) || strings.Contains(err.Error(), "read error at byte offset") || errors.Is(err, io.ErrUnexpectedEOF)
}
