package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Linear is a PyTorch nn.Linear: Weight [out, in], Bias [out]; y = x·Wᵀ + b.
type Linear struct{ Weight, Bias *Tensor }

// In returns the input width (Weight's second dimension).
func (l *Linear) In() int { return l.Weight.Shape[1] }

// Out returns the output width (Weight's first dimension).
func (l *Linear) Out() int { return l.Weight.Shape[0] }

// LayerNorm is a LayerNorm's affine parameters, Weight [n] and Bias [n].
type LayerNorm struct{ Weight, Bias *Tensor }

// Attention is a BertAttention: self-attention projections, the output
// dense layer and the LayerNorm after the residual
// (keys self.{query,key,value}, output.dense, output.LayerNorm).
type Attention struct {
	Query, Key, Value Linear
	Output            Linear
	Norm              LayerNorm
}

// BertLayer is one post-LayerNorm transformer layer (keys attention.*,
// intermediate.dense, output.dense, output.LayerNorm).
type BertLayer struct {
	Attention    Attention
	Intermediate Linear    // Linear(width -> intermediate), followed by erf GELU
	Output       Linear    // Linear(intermediate -> width)
	Norm         LayerNorm // after the output residual
}

// RobertaShapes are the RoBERTa dimensions inferred from tensor shapes.
// The number of attention heads cannot be inferred: it comes from
// config.json (RobertaConfig) or flags.
type RobertaShapes struct {
	Vocab        int // word_embeddings rows
	Hidden       int // H
	Layers       int // N
	Intermediate int // intermediate.dense rows
	MaxPositions int // position_embeddings rows (514 for RoBERTa)
	TypeVocab    int // token_type_embeddings rows (1 for RoBERTa)
}

// RobertaWeights are the parameters of a RobertaModel.
type RobertaWeights struct {
	// Prefix is the key prefix they were read under ("roberta.", "model." or "").
	Prefix    string
	Word      *Tensor // embeddings.word_embeddings.weight [Vocab, H]
	Position  *Tensor // embeddings.position_embeddings.weight [MaxPositions, H]
	TokenType *Tensor // embeddings.token_type_embeddings.weight [TypeVocab, H]
	EmbedNorm LayerNorm
	Layers    []BertLayer
	Pooler    *Linear // pooler.dense, nil when the file has none (unused by K-Adapter)
	Shapes    RobertaShapes
}

// AdapterShapes are an adapter chain's dimensions inferred from shapes
// (quirk 11: upstream never saves them). Heads come from configuration.
type AdapterShapes struct {
	Count        int // K, adapters in the chain (one per adapter_list entry)
	Width        int // A, the adapter's inner width (down_project rows)
	Hidden       int // H, RoBERTa's hidden size (down_project columns)
	Layers       int // transformer layers inside each adapter
	Intermediate int // intermediate size of those layers
}

// Adapter is one K-Adapter adapter module: down-projection, a BertEncoder of
// width A, up-projection (the module adds its input back).
type Adapter struct {
	Down   Linear // down_project [A, H]
	Layers []BertLayer
	Up     Linear // up_project [H, A]
}

// AdapterWeights is a chain of adapters (keys <prefix>{k}.*).
type AdapterWeights struct {
	// Prefix is the key prefix, e.g. "adapter." or "fac_adapter.adapter.".
	Prefix   string
	Adapters []Adapter
	Shapes   AdapterShapes
}

// keyReader looks keys up in a tensor map, checks shapes and remembers
// which keys were used, with errors naming the file and key.
type keyReader struct {
	file string
	ts   map[string]*Tensor
	used map[string]bool
}

func newKeyReader(file string, ts map[string]*Tensor) *keyReader {
	return &keyReader{file: file, ts: ts, used: map[string]bool{}}
}

