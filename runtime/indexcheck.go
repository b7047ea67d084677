package runtime

import (
	"errors"
	"fmt"
	"regexp"
)

// IndexLimit says that a graph input is used as row indices into an
// embedding table (a Gather on axis 0 of an initializer, reached from the
// input through shape-only ops such as Flatten): its values must lie in
// [0, Rows). ONNX Runtime would reject a value outside with an error that
// names only a node; Session.Run and Session.CheckRows check first and name
// the input, the value, the table and its size.
type IndexLimit struct {
	// Input is the graph input ("input_ids").
	Input string
	// Table is the initializer indexed ("roberta.embeddings.word_embeddings.weight").
	Table string
	// Rows is the table's first dimension: the number of valid ids.
	Rows int64
}

// ReadIndexLimits finds the graph inputs of the .onnx file at path that
// index an embedding table, without ONNX Runtime and without reading the
// weights. When an input indexes several tables the smallest is kept.
func ReadIndexLimits(path string) ([]IndexLimit, error) {
	g, err := readGraphInfo(path)
	if err != nil {
		return nil, err
	}
	return g.indexLimits(), nil
}

// shapeOnlyOps pass index values through unchanged.
var shapeOnlyOps = map[string]bool{"Identity": true, "Flatten": true, "Reshape": true,
	"Squeeze": true, "Unsqueeze": true, "Cast": true}

func (g *graphInfo) indexLimits() []IndexLimit {
	producer := map[string]*nodeInfo{}
	for i := range g.nodes {
		for _, o := range g.nodes[i].outputs {
			producer[o] = &g.nodes[i]
		}
	}
	isInput := map[string]bool{}
	for _, in := range g.inputs {
		if !g.inits[in.Name] {
			isInput[in.Name] = true
		}
	}
	var out []IndexLimit
	at := map[string]int{}
	for _, nd := range g.nodes {
		if nd.op != "Gather" || (nd.domain != "" && nd.domain != "ai.onnx") || nd.axis != 0 || len(nd.inputs) < 2 {
			continue
		}
		dims, ok := g.initDims[nd.inputs[0]]
		if !ok || len(dims) == 0 || !g.inits[nd.inputs[0]] {
			continue
		}
		v := nd.inputs[1]
		for steps := 0; !isInput[v] && steps < 16; steps++ {
			p := producer[v]
			if p == nil || !shapeOnlyOps[p.op] || len(p.inputs) == 0 {
				break
			}
			v = p.inputs[0]
		}
		if !isInput[v] {
			continue
		}
		lim := IndexLimit{Input: v, Table: nd.inputs[0], Rows: dims[0]}
		if i, ok := at[v]; !ok {
			at[v] = len(out)
			out = append(out, lim)
		} else if lim.Rows < out[i].Rows {
			out[i] = lim
		}
	}
	return out
}

// IndexError reports an index input value outside its embedding table.
type IndexError struct {
	// Model is the graph file.
	Model string
	// Where names the value's origin when the caller knows it (a data file
	// and record); empty otherwise.
	Where string
	// Limit is the input and the table it indexes.
	Limit IndexLimit
	// Value is the offending id.
	Value int64
	// At is its position: the row and sequence position for CheckRows
	// (row, choice, position for multiple-choice rows), the tensor index
	// for Run.
	At []int
	// Rows is true when At is a row position (CheckRows), false when it is
	// a tensor index (Run).
	Rows bool
}

// Error names the model, the origin, the value, the table and its size.
func (e *IndexError) Error() string {
	where := ""
	if e.Where != "" {
		where = e.Where + ": "
	}
	pos := fmt.Sprintf("at index %v of input %s", e.At, e.Limit.Input)
	if e.Rows {
		switch len(e.At) {
		case 2:
			pos = fmt.Sprintf("at position %d", e.At[1])
		case 3:
			pos = fmt.Sprintf("in choice %d at position %d", e.At[1], e.At[2])
		}
	}
	return fmt.Sprintf("model %s: %s%s id %d %s is outside the model's embedding table %s of %d rows (ids 0..%d): the vocabulary or the inputs do not belong to this model",
		e.Model, where, e.Limit.Input, e.Value, pos, e.Limit.Table, e.Limit.Rows, e.Limit.Rows-1)
}

// IndexLimits lists the session's index inputs and their tables (nil when
// the graph file could not be read for them).
func (s *Session) IndexLimits() []IndexLimit { return s.limits }

// CheckRows checks every token id of rows (the input_ids of RunRows and
// EachRow) against the embedding table input_ids indexes, before anything
// runs. where, when not nil, names row i's origin (data file, record) in
// the *IndexError it returns for the first bad id.
func (s *Session) CheckRows(rows []Row, where func(i int) string) error {
	for _, lim := range s.limits {
		if lim.Input != "input_ids" {
			continue
		}
		for i, r := range rows {
			for c, seq := range r.Seqs {
				for j, id := range seq {
					if id >= 0 && id < lim.Rows {
						continue
					}
					e := &IndexError{Model: s.path, Limit: lim, Value: id, At: []int{i, j}, Rows: true}
					if len(r.Seqs) > 1 {
						e.At = []int{i, c, j}
					}
					if where != nil {
						e.Where = where(i)
					}
					return e
				}
			}
		}
	}
	return nil
}

// checkIndices checks the session's index inputs among inputs.
func (s *Session) checkIndices(inputs map[string]Tensor) error {
	for _, lim := range s.limits {
		t, ok := inputs[lim.Input]
		if !ok {
			continue
		}
		var bad func(i int) (int64, bool)
		switch d := t.Data.(type) {
		case []int64:
			bad = func(i int) (int64, bool) { return d[i], d[i] < 0 || d[i] >= lim.Rows }
		case []int32:
			bad = func(i int) (int64, bool) { return int64(d[i]), d[i] < 0 || int64(d[i]) >= lim.Rows }
		default:
			continue
		}
		for i := 0; i < dataLen(t.Data); i++ {
			if v, ok := bad(i); ok {
				return &IndexError{Model: s.path, Limit: lim, Value: v, At: unravel(i, t.Shape)}
			}
		}
	}
	return nil
}

// unravel turns a flat row-major index into a multi-dimensional one.
func unravel(i int, shape []int64) []int {
	at := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			at[d] = i % int(shape[d])
			i /= int(shape[d])
		}
	}
	return at
}

// ansiEscape matches terminal escape sequences (colours) that ONNX
// Runtime's messages may carry.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;?]*[ -/]*[@-~]")

// stripANSI removes terminal escape sequences from s.
func stripANSI(s string) string { return ansiEscape.ReplaceAllString(s, "") }

// ortError is an ONNX Runtime error with terminal escape sequences
// removed from its message; Unwrap returns the original.
type ortError struct{ err error }

func (e *ortError) Error() string { return stripANSI(e.err.Error()) }
func (e *ortError) Unwrap() error { return e.err }

// cleanORT wraps an error that came from ONNX Runtime so that its message
// has no terminal escape sequences (nil stays nil).
func cleanORT(err error) error {
	if err == nil {
		return nil
	}
	var already *ortError
	if errors.As(err, &already) {
		return err
	}
	return &ortError{err}
}
