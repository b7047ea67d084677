#!/usr/bin/env node
// Pair / truncation / padding oracle for the tokenizer tests: Hugging Face's
// tokenizer (the npm binding that KADAPTER_HF_TOKENIZER installs).
// Usage: NODE_PATH=$KADAPTER_HF_TOKENIZER/node_modules node pair.js TOKENIZER_JSON IN.jsonl OUT.jsonl
// IN: {"a": str, "b": str|null, "max": n (0 = none), "strategy": "LongestFirst"|"OnlyFirst"|"OnlySecond",
//      "pad": n (0 = none), "prefix": bool} a line.
// OUT: {ids, tokens, offsets (UTF-8 byte ranges into a or b), words, seqs, special, attention} or {error}.
const { Tokenizer, byteLevelPreTokenizer, robertaProcessing } = require('tokenizers');
const fs = require('fs');
const [, , tokjson, inPath, outPath] = process.argv;
function cpToByte(text) {
  const m = [0];
  let b = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    b += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    m.push(b);
  }
  return m;
}
const plain = Tokenizer.fromFile(tokjson);
const prefixed = Tokenizer.fromFile(tokjson);
prefixed.setPreTokenizer(byteLevelPreTokenizer(true, true));
prefixed.setPostProcessor(robertaProcessing(['</s>', 2], ['<s>', 0], true, true));
const lines = fs.readFileSync(inPath, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
(async () => {
  const out = [];
  for (const c of lines) {
    const tk = c.prefix ? prefixed : plain;
    if (c.max > 0) tk.setTruncation(c.max, { strategy: c.strategy || 'LongestFirst' }); else tk.disableTruncation();
    if (c.pad > 0) tk.setPadding({ maxLength: c.pad, padId: 1, padToken: '<pad>' }); else tk.disablePadding();
    try {
      const e = await tk.encode(c.a, c.b === undefined ? null : c.b, { addSpecialTokens: true });
      const seqs = e.getSequenceIds();
      const maps = [cpToByte(c.a), cpToByte(c.b || '')];
      const offsets = e.getOffsets().map(([s, t], i) => seqs[i] == null ? [s, t] : [maps[seqs[i]][s], maps[seqs[i]][t]]);
      out.push(JSON.stringify({ ids: e.getIds(), tokens: e.getTokens(), offsets, words: e.getWordIds(), seqs,
        special: e.getSpecialTokensMask(), attention: e.getAttentionMask() }));
    } catch (err) {
      out.push(JSON.stringify({ error: String(err) }));
    }
  }
  fs.writeFileSync(outPath, out.join('\n') + (out.length ? '\n' : ''));
})();
