package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
)

func init() {
	program.Register(&cli.Command{
		Name:    "predict",
		Summary: "predict labels for raw examples (JSON lines in the task's layout)",
		Run:     runPredict,
	})
}

// fillLabel adds the label field a raw prediction record may lack, so the
// task's converter (which the original also uses for labelled data)
// accepts it: tacred "relation": "no_relation", trex-rc the first relation,
// openentity/figer "labels": [], find-head "pairs" with every governor
// ROOT. Records that have the field keep it (and get it back as "gold").
func (t *rtTask) fillLabel(raw []byte) ([]byte, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false, fmt.Errorf("not a JSON object: %v", err)
	}
	key := map[string]string{
		features.TaskTACRED: "relation", features.TaskTREXRC: "relation",
		features.TaskOpenEntity: "labels", features.TaskFIGER: "labels",
		features.TaskFindHead: "pairs", features.TaskCosmosQA: "label",
	}[t.name]
	if v, ok := obj[key]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return raw, true, nil
	}
	switch t.name {
	case features.TaskTACRED:
		obj[key] = json.RawMessage(`"` + features.NoRelation + `"`)
	case features.TaskTREXRC:
		b, _ := json.Marshal(t.labels[0])
		obj[key] = b
	case features.TaskOpenEntity, features.TaskFIGER:
		obj[key] = json.RawMessage(`[]`)
	case features.TaskFindHead:
		var words []json.RawMessage
		if err := json.Unmarshal(obj["tokens"], &words); err != nil {
			return nil, false, fmt.Errorf(`"tokens": %v`, err)
		}
		pairs := make([]map[string]int, len(words))
		for i := range words {
			pairs[i] = map[string]int{"dependent_index": i + 1, "governor_index": 0}
		}
		b, _ := json.Marshal(pairs)
		obj[key] = b
	case features.TaskCosmosQA:
		return raw, false, nil // an absent label is "no label"
	}
	out, err := json.Marshal(obj)
	return out, false, err
}

func runPredict(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "predict", "--task T --model M.onnx --vocab DIR [--in FILE] [--out FILE] [flags]", `
Predicts labels for raw examples written in the task's original record layout
(one JSON object per line, or a JSON array), read from --in or stdin; the label
field may be left out. Writes one JSON line per input record to --out (atomically)
or stdout: {"record", "id", "pred", "pred_id", "logits"} plus "gold" when the
record had a label, or {"record", "error"} for a record that cannot be converted
(--strict fails instead). Inputs are built and padded exactly as krun eval does.`, env.Stderr)
	var tf rtTaskFlags
	var sf rtSessionFlags
	sf.register(fs)
	fs.StringVar(&tf.task, "task", "", "task: tacred, openentity, figer, cosmosqa, trex-rc or find-head (required)")
	model := fs.String("model", "", "exported ONNX graph of the task (required)")
	fs.StringVar(&tf.vocab, "vocab", "", "RoBERTa tokenizer folder: vocab.json + merges.txt, or tokenizer.json (required)")
	fs.StringVar(&tf.labels, "labels", "", "label list (JSON array): required for figer; trex-rc defaults to the original's 410 relations")
	fs.IntVar(&tf.maxLen, "max-seq-length", 0, "max_seq_length (0 = the original script's)")
	fs.Int64Var(&tf.padID, "pad-id", 0, "cosmosqa padding id (the original's 0)")
	fs.StringVar(&tf.headMapping, "head-mapping", "original", "find-head label encoding: original or first-subtoken")
	fs.BoolVar(&tf.clampAtMax, "clamp-at-max", false, "tacred: clamp a marker index equal to max_seq_length instead of rejecting the record")
	in := fs.String("in", "-", "input records (- = stdin)")
	out := fs.String("out", "-", "output file (- = stdout)")
	batchSize := fs.Int("batch-size", 8, "examples per run")
	paddingFlag := fs.String("padding", "fixed", "fixed (the original's numbers) or dynamic (length-sorted)")
	strict := fs.Bool("strict", false, "fail on the first record that cannot be converted")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *model == "" || tf.task == "" {
		return cli.Usagef("--task and --model are required")
	}
	if *batchSize <= 0 {
		return cli.Usagef("--batch-size must be > 0")
	}
	padding, err := krt.ParsePadding(*paddingFlag)
	if err != nil {
		return cli.Usagef("--padding: %v", err)
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	task, err := newRTTask(tf, "", true)
	if err != nil {
		return err
	}
	var r io.Reader = env.Stdin
	name := "stdin"
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, *in
	}
	if r == nil {
		return cli.Usagef("no input: give --in FILE or pipe records to stdin")
	}
	rr, err := features.NewRecordReader(r, name)
	if err != nil {
		return err
	}
	// Convert every record, remembering failures in record order.
	type item struct {
		ex       *features.Example
		hasLabel bool
		err      error
	}
	var items []item
	var examples []features.Example
	for n := 0; ; n++ {
		raw, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", name, n, err)
		}
		filled, had, ferr := task.fillLabel(raw)
		if ferr == nil {
			res := task.conv.Convert(n, filled)
			ferr = res.Err
			if ferr == nil {
				examples = append(examples, res.Example)
				items = append(items, item{hasLabel: had})
				continue
			}
		}
		if *strict {
			return fmt.Errorf("%s: record %d: %v (--strict)", name, n, ferr)
		}
		items = append(items, item{err: ferr})
	}
	k := 0
	for i := range items {
		if items[i].err == nil {
			items[i].ex = &examples[k]
			k++
		}
	}
	outs := make([]rtOut, len(examples))
	if len(examples) > 0 {
		if outs, err = task.runLogits(ctx, env, "krun predict", *model, opts, examples, *batchSize, padding, *quiet); err != nil {
			return err
		}
	}
	var w io.Writer = env.Stdout
	var af *pipeline.AtomicFile
	if *out != "-" {
		if af, err = pipeline.CreateAtomic(*out); err != nil {
			return err
		}
		defer af.Abort()
		w = af
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	k = 0
	failed := 0
	for n, it := range items {
		var p rtPrediction
		if it.err != nil {
			p = rtPrediction{Record: n, Error: it.err.Error()}
			failed++
		} else {
			p = task.predict(it.ex, outs[k], it.hasLabel)
			k++
		}
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if af != nil {
		if err := af.Commit(); err != nil {
			return err
		}
	}
	if !*quiet {
		fmt.Fprintf(env.Stderr, "krun predict %s: %d records, %d predicted, %d could not be converted\n", task.name, len(items), len(examples), failed)
	}
	return nil
}
