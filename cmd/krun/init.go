package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kadapter/kadapter/builders/features"
	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/atomicfile"
	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train"
)

func init() {
	program.Register(&cli.Command{
		Name:    "init",
		Summary: "write a randomly initialized RoBERTa (and adapter files) to train from scratch",
		Run:     runInit,
	})
}

func runInit(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "init", "--out DIR [--vocab DIR] [flags]", `
Writes a randomly initialized RoBERTa as a folder krun train and krun export
read (config.json + pytorch_model.bin, keys roberta.*), initialized as
BertPreTrainedModel does (N(0, 0.02), LayerNorm 1/0, seeded). With --fac or
--lin it also writes a new pre-training adapter file (adapter.* and the
pre-training head, initialized as fac-adapter.py / lin-adapter.py do), for
fine-tuning experiments without pre-trained adapters. The vocabulary size
comes from --vocab (vocab.json) or --vocab-size.`, env.Stderr)
	out := fs.String("out", "", "folder to write (required)")
	vocab := fs.String("vocab", "", "tokenizer folder whose vocab.json sets the vocabulary size")
	vocabSize := fs.Int("vocab-size", 0, "vocabulary size (default: from --vocab; 50265 for RoBERTa)")
	hidden := fs.Int("hidden-size", 768, "hidden size H")
	layers := fs.Int("layers", 12, "transformer layers")
	heads := fs.Int("heads", 12, "attention heads")
	inter := fs.Int("intermediate-size", 3072, "feed-forward width")
	maxPos := fs.Int("max-position-embeddings", 514, "position table size")
	dropout := fs.Float64("dropout", 0.1, "hidden and attention dropout written into config.json")
	seed := fs.Uint64("seed", 42, "seed")
	fac := fs.String("fac", "", "also write a new fac-adapter file here")
	lin := fs.String("lin", "", "also write a new lin-adapter file here")
	list := fs.String("adapter-list", "0,11,22", "hidden-state taps of the new adapters (their count)")
	aSize := fs.Int("adapter-size", 768, "adapter width")
	aLayers := fs.Int("adapter-transformer-layers", 2, "adapter encoder layers")
	aInter := fs.Int("adapter-intermediate", 3072, "adapter intermediate size")
	linLabels := fs.Int("max-seq-length", 64, "lin-adapter head size (find-head's max_seq_length)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return cli.Usagef("--out is required (and no other arguments)")
	}
	n := *vocabSize
	if n == 0 && *vocab != "" {
		tok, err := features.LoadTokenizer(*vocab)
		if err != nil {
			return err
		}
		type sizer interface{ VocabSize() int }
		if s, ok := tok.(sizer); ok {
			n = s.VocabSize()
		}
	}
	if n <= 0 {
		return cli.Usagef("give --vocab or --vocab-size")
	}
	if *hidden <= 0 || *heads <= 0 || *hidden%*heads != 0 || *layers <= 0 || *inter <= 0 {
		return cli.Usagef("--hidden-size must be a positive multiple of --heads; --layers and --intermediate-size positive")
	}
	c := models.RobertaConfig{VocabSize: n, HiddenSize: *hidden, NumHiddenLayers: *layers, NumAttentionHeads: *heads,
		IntermediateSize: *inter, MaxPositionEmbeddings: *maxPos, TypeVocabSize: 1, LayerNormEps: 1e-5, HiddenAct: "gelu"}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	cfg := map[string]any{"architectures": []string{"RobertaModel"}, "model_type": "roberta",
		"vocab_size": n, "hidden_size": *hidden, "num_hidden_layers": *layers, "num_attention_heads": *heads,
		"intermediate_size": *inter, "max_position_embeddings": *maxPos, "type_vocab_size": 1,
		"layer_norm_eps": 1e-5, "hidden_act": "gelu", "hidden_dropout_prob": *dropout,
		"attention_probs_dropout_prob": *dropout, "initializer_range": 0.02, "pad_token_id": 1,
		"bos_token_id": 0, "eos_token_id": 2}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(*out, "config.json"), append(b, '\n')); err != nil {
		return err
	}
	ts := train.NewRoberta(c, *seed)
	if err := checkpoint.WriteTorch(filepath.Join(*out, "pytorch_model.bin"), checkpoint.FormatTorchLegacy, ts); err != nil {
		return err
	}
	var params int
	for _, t := range ts {
		params += len(t.Data)
	}
	fmt.Fprintf(env.Stdout, "krun init: RoBERTa H=%d, %d layers, %d heads, vocabulary %d: %d parameters in %s\n", *hidden, *layers, *heads, n, params, *out)
	taps, err := models.ParseIntList(*list)
	if err != nil {
		return cli.Usagef("--adapter-list: %v", err)
	}
	for _, a := range []struct{ kind, file string }{{"fac", *fac}, {"lin", *lin}} {
		if a.file == "" {
			continue
		}
		def, err := tasks.Pretraining(a.kind)
		if err != nil {
			return err
		}
		w := models.NewWeights()
		made, err := train.InitMissing(def, w, *hidden, train.InitSpec{AdapterList: taps, AdapterSize: *aSize,
			AdapterLayers: *aLayers, AdapterIntermediate: *aInter, Labels: *linLabels, Seed: *seed})
		if err != nil {
			return err
		}
		var ats []*checkpoint.Tensor
		for _, k := range made {
			t := w.Get(k)
			name := k
			for _, p := range []string{"fac_adapter.", "lin_adapter."} {
				name = strings.TrimPrefix(name, p)
			}
			ats = append(ats, &checkpoint.Tensor{Name: name, Shape: t.Shape, DType: checkpoint.Float32, Data: t.Data})
		}
		if err := checkpoint.WriteTorch(a.file, checkpoint.FormatTorchLegacy, ats); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "krun init: new %s adapter model (%d adapters of width %d) in %s\n", def.Adapter, len(taps), *aSize, a.file)
	}
	return nil
}
