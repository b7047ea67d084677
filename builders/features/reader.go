package features

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kadapter/kadapter/pipeline"
)

// RecordReader yields the raw JSON records of a task file, which may be one
// JSON array (TACRED, trex-rc, find_head, OpenEntity, FIGER) or JSON lines
// (CosmosQA); the layout is sniffed from the first non-space byte.
type RecordReader struct {
	name  string
	arr   *pipeline.ArrayReader
	lines *bufio.Reader
	index int
	line  int
	buf   []byte
}

// NewRecordReader returns a reader of r; name is used in errors.
func NewRecordReader(r io.Reader, name string) (*RecordReader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	rr := &RecordReader{name: name, index: -1}
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			rr.lines = br // empty input: no records
			return rr, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case 0xEF: // UTF-8 BOM
			bom, _ := br.Peek(3)
			if bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				br.Discard(3)
				continue
			}
		case '[':
			rr.arr = pipeline.NewArrayReader(br, name, pipeline.ArrayOptions{})
			return rr, nil
		}
		rr.lines = br
		return rr, nil
	}
}

// Index returns the 0-based index of the record last returned.
func (r *RecordReader) Index() int { return r.index }

// Next returns the next record's raw bytes (valid until the next call), or
// io.EOF. A JSON-lines record is one non-blank line. A structural error in
// a JSON array is returned as is (reading cannot go on).
func (r *RecordReader) Next() ([]byte, error) {
	if r.arr != nil {
		b, err := r.arr.Next()
		if err == nil {
			r.index++
		} else {
			var tooLarge *pipeline.ElementTooLargeError
			if errors.As(err, &tooLarge) {
				r.index++
			}
		}
		return b, err
	}
	for {
		line, err := r.lines.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.buf = append(r.buf[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = r.lines.ReadSlice('\n')
				r.buf = append(r.buf, line...)
			}
			line = r.buf
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		if len(line) > 0 {
			r.line++
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			r.index++
			return t, nil
		}
		if err == io.EOF {
			return nil, io.EOF
		}
	}
}

// Line returns the 1-based line number of the record last returned (JSON
// lines only; 0 for arrays).
func (r *RecordReader) Line() int { return r.line }

// ReadLabels reads a label list file: a JSON array of strings
// (relations.json, labels.json, kadapter_trex_relations.json). For FIGER it
// also accepts a training file (a JSON array of records with "labels") and
// builds the list from it in first-appearance order, as the original does
// without labels.json.
func ReadLabels(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var labels []string
	if err := json.Unmarshal(data, &labels); err == nil {
		if len(labels) == 0 {
			return nil, fmt.Errorf("%s: empty label list", path)
		}
		return labels, nil
	}
	var recs []struct {
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: neither a JSON array of label strings nor of records with \"labels\": %v", path, err)
	}
	er := make([]EntityRecord, len(recs))
	for i := range recs {
		er[i].Labels = recs[i].Labels
	}
	labels = FIGERLabelsFromRecords(er)
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no labels found", path)
	}
	return labels, nil
}
