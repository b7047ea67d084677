package features

import "fmt"

// CosmosQAOptions configures the CosmosQA builder.
type CosmosQAOptions struct {
	// MaxSeqLength is max_seq_length (256 in the original script).
	MaxSeqLength int
	// PadID is the padding id. The original pads with 0 (= <s>, quirk 8),
	// which is the zero value; adapters attend to padding, so it changes
	// the numbers.
	PadID int64
	// LegacyLabel reproduces "int(label) if label else None": a JSON
	// integer 0 label becomes "no label" (quirk 24). Off by default (the
	// fix): integer 0 is answer 0.
	LegacyLabel bool
}

// CosmosQA builds CosmosQA multiple-choice features (spec §6.4). Safe for
// concurrent use.
type CosmosQA struct {
	tok    Tokenizer
	sp     specials
	max    int
	pad    int64
	legacy bool
}

// NewCosmosQA returns a CosmosQA builder.
func NewCosmosQA(tok Tokenizer, opts CosmosQAOptions) (*CosmosQA, error) {
	if opts.MaxSeqLength < 3 {
		return nil, fmt.Errorf("cosmosqa: max_seq_length %d is too small", opts.MaxSeqLength)
	}
	sp, err := lookupSpecials(tok)
	if err != nil {
		return nil, fmt.Errorf("cosmosqa: %w", err)
	}
	return &CosmosQA{tok: tok, sp: sp, max: opts.MaxSeqLength, pad: opts.PadID, legacy: opts.LegacyLabel}, nil
}

// Build converts one record into four choices: <s> context </s> question
// </s> answer_k </s> (the literal " </s> " join becomes the </s> token),
// truncated longest-first from the end to MaxSeqLength-3 real tokens and
// padded with PadID (mask 0). Label is -1 when the record has none.
func (c *CosmosQA) Build(record int, r *CosmosQARecord) (Example, error) {
	ex := Example{Record: record, ID: recordID(r.ID, record), SubjPos: -1, ObjPos: -1, EntityPos: -1, Label: r.Label}
	if c.legacy && r.LabelWasIntZero {
		ex.Label = -1
	}
	context := c.tok.LegacyTokenize(r.Context)
	ex.Choices = make([]Choice, 4)
	for k, answer := range r.Answers {
		a := context
		b := c.tok.LegacyTokenize(r.Question + " </s> " + answer)
		// _truncate_seq_pair: pop from the longer one, from b on ties.
		la, lb := len(a), len(b)
		for la+lb > c.max-3 {
			if la > lb {
				la--
			} else {
				lb--
			}
		}
		tokens := make([]string, 0, la+lb+3)
		tokens = append(tokens, "<s>")
		tokens = append(tokens, a[:la]...)
		tokens = append(tokens, "</s>")
		tokens = append(tokens, b[:lb]...)
		tokens = append(tokens, "</s>")
		ids, mask := c.sp.padded(c.tok, tokens, c.max, c.pad)
		ex.Choices[k] = Choice{Tokens: tokens, InputIDs: ids, AttentionMask: mask}
	}
	return ex, nil
}

// Convert implements RecordConverter.
func (c *CosmosQA) Convert(record int, raw []byte) Result {
	return decodeAndBuild(DecodeCosmosQA, c.Build, record, raw)
}
