package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/pipeline"
	krt "github.com/kadapter/kadapter/runtime"
	"github.com/schollz/progressbar/v3"
)

func init() {
	program.Register(&cli.Command{
		Name:    "infer",
		Summary: "run an ONNX graph on .npy inputs and write its outputs as .npy",
		Run:     runInfer,
	})
}

// rtSessionFlags are the ONNX Runtime session flags shared by infer, eval
// and predict.
type rtSessionFlags struct {
	device   string
	threads  int
	inter    int
	graphOpt string
}

func (f *rtSessionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.device, "device", "cpu", "execution device: cpu, cuda or cuda:N (needs an ONNX Runtime build with CUDA and a GPU)")
	fs.IntVar(&f.threads, "threads", 0, "intra-op threads per operator (0 = ONNX Runtime's default, one per physical core)")
	fs.IntVar(&f.inter, "inter-threads", 0, "inter-op threads (0 = default sequential execution)")
	fs.StringVar(&f.graphOpt, "graph-opt", "all", "ONNX Runtime graph optimization level: disable, basic, extended or all")
}

// options validates the flags into session options (usage errors for bad
// values).
func (f *rtSessionFlags) options() (krt.Options, error) {
	dev, err := krt.ParseDevice(f.device)
	if err != nil {
		return krt.Options{}, cli.Usagef("--device: %v", err)
	}
	lvl, err := krt.ParseOptLevel(f.graphOpt)
	if err != nil {
		return krt.Options{}, cli.Usagef("--graph-opt: %v", err)
	}
	if f.threads < 0 || f.inter < 0 {
		return krt.Options{}, cli.Usagef("--threads and --inter-threads must be >= 0")
	}
	return krt.Options{Device: dev, IntraOpThreads: f.threads, InterOpThreads: f.inter, Optimization: lvl}, nil
}

// rtInferSummary is infer's --json output.
type rtInferSummary struct {
	Model       string          `json:"model"`
	Device      string          `json:"device"`
	ORTVersion  string          `json:"onnxruntime_version"`
	Inputs      []krt.IOInfo    `json:"inputs"`
	Outputs     []rtInferOutput `json:"outputs"`
	RunSeconds  float64         `json:"run_seconds"`
	LoadSeconds float64         `json:"load_seconds"`
}

type rtInferOutput struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	DType string  `json:"dtype"`
	File  string  `json:"file"`
}

