// Package tokenizer is RoBERTa's byte-level BPE tokenizer, written for
// kadapter.
//
// Two modes share one vocabulary and one BPE:
//
//   - Encode / EncodePair reproduce Hugging Face's Rust tokenizer (the
//     tokenizers library with RoBERTa's tokenizer.json): added tokens matched
//     in the text (with their lstrip/rstrip flags), the GPT-2
//     pre-tokenization pattern, byte-to-unicode mapping, merges by rank,
//     UTF-8 byte offsets trimmed as RobertaProcessing does, word ids, the
//     <s> A </s> and <s> A </s></s> B </s> templates, truncation and padding.
//   - LegacyTokenize reproduces pytorch_transformers 1.2.0's
//     RobertaTokenizer.tokenize, which the original K-Adapter feature
//     converters use: split on the special-token strings, strip every piece,
//     prepend one space to each piece.
//
// A Tokenizer is immutable after Load apart from its bounded word cache, and
// is safe for concurrent use.
package tokenizer
