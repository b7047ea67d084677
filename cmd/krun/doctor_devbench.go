package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kadapter/kadapter/internal/cli"
	"github.com/kadapter/kadapter/internal/npy"
	krt "github.com/kadapter/kadapter/runtime"
)

// krun devbench: the device checks of bench/gpu/run.sh, kept in krun so
// that the GPU machine needs one binary. Modes:
//
//	files      the kadapter-tiny files parity reads (for bundling)
//	parity     export every kadapter-tiny graph and compare it with ref_float64 on each device mode
//	throughput time a graph on batches of .npy inputs, device-resident

func init() {
	program.Register(&cli.Command{
		Name:    "devbench",
		Summary: "device checks for bench/gpu: fixture parity per device mode, device-resident throughput",
		Run:     runDevbench,
	})
}

// devCase is one kadapter-tiny folder exported with krun export flags.
type devCase struct {
	Name  string
	Dir   string
	Flags []string // krun export flags besides --roberta/--out/--adapter-*
	Main  string   // main output
	// Refs maps ref_float64 array -> graph output.
	Refs map[string]string
	// Positions maps graph input -> one-hot fixture input.
	Positions map[string]string
}

var devRobertaRefs = map[string]string{"roberta_hidden_states": "roberta_hidden_states",
	"roberta_pooled_output": "roberta_pooled_output", "roberta_sequence_output": "roberta_sequence_output"}

