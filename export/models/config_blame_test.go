package models_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/testshared"
)

// TestLoadWeightsBlamesConfig: a config.json whose hidden_size (or another
// size) disagrees with RoBERTa's weights is reported against config.json
// and the field, not against the task or adapter file that is read with it.
func TestLoadWeightsBlamesConfig(t *testing.T) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	good, err := os.ReadFile(filepath.Join(root, "roberta", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	robertaDir := func(t *testing.T, from, to string) (string, string) {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(root, "roberta", "pytorch_model.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "config.json")
		if err := os.WriteFile(cfg, []byte(strings.Replace(string(good), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, cfg
	}
	taskModel := filepath.Join(root, "tacred", "pytorch_model.bin")
	fac := filepath.Join(root, "fac-adapter", "pytorch_model.bin")
	cases := []struct {
		name     string
		task     models.Task
		from, to string
		src      func(dir string) models.Sources
		want     []string
	}{
		{"hidden_size, task checkpoint", models.TaskTACRED, `"hidden_size": 64`, `"hidden_size": 128`,
			func(d string) models.Sources { return models.Sources{Roberta: d, TaskModel: taskModel} },
			[]string{"hidden_size is 128", "give 64"}},
		{"hidden_size, adapter file", models.TaskPretrainFac, `"hidden_size": 64`, `"hidden_size": 32`,
			func(d string) models.Sources { return models.Sources{Roberta: d, Fac: fac} },
			[]string{"hidden_size is 32", "give 64"}},
		{"num_hidden_layers, task checkpoint", models.TaskTACRED, `"num_hidden_layers": 4`, `"num_hidden_layers": 12`,
			func(d string) models.Sources { return models.Sources{Roberta: d, TaskModel: taskModel} },
			[]string{"num_hidden_layers is 12", "give 4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := robertaDir(t, tc.from, tc.to)
			_, _, err := models.LoadWeights(tc.task, tc.src(dir))
			var ce *checkpoint.Error
			if !errors.As(err, &ce) || !errors.Is(err, checkpoint.ErrShape) {
				t.Fatalf("error %v, want a checkpoint shape error", err)
			}
			if ce.File != cfg {
				t.Errorf("error %q is about %s, want %s", err, ce.File, cfg)
			}
			for _, w := range append(tc.want, cfg) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	dir, _ := robertaDir(t, "", "")
	if _, _, err := models.LoadWeights(models.TaskTACRED, models.Sources{Roberta: dir, TaskModel: taskModel}); err != nil {
		t.Fatalf("good config: %v", err)
	}
}
