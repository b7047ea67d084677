package evaluate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/pipeline"
	"github.com/kadapter/kadapter/tasks"
)

// FillLabel prepares a raw record (JSON object) for prediction: a record
// with the task's label field (not null) is returned as it is, with had
// set (it is predicted with its gold label); one without gets the task's
// placeholder label (tasks.Eval.FillLabel: tacred "relation":
// "no_relation", trex-rc the first label of labels, openentity/figer
// "labels": [], find-head "pairs" with every governor ROOT) so that the
// task's converter, which the original also uses for labelled data,
// accepts it. CosmosQA records are left as they are (no label = "no
// label").
func FillLabel(def *tasks.Definition, labels []string, raw []byte) (out []byte, had bool, err error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false, fmt.Errorf("not a JSON object: %v", err)
	}
	if v, ok := obj[def.Eval.LabelField]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return raw, true, nil
	}
	if def.Eval.FillLabel == nil {
		return raw, false, nil
	}
	if err := def.Eval.FillLabel(obj, labels); err != nil {
		return nil, false, err
	}
	out, err = json.Marshal(obj)
	return out, false, err
}

// Record is one raw record read for prediction.
type Record struct {
	// Example is the converted record (nil when it could not be).
	Example *features.Example
	// HasLabel is set when the record had its label field.
	HasLabel bool
	// Err says why the record could not be converted.
	Err error
}

// ReadForPrediction reads raw records (JSON lines or a JSON array, named
// name in errors) whose label field may be left out (FillLabel) and
// converts them. It returns one Record per input record, in order, and the
// converted examples (the Records' Examples point into it). With
// Options.Strict a record that cannot be converted is an error.
func (t *Task) ReadForPrediction(r io.Reader, name string) ([]Record, []features.Example, error) {
	if t.conv == nil {
		return nil, nil, fmt.Errorf("task %s was set up without its feature converter: it reads features, not records", t.Name)
	}
	rr, err := features.NewRecordReader(r, name)
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var examples []features.Example
	for n := 0; ; n++ {
		raw, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: record %d: %w", name, n, err)
		}
		filled, had, ferr := FillLabel(t.Def, t.Labels, raw)
		if ferr == nil {
			res := t.conv.Convert(n, filled)
			ferr = res.Err
			if ferr == nil {
				examples = append(examples, res.Example)
				recs = append(recs, Record{HasLabel: had})
				continue
			}
		}
		if t.opts.Strict {
			return nil, nil, fmt.Errorf("%s: record %d: %v (--strict)", name, n, ferr)
		}
		recs = append(recs, Record{Err: ferr})
	}
	k := 0
	for i := range recs {
		if recs[i].Err == nil {
			recs[i].Example = &examples[k]
			k++
		}
	}
	return recs, examples, nil
}

// Prediction builds the prediction line of one example from its output;
// withGold adds its gold label.
func (t *Task) Prediction(ex *features.Example, o tasks.Output, withGold bool) tasks.Prediction {
	p := tasks.Prediction{Record: ex.Record, ID: ex.ID}
	t.Def.Eval.Predict(&p, ex, o, t.Labels, withGold)
	return p
}

// Predictions builds one line per record (ReadForPrediction): the
// prediction of a converted record, in order, from outs (Run over the
// examples), with its gold label when it had one, or {"record", "error"}.
func (t *Task) Predictions(recs []Record, outs []tasks.Output) []tasks.Prediction {
	lines := make([]tasks.Prediction, len(recs))
	k := 0
	for n, r := range recs {
		if r.Err != nil {
			lines[n] = tasks.Prediction{Record: n, Error: r.Err.Error()}
			continue
		}
		lines[n] = t.Prediction(r.Example, outs[k], r.HasLabel)
		k++
	}
	return lines
}

// WritePredictions writes one JSON line per example (with its gold label)
// to path, atomically: krun eval --predictions.
func (t *Task) WritePredictions(path string, examples []features.Example, outs []tasks.Output) error {
	f, err := pipeline.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	for i := range examples {
		if err := enc.Encode(t.Prediction(&examples[i], outs[i], true)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}
