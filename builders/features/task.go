package features

import (
	"fmt"
	"sort"

	"github.com/kadapter/kadapter/builders/trexrc"
)

// Task names accepted by NewConverter (and kprep features --task).
const (
	TaskTREXRC     = "trex-rc"
	TaskFindHead   = "find-head"
	TaskTACRED     = "tacred"
	TaskOpenEntity = "openentity"
	TaskFIGER      = "figer"
	TaskCosmosQA   = "cosmosqa"
)

// Tasks lists the task names in a stable order.
var Tasks = []string{TaskTREXRC, TaskFindHead, TaskTACRED, TaskOpenEntity, TaskFIGER, TaskCosmosQA}

// DefaultMaxSeqLength returns the original script's max_seq_length for a
// task, or 0 for an unknown task.
func DefaultMaxSeqLength(task string) int {
	switch task {
	case TaskTREXRC:
		return DefaultTREXMaxSeqLength
	case TaskFindHead:
		return DefaultFindHeadMaxSeqLength
	case TaskTACRED:
		return DefaultTACREDMaxSeqLength
	case TaskOpenEntity:
		return DefaultOpenEntityMaxSeqLength
	case TaskFIGER:
		return DefaultFIGERMaxSeqLength
	case TaskCosmosQA:
		return DefaultCosmosQAMaxSeqLength
	}
	return 0
}

// Config selects a task and its options for NewConverter.
type Config struct {
	// Task is one of the Task* names.
	Task string
	// MaxSeqLength; 0 means DefaultMaxSeqLength(Task).
	MaxSeqLength int
	// Labels is the label list. nil means the task default: TACREDRelations
	// (tacred), OpenEntityLabels (openentity), the released fac-adapter's
	// 410-relation list trexrc.Relations410() (trex-rc). figer requires
	// one; find-head and cosmosqa ignore it.
	Labels []string
	// NegativeSample enables training-set negative sampling of
	// no_relation records (tacred, trex-rc) with the original's counter,
	// which keeps the first NegativeSample-1 of them (so 1 drops them all).
	// 0 or less disables it (dev/test behaviour): the zero value is safe.
	// (Upstream's --negative_sample 0 behaved like 1.)
	NegativeSample int
	// ClampAtMax: tacred clamps a marker index equal to MaxSeqLength
	// instead of rejecting the record.
	ClampAtMax bool
	// HeadMapping is find-head's label encoding.
	HeadMapping HeadMapping
	// PadID is CosmosQA's padding id (the original's 0 is the zero value).
	PadID int64
	// LegacyLabel: CosmosQA turns an integer 0 label into "no label".
	LegacyLabel bool
}

// Result is the outcome of converting one record.
type Result struct {
	// Example is valid when Err is nil.
	Example Example
	// Err is a *DropError when the record was dropped or rejected.
	Err error

	relation string
	decoded  bool
}

// Converter decodes raw JSON records of one task and builds Examples. It
// hides the per-task types behind one interface for kprep features and
// krun eval. Convert is safe for concurrent use; Sequence must be called on
// every Result in record order.
type Converter struct {
	cfg     Config
	sampler *NegativeSampler

	tacred *TACRED
	trex   *TREXRC
	head   *FindHead
	oe     *OpenEntity
	figer  *FIGER
	cosmos *CosmosQA
}

