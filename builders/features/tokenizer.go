package features

import (
	"fmt"

	"github.com/kadapter/kadapter/tokenizer"
)

// *tokenizer.Tokenizer is the production Tokenizer.
var _ Tokenizer = (*tokenizer.Tokenizer)(nil)

// LoadTokenizer loads the RoBERTa tokenizer in dir (vocab.json +
// merges.txt, or tokenizer.json) for the builders.
func LoadTokenizer(dir string) (Tokenizer, error) {
	t, err := tokenizer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading tokenizer %s: %w", dir, err)
	}
	return t, nil
}
