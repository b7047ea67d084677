package onnxtest

// SGDStep returns a graph shaped like one training update: inputs param
// float32 [n], grad float32 [n] and lr float32 [] (a scalar); outputs
// param_out float32 [n] = param − lr·grad and grad_sq float32 [] = Σ grad².
// Tests of device-resident state bind param and param_out to buffers that
// stay on the device across steps.
func SGDStep() []byte {
	g := graph{name: "onnxtest_sgd_step"}
	g.inputs = []valueInfo{{"param", typeFloat, []any{"n"}}, {"grad", typeFloat, []any{"n"}}, {"lr", typeFloat, []any{}}}
	g.nodes = []node{
		{op: "Mul", inputs: []string{"grad", "lr"}, outputs: []string{"step"}},
		{op: "Sub", inputs: []string{"param", "step"}, outputs: []string{"param_out"}},
		{op: "Mul", inputs: []string{"grad", "grad"}, outputs: []string{"sq"}},
		{op: "ReduceSum", inputs: []string{"sq"}, outputs: []string{"grad_sq"}, ints: map[string]int64{"keepdims": 0}},
	}
	g.outputs = []valueInfo{{"param_out", typeFloat, []any{"n"}}, {"grad_sq", typeFloat, []any{}}}
	return g.model()
}
