package features

import (
	"fmt"
	"sort"

	"github.com/kadapter/kadapter/builders/trexrc"
)

// The built-in tasks' names (kprep features --task).
const (
	TaskTREXRC     = "trex-rc"
	TaskFindHead   = "find-head"
	TaskTACRED     = "tacred"
	TaskOpenEntity = "openentity"
	TaskFIGER      = "figer"
	TaskCosmosQA   = "cosmosqa"
)

// Layout is the shape of a task's Examples: which fields its converter
// fills and so which Arrow columns hold them (see Schema).
type Layout int

// The layouts.
const (
	// LayoutRelation: InputIDs, AttentionMask, SubjPos, ObjPos, Label.
	LayoutRelation Layout = iota + 1
	// LayoutEntity: InputIDs, AttentionMask, EntityPos, Labels (multi-hot).
	LayoutEntity
	// LayoutTokens: InputIDs, AttentionMask, Labels (one per position).
	LayoutTokens
	// LayoutChoices: Choices (several InputIDs/AttentionMask rows), Label
	// (negative: none).
	LayoutChoices
)

// RecordConverter builds one task's Examples from its raw JSON records.
// Convert must be safe for concurrent use.
type RecordConverter interface {
	// Convert decodes one raw record (the record-th of its input) and
	// builds its Example.
	Convert(record int, raw []byte) Result
}

// RelationConverter is a RecordConverter that also takes relation records
// already decoded (for instance read from Arrow).
type RelationConverter interface {
	RecordConverter
	// ConvertRelation builds the Example of a decoded relation record.
	ConvertRelation(record int, r *RelationRecord) Result
}

// Format is how a task's records become Examples: its converter and
// defaults. The built-in tasks' formats are registered here; a task that
// reuses one of the converter types registers its own Format (package
// tasks does, from the task's file).
type Format struct {
	// MaxSeqLength is the original script's max_seq_length (the default).
	MaxSeqLength int
	// Layout is the shape of the Examples New's converter builds.
	Layout Layout
	// NeedsLabels: the task has no built-in label list; Config.Labels is
	// required.
	NeedsLabels bool
	// NegativeSampling: Config.NegativeSample applies (relation records
	// labelled no_relation).
	NegativeSampling bool
	// New builds the converter; cfg has MaxSeqLength filled in.
	New func(tok Tokenizer, cfg Config) (RecordConverter, error)
}

var (
	formats = map[string]Format{}
	order   []string
)

// Register adds the format of a task; it panics on a second registration
// of the name.
func Register(task string, f Format) {
	if _, dup := formats[task]; dup {
		panic("features: task " + task + " registered twice")
	}
	formats[task] = f
	order = append(order, task)
}

// Lookup returns the format of a task.
func Lookup(task string) (Format, bool) {
	f, ok := formats[task]
	return f, ok
}

// Tasks lists the registered tasks in registration order (the built-in
// ones first).
func Tasks() []string { return append([]string(nil), order...) }

func init() {
	Register(TaskTREXRC, Format{MaxSeqLength: DefaultTREXMaxSeqLength, Layout: LayoutRelation, NegativeSampling: true,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			if cfg.Labels == nil {
				cfg.Labels = trexrc.Relations410()
			}
			return NewTREXRC(tok, TREXOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
		}})
	Register(TaskFindHead, Format{MaxSeqLength: DefaultFindHeadMaxSeqLength, Layout: LayoutTokens,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			return NewFindHead(tok, FindHeadOptions{MaxSeqLength: cfg.MaxSeqLength, Mapping: cfg.HeadMapping})
		}})
	Register(TaskTACRED, Format{MaxSeqLength: DefaultTACREDMaxSeqLength, Layout: LayoutRelation, NegativeSampling: true,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			return NewTACRED(tok, TACREDOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels, ClampAtMax: cfg.ClampAtMax})
		}})
	Register(TaskOpenEntity, Format{MaxSeqLength: DefaultOpenEntityMaxSeqLength, Layout: LayoutEntity,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			return NewOpenEntity(tok, EntityOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
		}})
	Register(TaskFIGER, Format{MaxSeqLength: DefaultFIGERMaxSeqLength, Layout: LayoutEntity, NeedsLabels: true,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			return NewFIGER(tok, EntityOptions{MaxSeqLength: cfg.MaxSeqLength, Labels: cfg.Labels})
		}})
	Register(TaskCosmosQA, Format{MaxSeqLength: DefaultCosmosQAMaxSeqLength, Layout: LayoutChoices,
		New: func(tok Tokenizer, cfg Config) (RecordConverter, error) {
			return NewCosmosQA(tok, CosmosQAOptions{MaxSeqLength: cfg.MaxSeqLength, PadID: cfg.PadID, LegacyLabel: cfg.LegacyLabel})
		}})
}

// DefaultMaxSeqLength returns the original script's max_seq_length for a
// task, or 0 for an unknown task.
func DefaultMaxSeqLength(task string) int { return formats[task].MaxSeqLength }

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
	rc      RecordConverter
}

// NewConverter builds the task's converter from cfg.
func NewConverter(tok Tokenizer, cfg Config) (*Converter, error) {
	f, ok := formats[cfg.Task]
	if !ok {
		return nil, fmt.Errorf("unknown task %q (want one of %v)", cfg.Task, order)
	}
	if cfg.MaxSeqLength == 0 {
		cfg.MaxSeqLength = f.MaxSeqLength
	}
	if f.NeedsLabels && cfg.Labels == nil {
		return nil, fmt.Errorf("%s needs a label list (labels.json, or one built from train.json)", cfg.Task)
	}
	rc, err := f.New(tok, cfg)
	if err != nil {
		return nil, err
	}
	c := &Converter{cfg: cfg, rc: rc}
	if cfg.NegativeSample > 0 && f.NegativeSampling {
		c.sampler = NewNegativeSampler(cfg.NegativeSample)
	}
	return c, nil
}

// Config returns the configuration with defaults filled in.
func (c *Converter) Config() Config { return c.cfg }

// Convert decodes one raw JSON record (the record-th of its input) and
// builds its Example.
func (c *Converter) Convert(record int, raw []byte) Result { return c.rc.Convert(record, raw) }

// ConvertRelation builds a relation record (tacred, trex-rc) that is
// already decoded (for instance read from Arrow).
func (c *Converter) ConvertRelation(record int, r *RelationRecord) Result {
	rc, ok := c.rc.(RelationConverter)
	if !ok {
		return Result{Err: fmt.Errorf("task %s does not take relation records", c.cfg.Task)}
	}
	return rc.ConvertRelation(record, r)
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
