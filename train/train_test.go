package train_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/checkpoint"

	"github.com/kadapter/kadapter/export/onnxpb"
	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
	"google.golang.org/protobuf/proto"
)

func run(t *testing.T, o train.Options) (*train.Result, []train.UpdateLog) {
	t.Helper()
	var logs []train.UpdateLog
	res, err := train.Train(context.Background(), o, train.Observer{Update: func(u train.UpdateLog) error {
		logs = append(logs, u)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, logs
}

func sameBytes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestStandardLoop checks the corrected loop against the upstream one
// where they must agree and where they must differ.
func TestStandardLoop(t *testing.T) {
	t.Run("same as upstream without accumulation, scheduler first, one clip group", func(t *testing.T) {
		up := traintest.FixtureOptions(t, "pretrain_fac", t.TempDir())
		std := up
		std.Loop, std.Out = train.LoopStandard, t.TempDir()
		ru, lu := run(t, up)
		rs, ls := run(t, std)
		a, b := traintest.CheckpointFiles(t, ru.Checkpoint), traintest.CheckpointFiles(t, rs.Checkpoint)
		delete(a, "trainer_state.json") // records the loop kind
		delete(b, "trainer_state.json")
		if !sameBytes(a, b) {
			t.Fatal("standard and upstream loops differ on pretrain_fac (accumulation 1, one group)")
		}
		for i := range lu {
			if lu[i].LR != ls[i].LR || lu[i].Loss != ls[i].Loss {
				t.Fatalf("update %d: upstream %+v, standard %+v", i+1, lu[i], ls[i])
			}
		}
	})
	t.Run("tacred: no lr-0 update, clipping once per update, exactly max_steps", func(t *testing.T) {
		up := traintest.FixtureOptions(t, "tacred", t.TempDir())
		up.Hyper.Epochs, up.Hyper.MaxSteps = 0, 2
		std := up
		std.Loop, std.Out = train.LoopStandard, t.TempDir()
		_, lu := run(t, up)
		_, ls := run(t, std)
		if len(lu) != 3 || len(ls) != 2 {
			t.Fatalf("--max-steps 2: upstream made %d updates (want 3), standard %d (want 2)", len(lu), len(ls))
		}
		if lu[0].LR != 0 || ls[0].LR == 0 {
			t.Fatalf("first lr: upstream %v (want 0), standard %v (want > 0)", lu[0].LR, ls[0].LR)
		}
		s := train.Schedule{Warmup: up.Hyper.WarmupSteps, Total: up.TTotal}
		for k, u := range ls {
			if want := up.Hyper.LearningRate * s.Factor(k+1); u.LR != want {
				t.Errorf("standard update %d: lr %v, want %v", k+1, u.LR, want)
			}
			if u.MicroGradNorms != nil || len(u.GradNorms) != 2 {
				t.Errorf("standard update %d: want one norm per group per update, got %v / %v", k+1, u.GradNorms, u.MicroGradNorms)
			}
		}
		if len(lu[0].MicroGradNorms) != 2 {
			t.Errorf("upstream: want norms after each of the 2 micro-batches, got %v", lu[0].MicroGradNorms)
		}
	})
}

// TestPretrainingResumeFromSources: a pre-training checkpoint does not
// store the frozen RoBERTa (the script's files never hold it, and
// model.safetensors holds what the run changes or writes); a resumed run
// reads it from the sources again and ends with the same bytes as an
// uninterrupted run.
func TestPretrainingResumeFromSources(t *testing.T) {
	base := traintest.FixtureOptions(t, "pretrain_fac", "")
	base.Loop = train.LoopStandard
	base.Hyper.Epochs, base.Hyper.MaxSteps = 0, 3
	ref := base
	ref.Out = t.TempDir()
	rr, _ := run(t, ref)
	half := base
	half.Out = t.TempDir()
	half.Hyper.MaxSteps = 2
	rh, _ := run(t, half)
	st, err := checkpoint.Load(filepath.Join(rh.Checkpoint, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("model.safetensors is empty")
	}
	for k := range st {
		if strings.HasPrefix(k, "roberta.") {
			t.Fatalf("model.safetensors of a pre-training run holds the frozen %s", k)
		}
	}
	for _, k := range rr.Trained {
		if st[k] == nil {
			t.Fatalf("model.safetensors lacks the trained %s", k)
		}
	}
	resumed := half
	resumed.Hyper.MaxSteps, resumed.Resume = 3, "last"
	rs, _ := run(t, resumed)
	if filepath.Base(rs.Checkpoint) != filepath.Base(rr.Checkpoint) {
		t.Fatalf("resumed run ended at %s, uninterrupted at %s", rs.Checkpoint, rr.Checkpoint)
	}
	if !sameBytes(traintest.CheckpointFiles(t, rr.Checkpoint), traintest.CheckpointFiles(t, rs.Checkpoint)) {
		t.Fatal("resumed pre-training run differs from the uninterrupted one")
	}
}

// TestDropoutAndThreadsDeterministic: the same seed gives the same bytes
// (dropout on, 1 and 2 threads); another seed gives other bytes.
func TestDropoutAndThreadsDeterministic(t *testing.T) {
	base := traintest.FixtureOptions(t, "openentity", t.TempDir())
	base.Dropout = 0.1
	base.Loop = train.LoopStandard
	a := base
	a.Out = t.TempDir()
	b := base
	b.Out = t.TempDir()
	b.Session.IntraOpThreads = 2
	c := base
	c.Out, c.Seed = t.TempDir(), base.Seed+1
	d := base
	d.Out, d.Dropout = t.TempDir(), 0
	ra, la := run(t, a)
	rb, _ := run(t, b)
	rc, _ := run(t, c)
	_, ld := run(t, d)
	if !sameBytes(traintest.CheckpointFiles(t, ra.Checkpoint), traintest.CheckpointFiles(t, rb.Checkpoint)) {
		t.Error("1 and 2 threads give different checkpoints with the same seed")
	}
	if sameBytes(traintest.CheckpointFiles(t, ra.Checkpoint), traintest.CheckpointFiles(t, rc.Checkpoint)) {
		t.Error("another seed gives the same checkpoint: the dropout masks do not depend on the seed")
	}
	if la[0].Loss == ld[0].Loss {
		t.Error("dropout 0.1 and 0 give the same first loss: dropout is not applied")
	}
}

// standardOps are ONNX's operators of the default domain (ai.onnx) up to
// opset 17 that kadapter's graphs may use.
var standardOps = map[string]bool{}

func init() {
	for _, op := range []string{"Abs", "Add", "And", "ArgMax", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
		"CumSum", "Div", "Dropout", "Equal", "Erf", "Exp", "Expand", "Flatten", "Gather", "GatherElements", "GatherND",
		"Gemm", "Greater", "GreaterOrEqual", "Identity", "LayerNormalization", "Less", "LessOrEqual", "Log", "LogSoftmax",
		"MatMul", "Max", "Min", "Mul", "Neg", "Not", "OneHot", "Or", "Pow", "Range", "Reciprocal", "ReduceMax",
		"ReduceMean", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "ScatterElements", "ScatterND", "Shape",
		"Sigmoid", "Sign", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "Transpose",
		"Unsqueeze", "Where"} {
		standardOps[op] = true
	}
}

// TestTrainingGraphsUseStandardOps walks every node of the step and
// optimizer graphs of every training setup: default domain only, no
// ONNX Runtime training or contrib kernel.
func TestTrainingGraphsUseStandardOps(t *testing.T) {
	for _, setup := range []string{"pretrain_fac", "pretrain_lin", "tacred", "openentity", "figer", "cosmosqa"} {
		t.Run(setup, func(t *testing.T) {
			o := traintest.FixtureOptions(t, setup, t.TempDir())
			o.Hyper.Epochs, o.Hyper.MaxSteps = 0, 1
			o.SaveGraphs = t.TempDir()
			o.Dropout = 0.1 // dropout sites too
			run(t, o)
			names, _ := filepath.Glob(filepath.Join(o.SaveGraphs, "*.onnx"))
			if len(names) < 2 {
				t.Fatalf("--save-graphs wrote %v, want step.onnx and adamw.onnx at least", names)
			}
			for _, path := range names {
				name := filepath.Base(path)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var m onnxpb.ModelProto
				if err := proto.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				for _, imp := range m.GetOpsetImport() {
					if imp.GetDomain() != "" {
						t.Errorf("%s imports domain %q", name, imp.GetDomain())
					}
				}
				n := 0
				for _, node := range m.GetGraph().GetNode() {
					n++
					if node.GetDomain() != "" || !standardOps[node.GetOpType()] {
						t.Errorf("%s: node %s is %s:%s, not a standard ONNX op", name, node.GetName(), node.GetDomain(), node.GetOpType())
					}
				}
				if n == 0 {
					t.Errorf("%s has no nodes", name)
				}
			}
		})
	}
}