func devWith(extra map[string]string, base ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, b := range base {
		for k, v := range b {
			out[k] = v
		}
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// devCases mirrors export/models' fixture table (the same folders, flags
// and references), expressed as krun export command lines.
var devCases = []devCase{
	{Name: "pretrain_fac", Dir: "pretrain_fac", Flags: []string{"--task", "trex-rc", "--fac", "fac-adapter/pytorch_model.bin"}, Main: "logits",
		Refs:      devWith(map[string]string{"logits": "logits", "adapter_output": "adapter_outputs"}, devRobertaRefs),
		Positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{Name: "pretrain_lin", Dir: "pretrain_lin", Flags: []string{"--task", "find-head", "--lin", "lin-adapter/pytorch_model.bin"}, Main: "logits",
		Refs: devWith(map[string]string{"logits": "logits", "adapter_output": "adapter_outputs", "attention_probs": "attention_probs"}, devRobertaRefs)},
	{Name: "tacred", Dir: "tacred", Flags: []string{"--task", "tacred", "--task-model", "tacred/pytorch_model.bin", "--fusion", "concat"}, Main: "logits",
		Refs: devWith(map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output", "lin_adapter_output": "lin_adapter_output",
			"fac_features": "fac_features", "lin_features": "lin_features", "task_features": "task_features", "subj_output": "subj_output",
			"obj_output": "obj_output"}, devRobertaRefs),
		Positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{Name: "tacred_add_fac", Dir: "tacred_add_fac", Flags: []string{"--task", "tacred", "--task-model", "tacred_add_fac/pytorch_model.bin", "--fusion", "add"}, Main: "logits",
		Refs:      map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output", "task_features": "task_features"},
		Positions: map[string]string{"subj_pos": "subj_special_start_id", "obj_pos": "obj_special_start_id"}},
	{Name: "openentity", Dir: "openentity", Flags: []string{"--task", "openentity", "--task-model", "openentity/pytorch_model.bin", "--fusion", "concat"}, Main: "logits",
		Refs: devWith(map[string]string{"logits": "logits", "fac_adapter_output": "fac_adapter_output", "lin_adapter_output": "lin_adapter_output",
			"task_features": "task_features", "entity_output": "entity_output"}, devRobertaRefs),
		Positions: map[string]string{"entity_pos": "start_id"}},
	{Name: "figer", Dir: "figer", Flags: []string{"--task", "figer", "--task-model", "figer/pytorch_task_model.bin", "--fusion", "concat"}, Main: "logits",
		Refs: map[string]string{"logits": "logits"}, Positions: map[string]string{"entity_pos": "start_id"}},
	{Name: "cosmosqa", Dir: "cosmosqa", Flags: []string{"--task", "cosmosqa", "--task-model", "cosmosqa/pytorch_model.bin", "--fusion", "concat", "--a-rate", "1", "--b-rate", "1"}, Main: "logits",
		Refs: devWith(map[string]string{"logits": "logits", "fac_adapter_chain_output": "fac_adapter_chain_output",
			"fac_adapter_model_output": "fac_adapter_model_output", "lin_adapter_model_output": "lin_adapter_model_output", "task_features": "task_features"}, devRobertaRefs)},
	{Name: "cosmosqa_rates", Dir: "cosmosqa_rates", Flags: []string{"--task", "cosmosqa", "--task-model", "cosmosqa_rates/pytorch_model.bin", "--fusion", "concat", "--a-rate", "0.25", "--b-rate", "0.75"}, Main: "logits",
		Refs: devWith(map[string]string{"logits": "logits", "fac_adapter_chain_output": "fac_adapter_chain_output",
			"fac_adapter_model_output": "fac_adapter_model_output", "lin_adapter_model_output": "lin_adapter_model_output", "task_features": "task_features"}, devRobertaRefs)},
	{Name: "roberta_with_adapter_fac_only", Dir: "roberta_with_adapter_fac_only", Flags: []string{"--task", "features", "--task-model", "roberta_with_adapter_fac_only/pytorch_model.bin", "--fusion", "concat"},
		Main: "features", Refs: map[string]string{"task_features": "features"}},
	{Name: "roberta_with_adapter_fac_lin", Dir: "roberta_with_adapter_fac_lin", Flags: []string{"--task", "features", "--task-model", "roberta_with_adapter_fac_lin/pytorch_model.bin", "--fusion", "concat"},
		Main: "features", Refs: map[string]string{"task_features": "features"}},
	{Name: "adapter_skip_layers/skip0", Dir: "adapter_skip_layers", Flags: []string{"--task", "features", "--fac", "fac-adapter/pytorch_model.bin", "--fusion", "add", "--adapter-skip-layers", "0"},
		Main: "features", Refs: map[string]string{"fac_adapter_output_skip0": "fac_adapter_output"}},
	{Name: "adapter_skip_layers/skip2", Dir: "adapter_skip_layers", Flags: []string{"--task", "features", "--fac", "fac-adapter/pytorch_model.bin", "--fusion", "add", "--adapter-skip-layers", "2"},
		Main: "features", Refs: map[string]string{"fac_adapter_output_skip2": "fac_adapter_output"}},
	{Name: "adapter_skip_layers/skip3", Dir: "adapter_skip_layers", Flags: []string{"--task", "features", "--fac", "fac-adapter/pytorch_model.bin", "--fusion", "add", "--adapter-skip-layers", "3"},
		Main: "features", Refs: map[string]string{"fac_adapter_output_skip3": "fac_adapter_output"}},
}

// files lists every fixture file a case reads, relative to the fixture root.
func (c devCase) files() []string {
	fs := []string{"roberta/config.json", "roberta/pytorch_model.bin"}
	for i := 0; i+1 < len(c.Flags); i++ {
		if strings.HasSuffix(c.Flags[i+1], ".bin") {
			fs = append(fs, c.Flags[i+1])
			if dir := filepath.Dir(c.Flags[i+1]); dir == "fac-adapter" || dir == "lin-adapter" {
				fs = append(fs, dir+"/config.json")
			}
		}
	}
	for _, in := range []string{"input_ids", "attention_mask"} {
		fs = append(fs, c.Dir+"/inputs/"+in+".npy")
	}
	for _, p := range c.Positions {
		fs = append(fs, c.Dir+"/inputs/"+p+".npy")
	}
	for ref := range c.Refs {
		fs = append(fs, c.Dir+"/ref_float64/"+ref+".npy")
	}
	// A case folder's config.json (absent for some) is bundled when present.
	return append(fs, c.Dir+"/config.json")
}

// devMode is one way of running a graph.
type devMode struct {
	Name   string
	Device krt.Device
	// Resident runs through DeviceSession (inputs and outputs in device
	// memory); otherwise through Session (onnxruntime_go, host memory).
	Resident bool
	TF32     bool
}

func parseModes(s string) ([]devMode, error) {
	var out []devMode
	for _, m := range cli.SplitList(s) {
		switch m {
		case "cpu":
			out = append(out, devMode{Name: m, Device: krt.CPU})
		case "cpu-resident":
			out = append(out, devMode{Name: m, Device: krt.CPU, Resident: true})
		case "cuda", "cuda-resident":
			out = append(out, devMode{Name: m, Device: krt.Device{CUDA: true}, Resident: m == "cuda-resident"})
		case "cuda-tf32", "cuda-resident-tf32":
			out = append(out, devMode{Name: m, Device: krt.Device{CUDA: true}, Resident: m == "cuda-resident-tf32", TF32: true})
		default:
			return nil, fmt.Errorf("unknown mode %q (cpu, cpu-resident, cuda, cuda-resident, cuda-tf32, cuda-resident-tf32)", m)
		}
	}
	return out, nil
}

func (m devMode) options(threads int) krt.Options {
	o := krt.Options{Device: m.Device, IntraOpThreads: threads}
	if m.Device.CUDA {
		tf32 := "0"
		if m.TF32 {
			tf32 = "1"
		}
		o.CUDA = map[string]string{"use_tf32": tf32}
	}
	return o
}

// devRunner runs one graph in one mode.
type devRunner struct {
	sess *krt.Session
	ds   *krt.DeviceSession
}

func openRunner(path string, m devMode, threads int) (*devRunner, error) {
	if m.Resident {
		ds, err := krt.OpenDevice(path, m.options(threads))
		return &devRunner{ds: ds}, err
	}
	s, err := krt.Open(path, m.options(threads))
	return &devRunner{sess: s}, err
}

func (r *devRunner) run(ctx context.Context, in map[string]krt.Tensor) (map[string]krt.Tensor, error) {
	if r.ds != nil {
		return r.ds.Run(ctx, in)
	}
	return r.sess.Run(ctx, in)
}

func (r *devRunner) close() {
	if r.ds != nil {
		r.ds.Close()
	}
	if r.sess != nil {
		r.sess.Close()
	}
}

func runDevbench(ctx context.Context, env cli.Env, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("want a mode: files, parity or throughput")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stdout, `Usage: krun devbench MODE [flags]

The measurements bench/gpu/run.sh takes on a GPU machine (docs/runtime.md):
  files       list the kadapter-tiny graphs and references the parity mode reads
  parity      every kadapter-tiny graph per device mode (cpu, cuda, cuda-resident,
              TF32 variants) against ref_float64: placement, max difference per output
  throughput  device-resident inference throughput of one exported model
Run 'krun devbench MODE --help' for a mode's flags.
`)
		return nil
	case "files":
		return devFiles(env, args[1:])
	case "parity":
		return devParity(ctx, env, args[1:])
	case "throughput":
		return devThroughput(ctx, env, args[1:])
	}
	return cli.Usagef("unknown mode %q: want files, parity or throughput", args[0])
}

func devFiles(env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "devbench files", "", "Prints the kadapter-tiny files `devbench parity` reads, one per line.", env.Stderr)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	seen := map[string]bool{}
	var all []string
	for _, c := range devCases {
		for _, f := range c.files() {
			if !seen[f] {
				seen[f] = true
				all = append(all, f)
			}
		}
	}
	sort.Strings(all)
	for _, f := range all {
		fmt.Fprintln(env.Stdout, f)
	}
	return nil
}

