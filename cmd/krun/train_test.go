package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
)

// trainArgs writes o as a krun train command line.
func trainArgs(o train.Options) []string {
	h := o.Hyper
	list := make([]string, len(o.AdapterList))
	for i, v := range o.AdapterList {
		list[i] = fmt.Sprint(v)
	}
	args := []string{"train", "--task", o.Task, "--roberta", o.Sources.Roberta,
		"--adapter-list", strings.Join(list, ","), "--adapter-heads", fmt.Sprint(o.AdapterHeads),
		"--adapter-skip-layers", fmt.Sprint(o.SkipLayers), "--fusion", o.Fusion,
		"--data", o.Data, "--out", o.Out, "--epochs", fmt.Sprint(h.Epochs), "--t-total", fmt.Sprint(o.TTotal),
		"--batch-size", fmt.Sprint(h.BatchSize), "--gradient-accumulation-steps", fmt.Sprint(h.Accumulation),
		"--learning-rate", fmt.Sprint(h.LearningRate), "--warmup-steps", fmt.Sprint(h.WarmupSteps),
		"--weight-decay", fmt.Sprint(h.WeightDecay), "--adam-epsilon", fmt.Sprint(h.AdamEpsilon),
		"--max-grad-norm", fmt.Sprint(h.MaxGradNorm), "--dropout", fmt.Sprint(o.Dropout),
		"--shuffle=false", "--seed", fmt.Sprint(o.Seed), "--loop", string(o.Loop), "--threads", "1", "--json", "--quiet"}
	for flag, v := range map[string]string{"--task-model": o.Sources.TaskModel, "--fac": o.Sources.Fac, "--lin": o.Sources.Lin} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	if o.ARate != 0 {
		args = append(args, "--a-rate", fmt.Sprint(o.ARate), "--b-rate", fmt.Sprint(o.BRate))
	}
	return args
}

// TestTrainFixturesUpstream runs `krun train --loop upstream` on every
// kadapter-tiny training setup (graph optimization all) and checks lrs,
// losses, clip norms, final and frozen parameters and the checkpoint's
// files against the original code (train/traintest).
func TestTrainFixturesUpstream(t *testing.T) {
	traintest.CheckAll(t, func(t *testing.T, o train.Options) (*train.Result, []train.UpdateLog) {
		var out, errb bytes.Buffer
		code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, trainArgs(o))
		if code != 0 {
			t.Fatalf("krun train: exit %d: %s", code, errb.String())
		}
		var sum struct {
			Result *train.Result `json:"result"`
		}
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Result == nil {
			t.Fatalf("--json summary: %v: %s", err, out.String())
		}
		f, err := os.Open(filepath.Join(o.Out, "log.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var logs []train.UpdateLog
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var u train.UpdateLog
			if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
				t.Fatalf("log.jsonl: %v", err)
			}
			logs = append(logs, u)
		}
		if len(logs) != sum.Result.Updates {
			t.Fatalf("log.jsonl has %d lines for %d updates", len(logs), sum.Result.Updates)
		}
		return sum.Result, logs
	})
}
