package train

import (
	"context"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kadapter/kadapter/export/graph"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/runtime/metrics"
	"github.com/kadapter/kadapter/tasks"
)

// evaluator scores a dev set with the model being trained: a forward-only
// graph (the training graph's forward pass and loss, dropout off) whose
// trained parameters are inputs fed straight from the engine's resident
// buffers, so an evaluation copies no weights. Scores come from the same
// metric functions krun eval uses (runtime/metrics).
type evaluator struct {
	sess        *ort.DynamicAdvancedSession
	dataIn      []string
	data        Data
	batch       int
	keys        []string // the engine's parameters, in its order, then the frozen inputs
	frozen      []int    // the engine's frozen tensors the graph reads, in order
	logitsShape []graph.Dim
}

// newEvaluator builds the dev graph from tg (a second BuildTrain of the
// same model, without dropout) for the engine's parameters.
func newEvaluator(tg *models.TrainGraph, e *Engine, data Data, batch int, o runtime.Options, scratch string) (*evaluator, error) {
	g := tg.Graph
	keys := make([]string, len(e.params))
	trained := map[string]bool{}
	for i, p := range e.params {
		keys[i] = p.Key
		trained[p.Key] = true
	}
	for _, v := range tg.Params {
		if !trained[v.Name()] {
			if err := g.InputToInitializer(v, tg.Initial[v.Name()]); err != nil {
				return nil, err
			}
		}
	}
	// Frozen weights: the engine's tensors, shared by both sessions.
	frozen := map[string]int{}
	for i, k := range e.frozenKeys {
		frozen[k] = i
	}
	var shared []int
	for _, v := range tg.Frozen {
		i, ok := frozen[v.Name()]
		if !ok {
			if err := g.InputToInitializer(v, tg.Initial[v.Name()]); err != nil {
				return nil, err
			}
			continue
		}
		keys = append(keys, v.Name())
		shared = append(shared, i)
	}
	g.Output("loss", g.Unsqueeze(tg.Loss, 0))
	g.Output("logits", tg.Logits)
	ev := &evaluator{data: data, batch: batch, keys: keys, frozen: shared, logitsShape: tg.Logits.Shape}
	for _, in := range tg.Interface.Inputs {
		if tg.Initial[in.Name] == nil {
			ev.dataIn = append(ev.dataIn, in.Name)
		}
	}
	ev.dataIn = append(ev.dataIn, "labels")
	in := append(append([]string(nil), ev.dataIn...), keys...)
	sess, err := openSession(g, in, []string{"loss", "logits"}, o, "", scratch, "dev.onnx")
	if err != nil {
		return nil, fmt.Errorf("dev graph: %w", err)
	}
	ev.sess = sess
	return ev, nil
}

func (ev *evaluator) close() {
	if ev != nil && ev.sess != nil {
		ev.sess.Destroy()
	}
}

// run scores the dev set with the engine's current parameters. The
// returned map holds "loss" (mean of the batch losses) and the task's
// metrics; headline names the one --metric defaults to.
func (ev *evaluator) run(ctx context.Context, e *Engine, def *tasks.Definition) (map[string]float64, error) {
	n := ev.data.Len()
	var batchLosses []float64
	var logits [][]float32   // [N][C] (flattened per example)
	var gold []int           // class labels
	var hot [][]float64      // multi-hot labels
	var heads, masks [][]int // find-head
	for at := 0; at < n; at += ev.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := make([]int, 0, ev.batch)
		for i := at; i < min(at+ev.batch, n); i++ {
			idx = append(idx, i)
		}
		b, err := ev.data.Batch(idx)
		if err != nil {
			return nil, err
		}
		ins := make([]ort.Value, 0, len(ev.dataIn)+len(ev.keys))
		var made []ort.Value
		for _, name := range ev.dataIn {
			v, err := runtime.ToORT(b[name])
			if err != nil {
				return nil, fmt.Errorf("dev input %s: %w", name, err)
			}
			made = append(made, v)
			ins = append(ins, v)
		}
		for i := range e.params {
			ins = append(ins, e.pT[i])
		}
		for _, i := range ev.frozen {
			ins = append(ins, e.frozen[i])
		}
		outs := []ort.Value{nil, nil}
		err = ev.sess.Run(ins, outs)
		for _, v := range made {
			v.Destroy()
		}
		if err != nil {
			return nil, fmt.Errorf("dev set %s, examples %d-%d: %w", ev.data.Name(), idx[0], idx[len(idx)-1], err)
		}
		lt := outs[1].(*ort.Tensor[float32])
		lossT := outs[0].(*ort.Tensor[float32])
		batchLosses = append(batchLosses, float64(lossT.GetData()[0]))
		data := append([]float32(nil), lt.GetData()...)
		outs[0].Destroy()
		outs[1].Destroy()
		per := len(data) / len(idx)
		for i := range idx {
			logits = append(logits, data[i*per:(i+1)*per])
		}
		lab := b["labels"]
		switch l := lab.Data.(type) {
		case []int64:
			if len(lab.Shape) == 1 {
				for _, x := range l {
					gold = append(gold, int(x))
				}
			} else {
				seq := int(lab.Shape[1])
				mask := b["attention_mask"].Data.([]int64)
				for i := range idx {
					h, m := make([]int, seq), make([]int, seq)
					for j := 0; j < seq; j++ {
						h[j], m[j] = int(l[i*seq+j]), int(mask[i*seq+j])
					}
					heads, masks = append(heads, h), append(masks, m)
				}
			}
		case []float32:
			c := int(lab.Shape[1])
			for i := range idx {
				row := make([]float64, c)
				for j := range row {
					row[j] = float64(l[i*c+j])
				}
				hot = append(hot, row)
			}
		}
	}
	out := def.DevMetrics(tasks.Dev{Logits: logits, Classes: int(ev.logitsShape[len(ev.logitsShape)-1].Coef),
		Gold: gold, Hot: hot, Heads: heads, Masks: masks, BatchLosses: batchLosses})
	out["loss"] = metrics.CombineLosses(batchLosses, false)
	for k, v := range out {
		if math.IsNaN(v) {
			delete(out, k)
		}
	}
	return out, nil
}
