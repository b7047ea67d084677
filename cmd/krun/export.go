package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/cli"
)

func init() {
	program.Register(&cli.Command{
		Name:    "export",
		Summary: "export RoBERTa + K-Adapter checkpoints to an ONNX graph",
		Run:     runExport,
	})
}

// exportSummary is export's --json output.
type exportSummary struct {
	Out           string             `json:"out"`
	Task          string             `json:"task"`
	Fusion        string             `json:"fusion"`
	Adapters      []string           `json:"adapters"`
	AdapterList   []int              `json:"adapter_list"`
	AdapterHeads  int                `json:"adapter_heads"`
	SkipLayers    int                `json:"adapter_skip_layers"`
	Inputs        []models.IOSpec    `json:"inputs"`
	Outputs       []models.IOSpec    `json:"outputs"`
	Exposable     []string           `json:"exposable"`
	UnusedWeights []string           `json:"unused_weights"`
	Parameters    int64              `json:"parameters"`
	Save          graph.SaveResult   `json:"file"`
	Seconds       map[string]float64 `json:"seconds"`
}

func runExport(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "export", "--roberta DIR --task T [--task-model FILE | --fac FILE --lin FILE] --out model.onnx [flags]", `
Builds a K-Adapter model from its original checkpoint files (torch legacy,
torch zip or safetensors) and writes it as an ONNX graph (opset 17) with
dynamic batch and sequence axes. The same inputs always give the same bytes.

Tasks: trex-rc (fac-adapter pre-training head; needs --fac), find-head
(lin-adapter pre-training head; needs --lin), tacred, openentity, figer,
cosmosqa (fine-tuned task checkpoints: --task-model holds the adapters,
the fusion layers and the head), features (RobertaModelwithAdapter, "use
K-Adapter like RoBERTa": --task-model, or --fac/--lin with --fusion add).

--roberta names the folder with RoBERTa's config.json and weights
(pytorch_pretrained_model.bin, pytorch_model.bin or model.safetensors), or
a weights file next to its config.json. A task checkpoint that holds
RoBERTa itself (model.* keys) supplies RoBERTa's weights instead.

Adapter width, layer count and intermediate size are read from the
weights; the head count cannot be and comes from --adapter-heads. Graph
inputs: input_ids and attention_mask int64 [batch,seq] ([batch,4,seq] for
cosmosqa), subj_pos/obj_pos int64 [batch] (tacred, trex-rc), entity_pos
int64 [batch] (openentity, figer). Output: logits (features for the
features task), then the --expose intermediates. See docs/export.md.`, env.Stderr)
	roberta := fs.String("roberta", "", "RoBERTa folder (config.json + weights) or weights file (required)")
	taskName := fs.String("task", "", "trex-rc, find-head, tacred, openentity, figer, cosmosqa or features (required)")
	taskModel := fs.String("task-model", "", "fine-tuned task checkpoint (adapters + fusion + head)")
	fac := fs.String("fac", "", "pre-trained fac-adapter file (pytorch_model.bin of fac-adapter.py)")
	lin := fs.String("lin", "", "pre-trained lin-adapter file (pytorch_model.bin of lin-adapter.py)")
	fusion := fs.String("fusion", "concat", "fusion of RoBERTa and adapter outputs: concat or add")
	list := fs.String("adapter-list", "0,11,22", "hidden-state taps, one adapter each (0 = embeddings)")
	heads := fs.Int("adapter-heads", 12, "attention heads of the adapter encoder layers")
	skip := fs.Int("adapter-skip-layers", 0, "adapter_skip_layers as the original computes it (0 = off; 1 is rejected)")
	aRateS := fs.String("a-rate", "", "cosmosqa: weight of RoBERTa's output (no upstream default; required for cosmosqa)")
	bRateS := fs.String("b-rate", "", "cosmosqa: weight of the adapter chain output (required for cosmosqa)")
	maxSeq := fs.Int("max-seq-length", 0, "find-head: expected max_seq_length (checked against out_proj's rows; 0 = take it from the weights)")
	expose := fs.String("expose", "", "comma-separated intermediates to add as outputs (listed in docs/export.md and in the --json summary's exposable field)")
	allPos := fs.Bool("all-positions", false, "tacred, trex-rc, openentity, figer, cosmosqa: run the last layers on every position even without --expose (by default they run only on the rows the head reads: the markers, or position 0 for cosmosqa; same logits)")
	external := fs.Bool("external-data", false, "write initializers to OUT.data even when the model is under 2 GB")
	out := fs.String("out", "", "ONNX file to write (required; written atomically)")
	asJSON := fs.Bool("json", false, "print a machine-readable summary on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *roberta == "" || *taskName == "" || *out == "" {
		return cli.Usagef("--roberta, --task and --out are required")
	}
	task, err := models.ParseTask(*taskName)
	if err != nil {
		return cli.Usagef("--task: %v", err)
	}
	tg, err := models.Lookup(task)
	if err != nil {
		return cli.Usagef("--task: %v", err)
	}
	taps, err := models.ParseIntList(*list)
	if err != nil {
		return cli.Usagef("--adapter-list: %v", err)
	}
	if *fusion != "concat" && *fusion != "add" {
		return cli.Usagef("--fusion must be concat or add, got %q", *fusion)
	}
	if *heads <= 0 {
		return cli.Usagef("--adapter-heads must be positive")
	}
	if *skip == 1 || *skip < 0 {
		return cli.Usagef("--adapter-skip-layers must be 0 or at least 2 (1 makes the original raise IndexError)")
	}
	spec := models.Spec{Task: task, Fusion: *fusion, Expose: cli.SplitList(*expose), AllPositions: *allPos,
		Adapter: models.AdapterConfig{List: taps, Heads: *heads, SkipLayers: *skip}}
	aRate, bRate := math.NaN(), math.NaN()
	for _, r := range []struct {
		flag string
		s    string
		v    *float64
	}{{"--a-rate", *aRateS, &aRate}, {"--b-rate", *bRateS, &bRate}} {
		if r.s == "" {
			continue
		}
		x, err := strconv.ParseFloat(r.s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return cli.Usagef("%s: %q is not a number", r.flag, r.s)
		}
		*r.v = x
	}
	if tg.Rates {
		if math.IsNaN(aRate) || math.IsNaN(bRate) {
			return cli.Usagef("%s needs --a-rate and --b-rate (upstream defines no default; derived projects use 0.5)", task)
		}
		spec.ARate, spec.BRate = aRate, bRate
		if spec.ARate == 0 || spec.BRate == 0 {
			return cli.Usagef("--a-rate and --b-rate must be non-zero")
		}
	} else if !math.IsNaN(aRate) || !math.IsNaN(bRate) {
		return cli.Usagef("--a-rate/--b-rate apply to %s only", strings.Join(ratedTasks(), ", "))
	}
	switch {
	case tg.Adapter != "":
		if *taskModel != "" {
			return cli.Usagef("task %s takes --fac/--lin (the pre-trained adapter file holds its head), not --task-model", task)
		}
	case tg.OptionalTaskModel:
		if *taskModel == "" && *fac == "" && *lin == "" {
			return cli.Usagef("task %s needs --task-model or --fac/--lin", task)
		}
		if *taskModel == "" && *fusion == "concat" {
			return cli.Usagef("concat fusion needs the task_dense* layers of a RobertaModelwithAdapter checkpoint (--task-model); with adapter files alone use --fusion add")
		}
	default:
		if *taskModel == "" {
			return cli.Usagef("task %s needs --task-model (the fine-tuned checkpoint)", task)
		}
	}

	// Export holds the checkpoint tensors and their transposed copies at
	// once; a tighter GC target keeps peak memory near that (the tensors
	// are pointer-free, so collections are cheap). GOGC still overrides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}
	sum := exportSummary{Out: *out, Task: string(task), Fusion: *fusion, AdapterList: taps, AdapterHeads: *heads,
		SkipLayers: *skip, Seconds: map[string]float64{}}
	step := func(n int, what string) func() {
		t0 := time.Now()
		if !*asJSON {
			fmt.Fprintf(env.Stderr, "krun export: [%d/4] %s...\n", n, what)
		}
		return func() { sum.Seconds[strings.Fields(what)[0]] = time.Since(t0).Seconds() }
	}
	total := time.Now()

	done := step(1, "loading checkpoints")
	w, cfg, err := models.LoadWeights(task, models.Sources{Roberta: *roberta, TaskModel: *taskModel, Fac: *fac, Lin: *lin})
	if err != nil {
		return err
	}
	done()
	if err := ctx.Err(); err != nil {
		return err
	}
	spec.Roberta = cfg

	done = step(2, "building the graph")
	g, iface, err := models.Build(spec, w)
	if err != nil {
		return err
	}
	if tg.SeqClasses && *maxSeq > 0 {
		if got := iface.Outputs[0].Shape; !strings.HasSuffix(got, fmt.Sprintf(",%d]", *maxSeq)) {
			return fmt.Errorf("--max-seq-length %d does not match the %s head's classes: logits %s", *maxSeq, task, got)
		}
	}
	done()

	done = step(3, "lowering to ONNX")
	m, err := g.Model(graph.ModelInfo{
		ProducerName: "kadapter", ProducerVersion: "1",
		Doc: "K-Adapter " + string(task) + " exported by krun export",
		Metadata: [][2]string{{"kadapter.task", string(task)}, {"kadapter.fusion", *fusion},
			{"kadapter.adapters", strings.Join(iface.Adapters, ",")}, {"kadapter.adapter_list", *list},
			{"kadapter.adapter_heads", fmt.Sprint(*heads)}, {"kadapter.adapter_skip_layers", fmt.Sprint(*skip)},
			{"kadapter.a_rate", fmt.Sprint(spec.ARate)}, {"kadapter.b_rate", fmt.Sprint(spec.BRate)}},
	})
	if err != nil {
		return err
	}
	for _, t := range m.GetGraph().GetInitializer() {
		n := int64(1)
		for _, d := range t.Dims {
			n *= d
		}
		if t.DataType == int32(graph.Float32) {
			sum.Parameters += n
		}
	}
	done()
	if err := ctx.Err(); err != nil {
		return err
	}

	done = step(4, "writing "+*out)
	res, err := graph.Save(*out, m, graph.SaveOptions{ExternalData: *external})
	if err != nil {
		return err
	}
	done()
	sum.Seconds["total"] = time.Since(total).Seconds()
	sum.Save = res
	sum.Adapters = iface.Adapters
	sum.Inputs, sum.Outputs, sum.Exposable = iface.Inputs, iface.Outputs, iface.Exposable
	sum.UnusedWeights = w.Unused()
	if sum.UnusedWeights == nil {
		sum.UnusedWeights = []string{}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(env.Stdout, "wrote %s: task %s, adapters %s, fusion %s, %d nodes, %d initializers (%.1f MB, %d float parameters)\n",
		*out, task, strings.Join(iface.Adapters, "+"), *fusion, res.Nodes, res.Initializers, float64(res.InitializerBytes)/1e6, sum.Parameters)
	if res.DataFile != "" {
		fmt.Fprintf(env.Stdout, "external data: %s (%.1f MB)\n", res.DataFile, float64(res.DataBytes)/1e6)
	}
	fmt.Fprintln(env.Stdout, "inputs:")
	for _, v := range iface.Inputs {
		fmt.Fprintf(env.Stdout, "  %-26s %-8s %s\n", v.Name, v.DType, v.Shape)
	}
	fmt.Fprintln(env.Stdout, "outputs:")
	for _, v := range iface.Outputs {
		fmt.Fprintf(env.Stdout, "  %-26s %-8s %s\n", v.Name, v.DType, v.Shape)
	}
	if len(sum.UnusedWeights) > 0 {
		fmt.Fprintf(env.Stdout, "unused weights (%d): %s\n", len(sum.UnusedWeights), abbreviate(sum.UnusedWeights, 8))
	}
	fmt.Fprintf(env.Stdout, "took %.2fs (load %.2fs, build %.2fs, lower %.2fs, write %.2fs)\n", sum.Seconds["total"],
		sum.Seconds["loading"], sum.Seconds["building"], sum.Seconds["lowering"], sum.Seconds["writing"])
	return nil
}

func abbreviate(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(xs)-n)
}

// ratedTasks names the tasks whose head takes --a-rate and --b-rate.
func ratedTasks() []string {
	var out []string
	for _, n := range models.TaskNames() {
		if tg, err := models.Lookup(models.Task(n)); err == nil && tg.Rates {
			out = append(out, n)
		}
	}
	return out
}