// tensor returns key's tensor, checking its shape against want (-1 = any).
func (r *keyReader) tensor(key string, want ...int) (*Tensor, error) {
	t, ok := r.ts[key]
	if !ok {
		return nil, newErr(r.file, key, ErrMissingKey, "required key is absent")
	}
	if !t.DType.IsFloat() {
		return nil, newErr(r.file, key, ErrDType, "%s tensor where a float tensor is required", t.DType)
	}
	match := len(t.Shape) == len(want)
	for i := 0; match && i < len(want); i++ {
		match = want[i] < 0 || want[i] == t.Shape[i]
	}
	if !match {
		return nil, newErr(r.file, key, ErrShape, "shape %s, want %s", shapeString(t.Shape), wantString(want))
	}
	r.used[key] = true
	return t, nil
}

func wantString(want []int) string {
	parts := make([]string, len(want))
	for i, d := range want {
		if d < 0 {
			parts[i] = "*"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (r *keyReader) linear(prefix string, out, in int) (Linear, error) {
	w, err := r.tensor(prefix+".weight", out, in)
	if err != nil {
		return Linear{}, err
	}
	b, err := r.tensor(prefix+".bias", w.Shape[0])
	if err != nil {
		return Linear{}, err
	}
	return Linear{Weight: w, Bias: b}, nil
}

// optLinear reads a Linear when either of its keys exists, nil otherwise.
func (r *keyReader) optLinear(prefix string, out, in int) (*Linear, error) {
	_, w := r.ts[prefix+".weight"]
	_, b := r.ts[prefix+".bias"]
	if !w && !b {
		return nil, nil
	}
	l, err := r.linear(prefix, out, in)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

func (r *keyReader) layerNorm(prefix string, n int) (LayerNorm, error) {
	w, err := r.tensor(prefix+".weight", n)
	if err != nil {
		return LayerNorm{}, err
	}
	b, err := r.tensor(prefix+".bias", n)
	if err != nil {
		return LayerNorm{}, err
	}
	return LayerNorm{Weight: w, Bias: b}, nil
}

func (r *keyReader) attention(prefix string, width int) (Attention, error) {
	var a Attention
	var err error
	if a.Query, err = r.linear(prefix+".self.query", width, width); err != nil {
		return a, err
	}
	if a.Key, err = r.linear(prefix+".self.key", width, width); err != nil {
		return a, err
	}
	if a.Value, err = r.linear(prefix+".self.value", width, width); err != nil {
		return a, err
	}
	if a.Output, err = r.linear(prefix+".output.dense", width, width); err != nil {
		return a, err
	}
	a.Norm, err = r.layerNorm(prefix+".output.LayerNorm", width)
	return a, err
}

// bertLayer reads <prefix>.attention.*, intermediate.dense, output.dense and
// output.LayerNorm; inter < 0 infers the intermediate size.
func (r *keyReader) bertLayer(prefix string, width, inter int) (BertLayer, error) {
	var l BertLayer
	var err error
	if l.Attention, err = r.attention(prefix+".attention", width); err != nil {
		return l, err
	}
	if l.Intermediate, err = r.linear(prefix+".intermediate.dense", inter, width); err != nil {
		return l, err
	}
	if l.Output, err = r.linear(prefix+".output.dense", width, l.Intermediate.Out()); err != nil {
		return l, err
	}
	l.Norm, err = r.layerNorm(prefix+".output.LayerNorm", width)
	return l, err
}

// indexCount returns 1 + the largest integer i such that a key starts with
// prefix + i + ".", and 0 when none does.
func indexCount(ts map[string]*Tensor, prefix string) int {
	n := 0
	for k := range ts {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(num); err == nil && i >= 0 && i < 1<<20 && i+1 > n {
			n = i + 1
		}
	}
	return n
}

// unused returns the keys starting with prefix that r has not used and
// ignore does not accept, sorted.
func (r *keyReader) unused(prefix string, ignore func(string) bool) []string {
	var out []string
	for k := range r.ts {
		if strings.HasPrefix(k, prefix) && !r.used[k] && (ignore == nil || !ignore(k)) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// RobertaPrefixes are the prefixes ExtractRoberta tries, in order.
var RobertaPrefixes = []string{"roberta.", "model.", ""}

// RobertaPrefix returns the prefix under which ts holds a RoBERTa model
// ("roberta.", "model." or ""), recognising old gamma/beta LayerNorm names.
func RobertaPrefix(file string, ts map[string]*Tensor) (string, error) {
	for _, p := range RobertaPrefixes {
		if _, ok := ts[p+"embeddings.word_embeddings.weight"]; ok {
			return p, nil
		}
	}
	return "", newErr(file, "embeddings.word_embeddings.weight", ErrMissingKey,
		"no RoBERTa weights: the key is absent with every prefix (roberta., model., none)")
}

// renameGammaBeta returns ts with the keys under prefix renamed as
// pytorch_transformers' from_pretrained does for old checkpoints
// (gamma -> weight, beta -> bias).
func renameGammaBeta(file string, ts map[string]*Tensor, prefix string) (map[string]*Tensor, error) {
	renamed := false
	for k := range ts {
		if strings.HasPrefix(k, prefix) && (strings.Contains(k, "gamma") || strings.Contains(k, "beta")) {
			renamed = true
			break
		}
	}
	if !renamed {
		return ts, nil
	}
	out := make(map[string]*Tensor, len(ts))
	for k, t := range ts {
		nk := k
		if strings.HasPrefix(k, prefix) {
			nk = strings.ReplaceAll(strings.ReplaceAll(k, "gamma", "weight"), "beta", "bias")
		}
		if _, dup := out[nk]; dup {
			return nil, newErr(file, k, ErrCorrupt, "renaming gamma/beta gives %q, which also exists", nk)
		}
		out[nk] = t
	}
	return out, nil
}

// isRobertaIgnored reports keys a RoBERTa reader skips: the masked-LM head
// and the position_ids buffer of newer transformers versions.
func isRobertaIgnored(prefix, k string) bool {
	return strings.HasPrefix(k, "lm_head.") || k == prefix+"embeddings.position_ids"
}

// ExtractRoberta reads a RobertaModel's weights from ts under prefix
// ("roberta.", "model." or ""; "auto" tries them in that order). Every shape
// is checked against the dimensions inferred from the embeddings and the
// first layer; keys under the prefix that are not RoBERTa parameters are an
// error (lm_head.* and embeddings.position_ids are ignored). file names the
// checkpoint in errors.
func ExtractRoberta(file string, ts map[string]*Tensor, prefix string) (*RobertaWeights, error) {
	var err error
	if prefix == "auto" {
		if prefix, err = RobertaPrefix(file, ts); err != nil {
			return nil, err
		}
	}
	if ts, err = renameGammaBeta(file, ts, prefix); err != nil {
		return nil, err
	}
	r := newKeyReader(file, ts)
	w := &RobertaWeights{Prefix: prefix}
	if w.Word, err = r.tensor(prefix+"embeddings.word_embeddings.weight", -1, -1); err != nil {
		return nil, err
	}
	h := w.Word.Shape[1]
	if w.Position, err = r.tensor(prefix+"embeddings.position_embeddings.weight", -1, h); err != nil {
		return nil, err
	}
	if w.TokenType, err = r.tensor(prefix+"embeddings.token_type_embeddings.weight", -1, h); err != nil {
		return nil, err
	}
	if w.EmbedNorm, err = r.layerNorm(prefix+"embeddings.LayerNorm", h); err != nil {
		return nil, err
	}
	n := indexCount(ts, prefix+"encoder.layer.")
	if n == 0 {
		return nil, newErr(file, prefix+"encoder.layer.0.attention.self.query.weight", ErrMissingKey, "no encoder layers")
	}
	inter := -1
	for i := 0; i < n; i++ {
		l, err := r.bertLayer(fmt.Sprintf("%sencoder.layer.%d", prefix, i), h, inter)
		if err != nil {
			return nil, err
		}
		inter = l.Intermediate.Out()
		w.Layers = append(w.Layers, l)
	}
	if w.Pooler, err = r.optLinear(prefix+"pooler.dense", h, h); err != nil {
		return nil, err
	}
	scope := prefix
	var extra []string
	if prefix == "" {
		for _, p := range []string{"embeddings.", "encoder.", "pooler."} {
			extra = append(extra, r.unused(p, func(k string) bool { return isRobertaIgnored("", k) })...)
		}
	} else {
		extra = r.unused(scope, func(k string) bool { return isRobertaIgnored(prefix, k) })
	}
	if len(extra) > 0 {
		return nil, newErr(file, extra[0], ErrUnexpectedKey, "not a RoBERTa parameter (%d such keys)", len(extra))
	}
	w.Shapes = RobertaShapes{
		Vocab: w.Word.Shape[0], Hidden: h, Layers: n, Intermediate: inter,
		MaxPositions: w.Position.Shape[0], TypeVocab: w.TokenType.Shape[0],
	}
	return w, nil
}

// ExtractAdapters reads a chain of adapters under prefix (e.g. "adapter." or
// "fac_adapter.adapter."): K, the width A, the layer count and the
// intermediate size are inferred from the shapes of adapter 0, and every
// adapter must match them. hidden is RoBERTa's hidden size (0: infer it from
// down_project). Any key under the prefix that is not an adapter parameter is
// an error, as is a missing or mis-shaped one (quirk 10).
func ExtractAdapters(file string, ts map[string]*Tensor, prefix string, hidden int) (*AdapterWeights, error) {
	r := newKeyReader(file, ts)
	k := indexCount(ts, prefix)
	if k == 0 {
		return nil, newErr(file, prefix+"0.down_project.weight", ErrMissingKey, "no adapters under %q", prefix)
	}
	h := -1
	if hidden > 0 {
		h = hidden
	}
	aw := &AdapterWeights{Prefix: prefix}
	width, inter, layers := -1, -1, -1
	for i := 0; i < k; i++ {
		p := fmt.Sprintf("%s%d.", prefix, i)
		var a Adapter
		var err error
		if a.Down, err = r.linear(p+"down_project", width, h); err != nil {
			return nil, err
		}
		width, h = a.Down.Out(), a.Down.In()
		n := indexCount(ts, p+"encoder.layer.")
		if layers < 0 {
			layers = n
		}
		if n > layers {
			return nil, newErr(file, fmt.Sprintf("%sencoder.layer.%d", p, n-1), ErrUnexpectedKey,
				"adapter %d has %d encoder layers, adapter 0 has %d", i, n, layers)
		}
		for j := 0; j < layers; j++ {
			l, err := r.bertLayer(fmt.Sprintf("%sencoder.layer.%d", p, j), width, inter)
			if err != nil {
				return nil, err
			}
			inter = l.Intermediate.Out()
			a.Layers = append(a.Layers, l)
		}
		if a.Up, err = r.linear(p+"up_project", h, width); err != nil {
			return nil, err
		}
		aw.Adapters = append(aw.Adapters, a)
	}
	if extra := r.unused(prefix, nil); len(extra) > 0 {
		return nil, newErr(file, extra[0], ErrUnexpectedKey, "not an adapter parameter (%d such keys)", len(extra))
	}
	aw.Shapes = AdapterShapes{Count: k, Width: width, Hidden: h, Layers: layers, Intermediate: inter}
	if layers == 0 {
		aw.Shapes.Intermediate = 0
	}
	return aw, nil
}

// PretrainHead is the head of a pre-training adapter file: fac-adapter.py
// (com_dense, dense, out_proj) or lin-adapter.py (com_dense,
// self_attention, dense, out_proj). Absent parts are nil.
type PretrainHead struct {
	ComDense      *Linear    // com_dense, Linear(2H -> H)
	SelfAttention *Attention // self_attention (lin-adapter; 1 head, width H)
	Dense         *Linear    // dense: Linear(2H -> H) (fac) or Linear(H -> H) (lin)
	OutProj       *Linear    // out_proj: Linear(H -> 410 relations) or Linear(H -> max_seq_length)
}

// AdapterFile is a pre-trained adapter file (fac-adapter or lin-adapter
// pytorch_model.bin): the adapter chain and its pre-training head.
type AdapterFile struct {
	Path     string
	Adapters *AdapterWeights
	Head     PretrainHead
}

// adapterHeadKeys are the only top-level names besides adapter.* that an
// adapter file may hold (quirk 10).
var adapterHeadKeys = []string{"com_dense.", "dense.", "out_proj.", "self_attention."}

// LoadAdapterFile loads a pre-trained adapter file with strict key checking
// (ExtractAdapterFile); hidden is RoBERTa's hidden size, 0 to infer it.
func LoadAdapterFile(path string, hidden int) (*AdapterFile, error) {
	ts, err := Load(path)
	if err != nil {
		return nil, err
	}
	return ExtractAdapterFile(path, ts, hidden)
}

// ExtractAdapterFile reads an adapter file's tensors strictly (quirk 10):
// every key must be adapter.* or one of the pre-training head keys
// (com_dense, dense, out_proj, self_attention); a missing or mis-shaped
// adapter key is an error naming the file and key. Head tensors are shape-
// checked too, since the pre-training graphs use them. hidden 0 infers H.
func ExtractAdapterFile(file string, ts map[string]*Tensor, hidden int) (*AdapterFile, error) {
	if k, found := firstOutside(ts, append([]string{"adapter."}, adapterHeadKeys...)); found {
		return nil, newErr(file, k, ErrUnexpectedKey,
			"an adapter file holds only adapter.* and the head keys com_dense, dense, out_proj, self_attention")
	}
	aw, err := ExtractAdapters(file, ts, "adapter.", hidden)
	if err != nil {
		return nil, err
	}
	h := aw.Shapes.Hidden
	r := newKeyReader(file, ts)
	af := &AdapterFile{Path: file, Adapters: aw}
	if af.Head.ComDense, err = r.optLinear("com_dense", h, 2*h); err != nil {
		return nil, err
	}
	if hasPrefix(ts, "self_attention.") {
		a, err := r.attention("self_attention", h)
		if err != nil {
			return nil, err
		}
		af.Head.SelfAttention = &a
	}
	if af.Head.Dense, err = r.optLinear("dense", h, -1); err != nil {
		return nil, err
	}
	if d := af.Head.Dense; d != nil && d.In() != h && d.In() != 2*h {
		return nil, newErr(file, "dense.weight", ErrShape, "shape %s, want [%d, %d] or [%d, %d]", d.Weight.ShapeString(), h, 2*h, h, h)
	}
	if af.Head.OutProj, err = r.optLinear("out_proj", -1, h); err != nil {
		return nil, err
	}
	for _, p := range adapterHeadKeys {
		if extra := r.unused(p, nil); len(extra) > 0 {
			return nil, newErr(file, extra[0], ErrUnexpectedKey, "not a parameter of the %s head", strings.TrimSuffix(p, "."))
		}
	}
	return af, nil
}

// firstOutside returns the first key of ts in sorted order that starts
// with none of prefixes, and whether there is one.
func firstOutside(ts map[string]*Tensor, prefixes []string) (string, bool) {
	for _, k := range sortedKeys(ts) {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			return k, true
		}
	}
	return "", false
}

// hasPrefix reports whether some key of ts starts with prefix.
func hasPrefix(ts map[string]*Tensor, prefix string) bool {
	for k := range ts {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// TaskWeights are the parameters of a fine-tuned K-Adapter task checkpoint
// (TACREDModel, ETModel, FIGERModel, COSMOSQAModel) or of a
// RobertaModelwithAdapter. Absent parts are nil.
type TaskWeights struct {
	// Hidden is RoBERTa's hidden size H (inferred or given).
	Hidden int
	// Roberta is model.* (RobertaModelwithAdapter files only).
	Roberta *RobertaWeights
	// Fac and Lin are fac_adapter.adapter.* and lin_adapter.adapter.*.
	Fac, Lin *AdapterWeights
	// FacTaskDense and LinTaskDense are CosmosQA's per-adapter
	// fac_adapter.task_dense / lin_adapter.task_dense, Linear(2H -> H).
	FacTaskDense, LinTaskDense *Linear
	// TaskDenseFac, TaskDenseLin and TaskDense are the concat-fusion
	// Linear(2H -> H) layers task_dense_fac, task_dense_lin, task_dense.
	TaskDenseFac, TaskDenseLin, TaskDense *Linear
	// Dense (Linear(2H -> H) for TACRED, Linear(H -> H) for OpenEntity/FIGER)
	// and OutProj (Linear(H -> labels)) are the classification head.
	Dense, OutProj *Linear
	// Classifier is CosmosQA's Linear(H -> 1).
	Classifier *Linear
}

// taskTopKeys are the top-level names a task checkpoint may hold.
var taskTopKeys = []string{
	"model.", "fac_adapter.adapter.", "lin_adapter.adapter.", "fac_adapter.task_dense.", "lin_adapter.task_dense.",
	"task_dense_fac.", "task_dense_lin.", "task_dense.", "dense.", "out_proj.", "classifier.",
}

// LoadTask loads a task checkpoint with strict key checking (ExtractTask);
// hidden is RoBERTa's hidden size, 0 to infer it.
func LoadTask(path string, hidden int) (*TaskWeights, error) {
	ts, err := Load(path)
	if err != nil {
		return nil, err
	}
	return ExtractTask(path, ts, hidden)
}

// ExtractTask reads a task checkpoint's tensors: keys fac_adapter.adapter.*,
// lin_adapter.adapter.*, fac_adapter.task_dense.*, lin_adapter.task_dense.*,
// task_dense_fac.*, task_dense_lin.*, task_dense.*, dense.*, out_proj.*,
// classifier.* and (RobertaModelwithAdapter) model.*. Any other key is an
// error, as is a missing or mis-shaped one. hidden 0 infers H from the
// weights.
func ExtractTask(file string, ts map[string]*Tensor, hidden int) (*TaskWeights, error) {
	if k, found := firstOutside(ts, taskTopKeys); found {
		return nil, newErr(file, k, ErrUnexpectedKey, "not a key of a K-Adapter task checkpoint")
	}
	tw := &TaskWeights{Hidden: hidden}
	var err error
	if hasPrefix(ts, "model.") {
		if tw.Roberta, err = ExtractRoberta(file, ts, "model."); err != nil {
			return nil, err
		}
		if err := tw.setHidden(file, "model.embeddings.word_embeddings.weight", tw.Roberta.Shapes.Hidden); err != nil {
			return nil, err
		}
	}
	for _, a := range []struct {
		prefix string
		dst    **AdapterWeights
	}{{"fac_adapter.adapter.", &tw.Fac}, {"lin_adapter.adapter.", &tw.Lin}} {
		if !hasPrefix(ts, a.prefix) {
			continue
		}
		aw, err := ExtractAdapters(file, ts, a.prefix, tw.Hidden)
		if err != nil {
			return nil, err
		}
		if err := tw.setHidden(file, a.prefix+"0.down_project.weight", aw.Shapes.Hidden); err != nil {
			return nil, err
		}
		*a.dst = aw
	}
	r := newKeyReader(file, ts)
	if tw.Hidden == 0 {
		// Only head layers: take H from whichever is present.
		for _, k := range []string{"task_dense.weight", "dense.weight", "classifier.weight", "out_proj.weight"} {
			if t, ok := ts[k]; ok && len(t.Shape) == 2 {
				if k == "task_dense.weight" || k == "dense.weight" {
					tw.Hidden = t.Shape[0]
				} else {
					tw.Hidden = t.Shape[1]
				}
				break
			}
		}
	}
	h := tw.Hidden
	if h <= 0 {
		return nil, newErr(file, "", ErrMissingKey, "no tensor to infer the hidden size from")
	}
	for _, l := range tw.linears(h) {
		if *l.dst, err = r.optLinear(l.name, l.out, l.in); err != nil {
			return nil, err
		}
		if extra := r.unused(l.name+".", nil); len(extra) > 0 {
			return nil, newErr(file, extra[0], ErrUnexpectedKey, "not a parameter of %s", l.name)
		}
	}
	if d := tw.Dense; d != nil && d.In() != h && d.In() != 2*h {
		return nil, newErr(file, "dense.weight", ErrShape, "shape %s, want [%d, %d] (TACRED) or [%d, %d] (OpenEntity, FIGER)", d.Weight.ShapeString(), h, 2*h, h, h)
	}
	if (tw.Dense == nil) != (tw.OutProj == nil) {
		missing := "dense.weight"
		if tw.OutProj == nil {
			missing = "out_proj.weight"
		}
		return nil, newErr(file, missing, ErrMissingKey, "dense and out_proj come together")
	}
	return tw, nil
}

// taskLinear is one optional Linear layer of a task checkpoint: its key
// name, where ExtractTask stores it, and its expected shape.
type taskLinear struct {
	name    string
	dst     **Linear
	out, in int
}

// linears lists the Linear layers of a task checkpoint with the shapes
// they must have for hidden size h (-1 = checked separately or any).
func (tw *TaskWeights) linears(h int) []taskLinear {
	return []taskLinear{
		{"fac_adapter.task_dense", &tw.FacTaskDense, h, 2 * h},
		{"lin_adapter.task_dense", &tw.LinTaskDense, h, 2 * h},
		{"task_dense_fac", &tw.TaskDenseFac, h, 2 * h},
		{"task_dense_lin", &tw.TaskDenseLin, h, 2 * h},
		{"task_dense", &tw.TaskDense, h, 2 * h},
		{"dense", &tw.Dense, h, -1},
		{"out_proj", &tw.OutProj, -1, h},
		{"classifier", &tw.Classifier, 1, h},
	}
}

func (tw *TaskWeights) setHidden(file, key string, h int) error {
	if tw.Hidden != 0 && tw.Hidden != h {
		return newErr(file, key, ErrShape, "hidden size %d, want %d", h, tw.Hidden)
	}
	tw.Hidden = h
	return nil
}

// RobertaConfig is the part of a pytorch_transformers config.json that the
// exporter needs (the RoBERTa config; K-Adapter's task folders add
// freeze_adapter and, for FIGER, num_labels).
type RobertaConfig struct {
	// VocabSize is the number of word embeddings (checked against the
	// weights by CheckConfig when non-zero).
	VocabSize int `json:"vocab_size"`
	// HiddenSize is H (1024 for roberta-large).
	HiddenSize int `json:"hidden_size"`
	// NumHiddenLayers is N, the number of transformer layers.
	NumHiddenLayers int `json:"num_hidden_layers"`
	// NumAttentionHeads is the head count of every layer (not inferable
	// from shapes).
	NumAttentionHeads int `json:"num_attention_heads"`
	// IntermediateSize is the width of the GELU layer.
	IntermediateSize int `json:"intermediate_size"`
	// MaxPositionEmbeddings is the position table size (514).
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// TypeVocabSize is the token-type table size (1).
	TypeVocabSize int `json:"type_vocab_size"`
	// LayerNormEps is every LayerNorm's epsilon (1e-12 when absent, as
	// pytorch_transformers defaults; RoBERTa's configs say 1e-5).
	LayerNormEps float64 `json:"layer_norm_eps"`
	// HiddenAct must be "gelu" (exact erf; the default when absent) or empty.
	HiddenAct string `json:"hidden_act"`
	// NumLabels is informational (FIGER's task config sets it).
	NumLabels int `json:"num_labels"`
	// Path is the file ReadRobertaConfig read ("" for a config built in
	// code); errors about the config name it.
	Path string `json:"-"`
}

// ReadRobertaConfig reads a config.json (a file, or the folder holding
// it) and checks it with Validate. A missing layer_norm_eps defaults to
// 1e-12 as in pytorch_transformers' BertConfig (RoBERTa's files set 1e-5).
func ReadRobertaConfig(path string) (*RobertaConfig, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, newErr(path, "", ErrIO, "%v", err)
	}
	c := &RobertaConfig{LayerNormEps: 1e-12, HiddenAct: "gelu"}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, newErr(path, "", ErrCorrupt, "%s", configJSONError(err))
	}
	if err := c.Validate(); err != nil {
		return nil, newErr(path, "", ErrCorrupt, "%v", err)
	}
	c.Path = path
	return c, nil
}

// configJSONError says which field of a config.json could not be decoded,
// and where.
func configJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("field %s is a JSON %s, want a %s (byte offset %d)", te.Field, te.Value, te.Type, te.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("the file is a JSON %s, not an object", te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte offset %d: %v", se.Offset, err)
	}
	return err.Error()
}

// Validate checks the sizes are usable: positive sizes, hidden_size a
// multiple of num_attention_heads, a positive layer_norm_eps and the exact
// erf GELU.
func (c RobertaConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize}} {
		if f.v <= 0 {
			return fmt.Errorf("%s is %d (missing or not positive); it must be a positive size", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab_size", c.VocabSize}, {"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize}} {
		if f.v < 0 {
			return fmt.Errorf("%s is %d; it must be positive (or absent)", f.name, f.v)
		}
	}
	switch {
	case c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("layer_norm_eps is %g; it must be positive", c.LayerNormEps)
	case c.HiddenAct != "" && c.HiddenAct != "gelu":
		return fmt.Errorf("hidden_act %q: only gelu (exact erf) is supported", c.HiddenAct)
	}
	return nil
}

// CheckConfig compares the shapes inferred from the weights in file with
// cfg and returns an error naming the first difference: the config.json
// field (the error's File is cfg.Path when set), its value, and the weights
// file and key that disagree.
func (w *RobertaWeights) CheckConfig(file string, cfg *RobertaConfig) error {
	s := w.Shapes
	for _, c := range []struct {
		name      string
		got, want int
		key       string
	}{
		{"hidden_size", s.Hidden, cfg.HiddenSize, "embeddings.word_embeddings.weight"},
		{"vocab_size", s.Vocab, cfg.VocabSize, "embeddings.word_embeddings.weight"},
		{"num_hidden_layers", s.Layers, cfg.NumHiddenLayers, "encoder.layer"},
		{"intermediate_size", s.Intermediate, cfg.IntermediateSize, "encoder.layer.0.intermediate.dense.weight"},
		{"max_position_embeddings", s.MaxPositions, cfg.MaxPositionEmbeddings, "embeddings.position_embeddings.weight"},
		{"type_vocab_size", s.TypeVocab, cfg.TypeVocabSize, "embeddings.token_type_embeddings.weight"},
	} {
		if c.want != 0 && c.got != c.want {
			if cfg.Path == "" {
				return newErr(file, w.Prefix+c.key, ErrShape, "weights give %s %d, config.json says %d", c.name, c.got, c.want)
			}
			return newErr(cfg.Path, "", ErrShape, "%s is %d, but the weights in %s give %d (key %q): config.json does not belong to these weights",
				c.name, c.want, file, c.got, w.Prefix+c.key)
		}
	}
	return nil
}

// WeightFileNames are the names FindWeights looks for, in order.
var WeightFileNames = []string{"model.safetensors", "pytorch_model.bin", "pytorch_task_model.bin"}

// RobertaWeightFileNames are the names FindRobertaWeights looks for, in
// order: K-Adapter's checkpoint folders keep RoBERTa (keys model.*) in
// pytorch_pretrained_model.bin beside the task model's pytorch_model.bin.
var RobertaWeightFileNames = []string{"pytorch_pretrained_model.bin", "pytorch_model.bin", "model.safetensors"}

// FindWeights returns the weights file of a model folder: the first of
// WeightFileNames that exists.
func FindWeights(dir string) (string, error) {
	return findFile(dir, WeightFileNames, "weights file")
}

// FindRobertaWeights resolves a RoBERTa location to its weights file:
// path itself when it is a file, else the first of RobertaWeightFileNames
// in the folder.
func FindRobertaWeights(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", newErr(path, "", ErrIO, "%v", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	return findFile(path, RobertaWeightFileNames, "RoBERTa weights")
}

// findFile returns the first of names that is a file in dir.
func findFile(dir string, names []string, what string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", newErr(dir, "", ErrIO, "no %s (looked for %s)", what, strings.Join(names, ", "))
}