// NewConverter builds the task's builder from cfg.
func NewConverter(tok Tokenizer, cfg Config) (*Converter, error) {
	if cfg.MaxSeqLength == 0 {
		cfg.MaxSeqLength = DefaultMaxSeqLength(cfg.Task)
	}
	c := &Converter{cfg: cfg}
	var err error
	switch cfg.Task {
	case TaskTACRED:
		c.tacred, err = NewTACRED(tok, TACREDOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels, ClampAtMax: cfg.ClampAtMax})
	case TaskTREXRC:
		if cfg.Labels == nil {
			cfg.Labels = trexrc.Relations410()
		}
		c.trex, err = NewTREXRC(tok, TREXOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
	case TaskFindHead:
		c.head, err = NewFindHead(tok, FindHeadOptions{MaxSeqLength: cfg.MaxSeqLength, Mapping: cfg.HeadMapping})
	case TaskOpenEntity:
		c.oe, err = NewOpenEntity(tok, EntityOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
	case TaskFIGER:
		if cfg.Labels == nil {
			return nil, fmt.Errorf("figer needs a label list (labels.json, or one built from train.json)")
		}
		c.figer, err = NewFIGER(tok, EntityOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
	case TaskCosmosQA:
		c.cosmos, err = NewCosmosQA(tok, CosmosQAOptions{MaxSeqLength: cfg.MaxSeqLength, PadID: cfg.PadID, LegacyLabel: cfg.LegacyLabel})
	default:
		return nil, fmt.Errorf("unknown task %q (want one of %v)", cfg.Task, Tasks)
	}
	if err != nil {
		return nil, err
	}
	if cfg.NegativeSample > 0 && (cfg.Task == TaskTACRED || cfg.Task == TaskTREXRC) {
		c.sampler = NewNegativeSampler(cfg.NegativeSample)
	}
	return c, nil
}

// Config returns the configuration with defaults filled in.
func (c *Converter) Config() Config { return c.cfg }

// Convert decodes one raw JSON record (the record-th of its input) and
// builds its Example.
func (c *Converter) Convert(record int, raw []byte) Result {
	switch {
	case c.tacred != nil || c.trex != nil:
		r, err := DecodeRelation(raw)
		if err != nil {
			return Result{Err: err}
		}
		return c.ConvertRelation(record, &r)
	case c.head != nil:
		r, err := DecodeFindHead(raw)
		if err != nil {
			return Result{Err: err}
		}
		ex, err := c.head.Build(record, &r)
		return Result{Example: ex, Err: err, decoded: true}
	case c.oe != nil || c.figer != nil:
		r, err := DecodeEntity(raw)
		if err != nil {
			return Result{Err: err}
		}
		var ex Example
		if c.oe != nil {
			ex, err = c.oe.Build(record, &r)
		} else {
			ex, err = c.figer.Build(record, &r)
		}
		return Result{Example: ex, Err: err, decoded: true}
	default:
		r, err := DecodeCosmosQA(raw)
		if err != nil {
			return Result{Err: err}
		}
		ex, err := c.cosmos.Build(record, &r)
		return Result{Example: ex, Err: err, decoded: true}
	}
}

// ConvertRelation builds a tacred / trex-rc record that is already decoded
// (for instance read from Arrow).
func (c *Converter) ConvertRelation(record int, r *RelationRecord) Result {
	var ex Example
	var err error
	switch {
	case c.tacred != nil:
		ex, err = c.tacred.Build(record, r)
	case c.trex != nil:
		ex, err = c.trex.Build(record, r)
	default:
		return Result{Err: fmt.Errorf("task %s does not take relation records", c.cfg.Task)}
	}
	return Result{Example: ex, Err: err, relation: r.Relation, decoded: true}
}

// Sequence applies the order-dependent step (negative sampling) to a
// result; it must be called once per record, in record order. A record
// removed by sampling gets a ReasonNegativeSampled drop, whatever its
// conversion gave (upstream sampled before converting).
func (c *Converter) Sequence(r *Result) {
	if c.sampler == nil || !r.decoded {
		return
	}
	if !c.sampler.Keep(r.relation) {
		r.Err = drop(ReasonNegativeSampled, "no_relation beyond --negative-sample")
		r.Example = Example{}
	}
}

// Summary counts kept and dropped records.
type Summary struct {
	// Kept is the number of Examples produced.
	Kept int `json:"kept"`
	// Dropped counts the other records by reason.
	Dropped DropCounts `json:"dropped"`
}

// Add counts one result.
func (s *Summary) Add(r *Result) {
	if r.Err == nil {
		s.Kept++
		return
	}
	if s.Dropped == nil {
		s.Dropped = DropCounts{}
	}
	s.Dropped.Add(DropReason(r.Err))
}

// Reasons returns the drop reasons in sorted order.
func (s *Summary) Reasons() []string {
	out := make([]string, 0, len(s.Dropped))
	for k := range s.Dropped {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