func runInfer(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "infer", "--model M.onnx --inputs DIR --outputs DIR [flags]", `
Runs an ONNX graph once on .npy arrays and writes every output as .npy: the
debugging path, and how fixtures are checked from outside. For each graph
input NAME the file DIR/NAME.npy is read (int32 arrays feed int64 inputs and
float64 arrays float32 inputs, converted; other mismatches are errors);
--input NAME=FILE reads one input from elsewhere, and a one-hot float [B,L]
array (the original's marker vectors, e.g. subj_special_start_id.npy) feeding
an int64 [B] position input is turned into indices. Each fetched output NAME is
written to OUTDIR/NAME.npy (atomically). Use --list to print the graph's inputs
and outputs without running it. Checking a kadapter-tiny folder from outside:
  krun infer --model tacred.onnx --inputs tacred/inputs --outputs out \
    --input subj_pos=tacred/inputs/subj_special_start_id.npy \
    --input obj_pos=tacred/inputs/obj_special_start_id.npy`, env.Stderr)
	var sf rtSessionFlags
	sf.register(fs)
	model := fs.String("model", "", "ONNX graph to run (required)")
	inDir := fs.String("inputs", "", "folder holding one NAME.npy per graph input (required unless --list, or every input is given by --input)")
	var overrides cli.StringList
	fs.Var(&overrides, "input", "NAME=FILE.npy: read graph input NAME from FILE instead of INPUTS/NAME.npy (repeatable)")
	outDir := fs.String("outputs", "", "folder to write one NAME.npy per output into (required unless --list)")
	fetch := fs.String("fetch", "", "comma-separated outputs to compute (default: all graph outputs)")
	list := fs.Bool("list", false, "print the graph's inputs and outputs and exit")
	asJSON := fs.Bool("json", false, "print a machine-readable summary on stdout")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %v", fs.Args())
	}
	if *model == "" {
		return cli.Usagef("--model is required")
	}
	files := map[string]string{}
	for _, o := range overrides {
		name, file, ok := strings.Cut(o, "=")
		if !ok || name == "" || file == "" {
			return cli.Usagef("--input %q: want NAME=FILE.npy", o)
		}
		files[name] = file
	}
	if !*list && ((*inDir == "" && len(files) == 0) || *outDir == "") {
		return cli.Usagef("--inputs (or --input NAME=FILE) and --outputs are required")
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	opts.Outputs = cli.SplitList(*fetch)
	if *list {
		// The interface comes from the file's graph header: no library,
		// no weights loaded.
		ins, outs, err := krt.ReadInterface(*model)
		if err != nil {
			return err
		}
		if *asJSON {
			sum := rtInferSummary{Model: *model, Inputs: ins}
			for _, o := range outs {
				sum.Outputs = append(sum.Outputs, rtInferOutput{Name: o.Name, Shape: o.Shape, DType: o.DType})
			}
			return rtWriteJSON(env.Stdout, sum)
		}
		fmt.Fprintf(env.Stdout, "%s\ninputs:\n", *model)
		for _, in := range ins {
			fmt.Fprintf(env.Stdout, "  %-24s %-8s %s\n", in.Name, in.DType, rtShape(in.Shape))
		}
		fmt.Fprintln(env.Stdout, "outputs:")
		for _, o := range outs {
			fmt.Fprintf(env.Stdout, "  %-24s %-8s %s\n", o.Name, o.DType, rtShape(o.Shape))
		}
		return nil
	}
	t0 := time.Now()
	sess, err := krt.Open(*model, opts)
	if err != nil {
		return err
	}
	defer sess.Close()
	load := time.Since(t0)
	sum := rtInferSummary{Model: *model, Device: opts.Device.String(), ORTVersion: krt.Version(), Inputs: sess.Inputs(), LoadSeconds: load.Seconds()}
	for name := range files {
		if !sess.HasInput(name) {
			return cli.Usagef("--input %s: the graph has no input %q (inputs: %s)", name, name, rtIONames(sess.Inputs()))
		}
	}
	inputs := map[string]krt.Tensor{}
	for _, in := range sess.Inputs() {
		p, given := files[in.Name]
		if !given {
			p = filepath.Join(*inDir, in.Name+".npy")
		}
		a, err := npy.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("the graph's input %s needs %s, which does not exist (inputs: %s)", in.Name, p, rtIONames(sess.Inputs()))
			}
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(in.Shape) == 1 && in.DType == "int64" && len(a.Shape) == 2 && (a.DType == npy.Float32 || a.DType == npy.Float64) {
			// The original's one-hot marker vectors [B,L] feed index inputs [B].
			if a, err = npy.OneHotToIndex(a); err != nil {
				return fmt.Errorf("%s (one-hot for %s): %w", p, in.Name, err)
			}
		}
		t, err := krt.FromNPY(a, in.DType)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		inputs[in.Name] = t
	}

	t1 := time.Now()
	out, err := sess.Run(ctx, inputs)
	if err != nil {
		return err
	}
	sum.RunSeconds = time.Since(t1).Seconds()
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	for _, name := range sess.Fetched() {
		t := out[name]
		a, err := krt.ToNPY(t)
		if err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
		p := filepath.Join(*outDir, name+".npy")
		if err := npy.WriteFile(p, a); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		sum.Outputs = append(sum.Outputs, rtInferOutput{Name: name, Shape: t.Shape, DType: t.DType(), File: p})
	}
	if *asJSON {
		return rtWriteJSON(env.Stdout, sum)
	}
	fmt.Fprintf(env.Stderr, "krun infer: %s on %s (ONNX Runtime %s): load %.2fs, run %.3fs\n", *model, sum.Device, sum.ORTVersion, sum.LoadSeconds, sum.RunSeconds)
	for _, o := range sum.Outputs {
		fmt.Fprintf(env.Stdout, "%s\t%s\t%v\n", o.File, o.DType, o.Shape)
	}
	return nil
}

// rtShape renders a shape with "?" for dynamic dimensions: [?,?,42].
func rtShape(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func rtIONames(infos []krt.IOInfo) string {
	n := make([]string, len(infos))
	for i, x := range infos {
		n[i] = x.Name
	}
	return strings.Join(n, ", ")
}

func rtWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rtProgress reports examples done: a progressbar/v3 bar on a terminal,
// a log line every interval otherwise, nothing when quiet.
type rtProgress struct {
	label    string
	w        io.Writer
	bar      *progressbar.ProgressBar
	start    time.Time
	last     time.Time
	interval time.Duration
}

func newRTProgress(w io.Writer, label string, total int, quiet bool) *rtProgress {
	p := &rtProgress{label: label, w: w, start: time.Now(), interval: 10 * time.Second}
	p.last = p.start
	if quiet {
		p.w = nil
		return p
	}
	if pipeline.IsTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("examples"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(150*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// update is RunRows' Progress callback.
func (p *rtProgress) update(done, total int) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.interval || done == total {
		p.last = now
		el := now.Sub(p.start).Seconds()
		fmt.Fprintf(p.w, "%s: %d/%d examples (%.1f/s)\n", p.label, done, total, float64(done)/max(el, 1e-9))
	}
}

func (p *rtProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
