// Classifies every non-ASCII code point the way Hugging Face's ByteLevel
// pre-tokenizer (Oniguruma) does: L (letter), N (number), S (White_Space)
// or O (other), by pre-tokenizing two probe strings per code point.
// Usage: node classify.js OUT   (run with NODE_PATH=$KADAPTER_HF_TOKENIZER/node_modules)
// Writes one class letter per code point (index = code point).
const t = require('tokenizers');
const fs = require('fs');
const p = t.byteLevelPreTokenizer(false, true);
const out = Buffer.alloc(0x110000, 0x3f); // '?'
for (let cp = 0x80; cp < 0x110000; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const X = String.fromCodePoint(cp);
  const r1 = p.preTokenizeString('a' + X + '1' + X + 'x').length;
  let c;
  if (r1 === 3) {
    const first = p.preTokenizeString('a' + X + '1' + X + 'x')[0][1];
    c = (first[1] - first[0] > 1) ? 'L' : 'N';
  } else if (r1 === 5) {
    const r2 = p.preTokenizeString('a' + X + '!').length;
    c = r2 === 2 ? 'O' : 'S';
  } else c = 'X';
  out[cp] = c.charCodeAt(0);
}
fs.writeFileSync(process.argv[2] || 'hfclass.txt', out);
