package models

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kadapter/kadapter/export/checkpoint"
)

// Sources names the files a model is assembled from.
type Sources struct {
	// Roberta is a folder with config.json and the RoBERTa weights
	// (pytorch_pretrained_model.bin as K-Adapter's checkpoints name them,
	// else pytorch_model.bin, else model.safetensors) or a weights file
	// next to config.json.
	Roberta string
	// TaskModel is a fine-tuned task checkpoint (adapters + fusion + head;
	// RobertaModelwithAdapter checkpoints also hold RoBERTa as model.*,
	// which then replaces the RoBERTa folder's weights).
	TaskModel string
	// Fac and Lin are pre-trained adapter files (keys adapter.*, plus the
	// pre-training heads com_dense/dense/out_proj/self_attention).
	Fac, Lin string
}

// robertaFiles are tried in order inside a RoBERTa folder.
var robertaFiles = []string{"pytorch_pretrained_model.bin", "pytorch_model.bin", "model.safetensors"}

// RobertaWeightsFile resolves Sources.Roberta to a weights file.
func RobertaWeightsFile(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return dir, nil
	}
	for _, f := range robertaFiles {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no RoBERTa weights (looked for %s)", dir, strings.Join(robertaFiles, ", "))
}

// robertaPrefix finds which prefix (roberta., model. or none) a state dict
// uses for RoBERTa, "" and false when it holds none.
func robertaPrefix(ts map[string]*checkpoint.Tensor) (string, bool) {
	for _, p := range []string{"roberta.", "model.", ""} {
		if _, ok := ts[p+"embeddings.word_embeddings.weight"]; ok {
			return p, true
		}
	}
	return "", false
}

// isRobertaKey reports whether the key (without prefix) is a RoBERTa
// parameter.
func isRobertaKey(k string) bool {
	return strings.HasPrefix(k, "embeddings.") || strings.HasPrefix(k, "encoder.") || strings.HasPrefix(k, "pooler.")
}

// renameOld maps old LayerNorm names (gamma/beta) as from_pretrained does.
func renameOld(k string) string {
	k = strings.ReplaceAll(k, "gamma", "weight")
	return strings.ReplaceAll(k, "beta", "bias")
}

// addRoberta stores the RoBERTa tensors of ts under roberta.*; other keys
// with the RoBERTa prefix (lm_head.* has none) are ignored.
func addRoberta(w *Weights, file string, ts map[string]*checkpoint.Tensor, prefix string) error {
	for k, t := range ts {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := strings.TrimPrefix(k, prefix)
		if !isRobertaKey(rest) {
			continue
		}
		if err := w.Set("roberta."+renameOld(rest), file, t); err != nil {
			return err
		}
	}
	return nil
}

// preHeadKeys are the pre-training head prefixes an adapter file may hold
// besides adapter.* (quirk 10: the only keys that may be ignored).
var preHeadKeys = []string{"com_dense.", "dense.", "out_proj.", "self_attention."}

// addAdapterFile stores a pre-trained adapter file: adapter.* under
// kind_adapter.adapter.*, and, when withHead, its pre-training head keys
// under their own names. Any other key is an error naming it.
func addAdapterFile(w *Weights, kind, file string, withHead bool) error {
	ts, err := checkpoint.Load(file)
	if err != nil {
		return err
	}
	n := 0
	for k, t := range ts {
		switch {
		case strings.HasPrefix(k, "adapter."):
			n++
			if err := w.Set(kind+"_adapter."+k, file, t); err != nil {
				return err
			}
		case hasAnyPrefix(k, preHeadKeys):
			if withHead {
				if err := w.Set(k, file, t); err != nil {
					return err
				}
			}
		default:
			return &checkpoint.Error{File: file, Key: k, Kind: checkpoint.ErrUnexpectedKey,
				Msg: "an adapter file holds adapter.* and the pre-training head (com_dense, dense, out_proj, self_attention) only"}
		}
	}
	if n == 0 {
		return &checkpoint.Error{File: file, Key: "adapter.0.down_project.weight", Kind: checkpoint.ErrMissingKey,
			Msg: "not an adapter file"}
	}
	return nil
}