// parityRow is one (case, mode) result.
type parityRow struct {
	Case      string             `json:"case"`
	Mode      string             `json:"mode"`
	OK        bool               `json:"ok"`
	Error     string             `json:"error,omitempty"`
	MaxAbs    float64            `json:"max_abs_diff"`
	PerOutput map[string]float64 `json:"per_output,omitempty"`
	Placement string             `json:"placement,omitempty"`
	CPUNodes  []string           `json:"cpu_nodes,omitempty"`
	Seconds   float64            `json:"seconds"`
}

func devParity(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "devbench parity", "--fixtures DIR [--modes cpu,cuda-resident,...] [--out DIR] [--json]", `
Exports every kadapter-tiny graph (the cases of export/models' fixture test,
every referenced intermediate exposed) with this krun, runs each in every mode
on the fixture's inputs and compares each output with ref_float64 (tolerance
--tol, default 1e-5). Modes: cpu, cpu-resident, cuda (onnxruntime_go session,
host memory), cuda-resident (DeviceSession: inputs and outputs in device
memory), and -tf32 variants of the CUDA ones (TF32 on; the others set
use_tf32=0). Resident modes report node placement. --save-outputs DIR writes
each case's outputs of the first mode as .npy.`, env.Stderr)
	root := fs.String("fixtures", "", "kadapter-tiny folder (required)")
	modesS := fs.String("modes", "cpu,cuda,cuda-resident,cuda-resident-tf32", "comma-separated run modes")
	out := fs.String("out", "", "folder for the exported graphs (default: a temporary folder)")
	save := fs.String("save-outputs", "", "write the first mode's outputs of each case as DIR/CASE/NAME.npy")
	tol := fs.Float64("tol", 1e-5, "max |output - ref_float64| accepted")
	threads := fs.Int("threads", 0, "intra-op threads")
	asJSON := fs.Bool("json", false, "print the rows as JSON")
	only := fs.String("cases", "", "comma-separated case names to run (default: all)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if *root == "" {
		return cli.Usagef("--fixtures is required")
	}
	modes, err := parseModes(*modesS)
	if err != nil {
		return cli.Usagef("--modes: %v", err)
	}
	dir := *out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kadapter-parity"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	var rows []parityRow
	failed := 0
	want := map[string]bool{}
	for _, n := range cli.SplitList(*only) {
		want[n] = true
	}
	for _, c := range devCases {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		model := filepath.Join(dir, strings.ReplaceAll(c.Name, "/", "_")+".onnx")
		if err := devExport(ctx, *root, c, model); err != nil {
			rows = append(rows, parityRow{Case: c.Name, Mode: "export", Error: err.Error()})
			failed++
			continue
		}
		in, err := devInputs(*root, c)
		if err != nil {
			return err
		}
		for mi, m := range modes {
			row := devParityRun(ctx, model, *root, c, m, in, *tol, *threads, mi == 0 && *save != "", *save)
			if !row.OK {
				failed++
			}
			rows = append(rows, row)
			if !*asJSON {
				status := "ok  "
				if !row.OK {
					status = "FAIL"
				}
				fmt.Fprintf(env.Stdout, "%s %-32s %-20s max|diff| %.2e  %s %s\n", status, c.Name, m.Name, row.MaxAbs, row.Placement, row.Error)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"tolerance": *tol, "onnxruntime": krt.Version(), "library": krt.LibraryPath(), "rows": rows}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed or exceeded %.0e", failed, len(rows), *tol)
	}
	return nil
}

