#!/usr/bin/env node
// Times Hugging Face's tokenizer (Rust core through its Node binding) on
// the texts of a JSON-lines file, single-threaded, and prints one JSON
// object. Run by bench/tokenizer (main.go) with NODE_PATH pointing at the
// oracle's node_modules and RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false.
// Usage: node hf_bench.js TOKENIZER_JSON TEXTS.jsonl PASSES
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const [, , tokjson, inPath, passesArg] = process.argv;
const passes = Number(passesArg || 3);
const texts = fs.readFileSync(inPath, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l).text);
const tk = Tokenizer.fromFile(tokjson);
const now = () => Number(process.hrtime.bigint()) / 1e9;
(async () => {
  const result = { texts: texts.length, batch: [], single: [], batch_cpu: [] };
  // encodeBatch: one call, encoding on one Rust thread; only encoding is timed.
  for (let p = 0; p < passes; p++) {
    const c0 = process.cpuUsage();
    const t0 = now();
    const encs = await tk.encodeBatch(texts, { addSpecialTokens: true });
    const t1 = now();
    const c1 = process.cpuUsage(c0);
    result.batch_cpu.push((c1.user + c1.system) / 1e6); // CPU seconds of the whole process
    let n = 0;
    for (const e of encs) n += e.getLength();
    result.tokens = n;
    result.batch.push(t1 - t0);
  }
  // encode: one call per text (adds the binding's per-call cost).
  for (let p = 0; p < passes; p++) {
    const t0 = now();
    for (const s of texts) await tk.encode(s, null, { addSpecialTokens: true });
    result.single.push(now() - t0);
  }
  result.rss_mb = process.memoryUsage().rss / 1048576;
  console.log(JSON.stringify(result));
})();