func hasAnyPrefix(k string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// LoadWeights reads the files of src for task and returns the weights
// under canonical names and RoBERTa's configuration. Pre-training tasks
// take their head from the adapter file; fine-tuned tasks from the task
// checkpoint.
func LoadWeights(task Task, src Sources) (*Weights, RobertaConfig, error) {
	w := NewWeights()
	if src.Roberta == "" {
		return nil, RobertaConfig{}, fmt.Errorf("the RoBERTa folder (config.json) is required")
	}
	cfgPath := src.Roberta
	if st, err := os.Stat(src.Roberta); err == nil && !st.IsDir() {
		cfgPath = filepath.Join(filepath.Dir(src.Roberta), "config.json")
	}
	cfg, err := ReadRobertaConfig(cfgPath)
	if err != nil {
		return nil, cfg, err
	}

	var taskTensors map[string]*checkpoint.Tensor
	robertaFromTask := false
	if src.TaskModel != "" {
		taskTensors, err = checkpoint.Load(src.TaskModel)
		if err != nil {
			return nil, cfg, err
		}
		if p, ok := robertaPrefix(taskTensors); ok && p != "" {
			robertaFromTask = true
			if err := addRoberta(w, src.TaskModel, taskTensors, p); err != nil {
				return nil, cfg, err
			}
		}
	}
	if !robertaFromTask {
		file, err := RobertaWeightsFile(src.Roberta)
		if err != nil {
			return nil, cfg, err
		}
		ts, err := checkpoint.Load(file)
		if err != nil {
			return nil, cfg, err
		}
		p, ok := robertaPrefix(ts)
		if !ok {
			return nil, cfg, &checkpoint.Error{File: file, Key: "roberta.embeddings.word_embeddings.weight",
				Kind: checkpoint.ErrMissingKey, Msg: "no RoBERTa weights under the prefixes roberta., model. or none"}
		}
		if err := addRoberta(w, file, ts, p); err != nil {
			return nil, cfg, err
		}
	}

	pretrain := task == TaskPretrainFac || task == TaskPretrainLin
	if pretrain && src.TaskModel != "" {
		return nil, cfg, fmt.Errorf("task %s reads its adapter and head from --fac/--lin, not a task checkpoint", task)
	}
	for _, a := range []struct{ kind, file string }{{"fac", src.Fac}, {"lin", src.Lin}} {
		if a.file == "" {
			continue
		}
		withHead := (task == TaskPretrainFac && a.kind == "fac") || (task == TaskPretrainLin && a.kind == "lin")
		if pretrain && !withHead {
			return nil, cfg, fmt.Errorf("task %s uses only the %s adapter; drop --%s", task, map[bool]string{true: "fac", false: "lin"}[task == TaskPretrainFac], a.kind)
		}
		if err := addAdapterFile(w, a.kind, a.file, withHead); err != nil {
			return nil, cfg, err
		}
	}
	if pretrain {
		kind := map[Task]string{TaskPretrainFac: "fac", TaskPretrainLin: "lin"}[task]
		if (kind == "fac" && src.Fac == "") || (kind == "lin" && src.Lin == "") {
			return nil, cfg, fmt.Errorf("task %s needs the pre-trained %s adapter file (--%s)", task, kind, kind)
		}
	}
	for k, t := range taskTensors {
		if robertaFromTask {
			if p, _ := robertaPrefix(taskTensors); strings.HasPrefix(k, p) && isRobertaKey(strings.TrimPrefix(k, p)) {
				continue
			}
		}
		if err := w.Set(k, src.TaskModel, t); err != nil {
			return nil, cfg, err
		}
	}
	return w, cfg, nil
}
