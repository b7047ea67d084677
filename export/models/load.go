package models

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kadapter/kadapter/export/checkpoint"
)

// Sources names the files a model is assembled from.
type Sources struct {
	// Roberta is a folder with config.json and the RoBERTa weights
	// (checkpoint.RobertaWeightFileNames: pytorch_pretrained_model.bin as
	// K-Adapter's checkpoints name them, else pytorch_model.bin, else
	// model.safetensors) or a weights file next to config.json.
	Roberta string
	// TaskModel is a fine-tuned task checkpoint (adapters + fusion + head;
	// RobertaModelwithAdapter checkpoints also hold RoBERTa as model.*,
	// which then replaces the RoBERTa folder's weights).
	TaskModel string
	// Fac and Lin are pre-trained adapter files (keys adapter.*, plus the
	// pre-training heads com_dense/dense/out_proj/self_attention).
	Fac, Lin string
}

// LoadWeights reads the files of src for task and returns the weights
// under canonical names and RoBERTa's configuration. Every file goes
// through export/checkpoint's typed extraction, so key prefixes, gamma/beta
// renames, strict adapter keys (quirk 10) and shapes are checked there,
// against config.json's hidden size, before any graph is built.
// Pre-training tasks take their head from the adapter file; fine-tuned
// tasks from the task checkpoint.
func LoadWeights(task Task, src Sources) (*Weights, RobertaConfig, error) {
	if src.Roberta == "" {
		return nil, RobertaConfig{}, fmt.Errorf("the RoBERTa folder (config.json) is required")
	}
	cfgPath := src.Roberta
	if st, err := os.Stat(src.Roberta); err == nil && !st.IsDir() {
		cfgPath = filepath.Join(filepath.Dir(src.Roberta), "config.json")
	}
	c, err := checkpoint.ReadRobertaConfig(cfgPath)
	if err != nil {
		return nil, RobertaConfig{}, err
	}
	cfg := *c
	h := cfg.HiddenSize

	tg, err := Lookup(task)
	if err != nil {
		return nil, cfg, err
	}
	pretrain := tg.Adapter != ""
	if pretrain && src.TaskModel != "" {
		return nil, cfg, fmt.Errorf("task %s reads its adapter and head from --fac/--lin, not a task checkpoint", task)
	}

	w := NewWeights()
	var taskFlat map[string]*checkpoint.Tensor
	robertaFromTask := false
	taskHidden := 0
	if src.TaskModel != "" {
		// The task file's hidden size is inferred, and compared with h only
		// once config.json has been checked against RoBERTa's weights, so
		// that a wrong config.json is blamed on config.json.
		tw, err := checkpoint.LoadTask(src.TaskModel, 0)
		if err != nil {
			return nil, cfg, err
		}
		taskHidden = tw.Hidden
		if tw.Roberta != nil {
			if err := tw.Roberta.CheckConfig(src.TaskModel, c); err != nil {
				return nil, cfg, err
			}
			robertaFromTask = true
		}
		taskFlat = tw.Flatten("roberta.")
	}
	if !robertaFromTask {
		file, err := checkpoint.FindRobertaWeights(src.Roberta)
		if err != nil {
			return nil, cfg, err
		}
		ts, err := checkpoint.Load(file)
		if err != nil {
			return nil, cfg, err
		}
		rw, err := checkpoint.ExtractRoberta(file, ts, "auto")
		if err != nil {
			return nil, cfg, err
		}
		if err := rw.CheckConfig(file, c); err != nil {
			return nil, cfg, err
		}
		if err := w.SetAll(file, rw.Flatten("roberta.")); err != nil {
			return nil, cfg, err
		}
	}
	if taskHidden != 0 && taskHidden != h {
		return nil, cfg, &checkpoint.Error{File: src.TaskModel, Kind: checkpoint.ErrShape,
			Msg: fmt.Sprintf("hidden size %d, but RoBERTa's weights and %s have hidden_size %d", taskHidden, c.Path, h)}
	}

	for _, a := range []struct{ kind, file string }{{"fac", src.Fac}, {"lin", src.Lin}} {
		if a.file == "" {
			continue
		}
		withHead := a.kind == tg.Adapter
		if pretrain && !withHead {
			return nil, cfg, fmt.Errorf("task %s uses only the %s adapter; drop --%s", task, tg.Adapter, a.kind)
		}
		af, err := checkpoint.LoadAdapterFile(a.file, h)
		if err != nil {
			return nil, cfg, err
		}
		if err := w.SetAll(a.file, af.Adapters.Flatten(a.kind+"_adapter.adapter.")); err != nil {
			return nil, cfg, err
		}
		if withHead {
			if err := w.SetAll(a.file, af.Head.Flatten()); err != nil {
				return nil, cfg, err
			}
		}
	}
	if pretrain {
		kind := tg.Adapter
		if (kind == "fac" && src.Fac == "") || (kind == "lin" && src.Lin == "") {
			return nil, cfg, fmt.Errorf("task %s needs the pre-trained %s adapter file (--%s)", task, kind, kind)
		}
	}
	if err := w.SetAll(src.TaskModel, taskFlat); err != nil {
		return nil, cfg, err
	}
	return w, cfg, nil
}