func devExport(ctx context.Context, root string, c devCase, model string) error {
	args := []string{"export", "--roberta", filepath.Join(root, "roberta"), "--adapter-list", "0,1,3", "--adapter-heads", "4", "--out", model}
	for i, f := range c.Flags {
		if strings.HasSuffix(f, ".bin") && i > 0 {
			f = filepath.Join(root, f)
		}
		args = append(args, f)
	}
	var expose []string
	seen := map[string]bool{}
	for _, o := range c.Refs {
		if o != c.Main && !seen[o] {
			seen[o] = true
			expose = append(expose, o)
		}
	}
	sort.Strings(expose)
	if len(expose) > 0 {
		args = append(args, "--expose", strings.Join(expose, ","))
	}
	// In process: the same krun, and no child process (a test binary
	// would rerun its tests instead).
	var b bytes.Buffer
	if code := program.Run(ctx, cli.Env{Stdout: &b, Stderr: &b, Stdin: strings.NewReader("")}, args); code != 0 {
		return fmt.Errorf("krun %s: exit %d\n%s", strings.Join(args, " "), code, b.String())
	}
	return nil
}

func devInputs(root string, c devCase) (map[string]krt.Tensor, error) {
	in := map[string]krt.Tensor{}
	for _, name := range []string{"input_ids", "attention_mask"} {
		a, err := npy.ReadFile(filepath.Join(root, c.Dir, "inputs", name+".npy"))
		if err != nil {
			return nil, err
		}
		in[name] = krt.Tensor{Shape: devShape(a.Shape), Data: a.AsInt64()}
	}
	for name, file := range c.Positions {
		a, err := npy.ReadFile(filepath.Join(root, c.Dir, "inputs", file+".npy"))
		if err != nil {
			return nil, err
		}
		if len(a.Shape) != 2 {
			return nil, fmt.Errorf("%s: one-hot marker array has shape %v", file, a.Shape)
		}
		v, b, l := a.AsFloat64(), a.Shape[0], a.Shape[1]
		idx := make([]int64, b)
		for i := 0; i < b; i++ {
			n := 0
			for j := 0; j < l; j++ {
				if v[i*l+j] == 1 {
					idx[i] = int64(j)
					n++
				}
			}
			if n != 1 {
				return nil, fmt.Errorf("%s: row %d is not one-hot", file, i)
			}
		}
		in[name] = krt.Tensor{Shape: []int64{int64(b)}, Data: idx}
	}
	return in, nil
}

func devShape(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func devParityRun(ctx context.Context, model, root string, c devCase, m devMode, in map[string]krt.Tensor, tol float64, threads int, save bool, saveDir string) parityRow {
	row := parityRow{Case: c.Name, Mode: m.Name, PerOutput: map[string]float64{}}
	t0 := time.Now()
	defer func() { row.Seconds = time.Since(t0).Seconds() }()
	r, err := openRunner(model, m, threads)
	if err != nil {
		row.Error = err.Error()
		return row
	}
	defer r.close()
	if r.ds != nil {
		if p, err := r.ds.Placement(); err == nil {
			row.Placement = p.String()
			for _, a := range p.On("CPUExecutionProvider") {
				if m.Device.CUDA {
					row.CPUNodes = append(row.CPUNodes, a.Op+":"+a.Node)
				}
			}
		}
	}
	outs, err := r.run(ctx, in)
	if err != nil {
		row.Error = err.Error()
		return row
	}
	for ref, name := range c.Refs {
		want, err := npy.ReadFile(filepath.Join(root, c.Dir, "ref_float64", ref+".npy"))
		if err != nil {
			row.Error = err.Error()
			return row
		}
		got, ok := outs[name]
		if !ok {
			row.Error = "no output " + name
			return row
		}
		d, err := devMaxDiff(got, want)
		if err != nil {
			row.Error = fmt.Sprintf("%s vs %s: %v", name, ref, err)
			return row
		}
		row.PerOutput[ref] = d
		row.MaxAbs = math.Max(row.MaxAbs, d)
	}
	if save {
		d := filepath.Join(saveDir, strings.ReplaceAll(c.Name, "/", "_"))
		os.MkdirAll(d, 0o755)
		for name, t := range outs {
			if f, ok := t.Data.([]float32); ok {
				npy.WriteFile(filepath.Join(d, name+".npy"), &npy.Array{DType: npy.Float32, Shape: devIntShape(t.Shape), Float32: f})
			}
		}
	}
	row.OK = row.MaxAbs <= tol
	if !row.OK {
		row.Error = fmt.Sprintf("max abs difference %.3g > %.0e", row.MaxAbs, tol)
	}
	return row
}

func devIntShape(s []int64) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

func devMaxDiff(got krt.Tensor, want *npy.Array) (float64, error) {
	if fmt.Sprint(got.Shape) != fmt.Sprint(devShape(want.Shape)) {
		return 0, fmt.Errorf("shape %v, reference %v", got.Shape, want.Shape)
	}
	g, ok := got.Data.([]float32)
	if !ok {
		return 0, fmt.Errorf("output is %s, not float32", got.DType())
	}
	w := want.AsFloat64()
	m := 0.0
	for i := range g {
		d := math.Abs(float64(g[i]) - w[i])
		if math.IsNaN(d) {
			return math.Inf(1), nil
		}
		m = math.Max(m, d)
	}
	return m, nil
}

func devThroughput(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet("krun", "devbench throughput", "--model M.onnx --inputs DIR [--modes cuda-resident,...] [--repeats 5]", `
Times a graph on batches: DIR/NAME.npy holds one [batches, ...] array per
graph input (int64). Each mode opens a session, runs one warm-up batch, then
--repeats passes over all batches; it prints one JSON line per mode with the
median and best pass in sequences per second (rows of the batch dimension),
the session load time, and writes the main output of the last pass as
--logits-prefix MODE.npy. Resident modes upload each batch to device
buffers and read only --fetch back.`, env.Stderr)
	model := fs.String("model", "", "ONNX graph (required)")
	inDir := fs.String("inputs", "", "folder of [batches, ...] .npy inputs (required)")
	modesS := fs.String("modes", "cuda-resident,cuda-resident-tf32", "comma-separated run modes (see devbench parity)")
	repeats := fs.Int("repeats", 5, "timed passes")
	fetch := fs.String("fetch", "logits", "output to read back")
	prefix := fs.String("logits-prefix", "", "write each mode's fetched output to PREFIX<mode>.npy")
	threads := fs.Int("threads", 0, "intra-op threads")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *inDir == "" {
		return cli.Usagef("--model and --inputs are required")
	}
	modes, err := parseModes(*modesS)
	if err != nil {
		return cli.Usagef("--modes: %v", err)
	}
	ins, _, err := krt.ReadInterface(*model)
	if err != nil {
		return err
	}
	arrs := map[string]*npy.Array{}
	nb := -1
	for _, in := range ins {
		a, err := npy.ReadFile(filepath.Join(*inDir, in.Name+".npy"))
		if err != nil {
			return err
		}
		if nb >= 0 && a.Shape[0] != nb {
			return fmt.Errorf("%s has %d batches, others %d", in.Name, a.Shape[0], nb)
		}
		nb = a.Shape[0]
		arrs[in.Name] = a
	}
	batch := func(i int) map[string]krt.Tensor {
		m := map[string]krt.Tensor{}
		for name, a := range arrs {
			per := 1
			for _, d := range a.Shape[1:] {
				per *= d
			}
			v := a.AsInt64()
			m[name] = krt.Tensor{Shape: devShape(a.Shape[1:]), Data: v[i*per : (i+1)*per]}
		}
		return m
	}
	rowsPerBatch := arrs[ins[0].Name].Shape[1]
	for _, m := range modes {
		res := map[string]any{"mode": m.Name, "model": *model, "batches": nb, "batch": rowsPerBatch}
		t0 := time.Now()
		r, err := openRunner(*model, m, *threads)
		if err != nil {
			res["error"] = err.Error()
			b, _ := json.Marshal(res)
			fmt.Fprintln(env.Stdout, string(b))
			continue
		}
		res["session_load_seconds"] = time.Since(t0).Seconds()
		res["onnxruntime"] = krt.Version()
		if r.ds != nil {
			if p, err := r.ds.Placement(); err == nil {
				res["placement"] = p.String()
			}
		}
		var passes []float64
		var last []float32
		var lastShape []int64
		run := func(i int) error {
			var out map[string]krt.Tensor
			var err error
			if r.ds != nil {
				out, err = r.ds.Run(ctx, batch(i), *fetch)
			} else {
				out, err = r.sess.Run(ctx, batch(i))
			}
			if err != nil {
				return err
			}
			t := out[*fetch]
			if f, ok := t.Data.([]float32); ok {
				last = append(last, f...)
				lastShape = t.Shape
			}
			return nil
		}
		if err := run(0); err != nil {
			res["error"] = err.Error()
			r.close()
			b, _ := json.Marshal(res)
			fmt.Fprintln(env.Stdout, string(b))
			continue
		}
		for p := 0; p < *repeats; p++ {
			last = last[:0]
			start := time.Now()
			for i := 0; i < nb; i++ {
				if err = run(i); err != nil {
					break
				}
			}
			if err != nil {
				res["error"] = err.Error()
				break
			}
			passes = append(passes, time.Since(start).Seconds())
		}
		r.close()
		if len(passes) > 0 {
			s := append([]float64(nil), passes...)
			sort.Float64s(s)
			med := s[len(s)/2]
			res["pass_seconds"] = passes
			res["sequences_per_second"] = float64(nb*rowsPerBatch) / med
			res["best_sequences_per_second"] = float64(nb*rowsPerBatch) / s[0]
			if *prefix != "" && len(lastShape) > 0 {
				shape := append([]int{nb}, devIntShape(lastShape)...)
				npy.WriteFile(*prefix+m.Name+".npy", &npy.Array{DType: npy.Float32, Shape: shape, Float32: last})
			}
		}
		b, _ := json.Marshal(res)
		fmt.Fprintln(env.Stdout, string(b))
	}
	return nil
}
