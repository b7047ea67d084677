#!/usr/bin/env node
// Reads Arrow IPC stream files with the official JavaScript implementation
// (npm apache-arrow, installed by scripts/install-arrow-js.sh) and prints,
// for each file, one JSON line:
//
//   {"file": PATH, "arrow_js_version": "21.2.0", "batches": N, "num_rows": N,
//    "compressed_buffers": N,            // buffers inflated by the zstd codec
//    "schema": {"fields": [{"name": ..., "type": ..., "nullable": ...}],
//               "metadata": {KEY: VALUE}},
//    "rows": [{COLUMN: VALUE, ...}, ...]}
//
// Types are written in pyarrow's notation, with datasets' names for floats:
// "string", "large_string", "binary", "bool", "int8".."int64", "uint8"..,
// "float16", "float32", "float64", "list<item: int64>", "large_list<...>",
// "fixed_size_list<item: int64>[4]", "struct<a: int64, b: string>"; a child
// field that is not nullable gets " not null" (as pyarrow prints it).
// Values: integers as exact JSON numbers (64-bit included), floats as JSON
// numbers (NaN/Infinity as the strings "NaN", "Infinity", "-Infinity"),
// binary as lowercase hex strings, lists as arrays, structs as objects,
// nulls as null.
//
// Usage: node arrow-dump.js FILE.arrow...
// Modules are looked up in $KADAPTER_ARROW_JS (the install folder), else
// beside this script.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const base = process.env.KADAPTER_ARROW_JS || __dirname;
const req = createRequire(path.join(base, 'package.json'));
const arrow = req('apache-arrow');
const fzstd = req('fzstd');
const { Type } = arrow;

const arrowDir = path.dirname(req.resolve('apache-arrow'));
const version = JSON.parse(fs.readFileSync(path.join(arrowDir, 'package.json'), 'utf8')).version;

// apache-arrow reads compressed record batches through a codec registered
// by the user; fzstd is a pure-JavaScript zstd decoder. When a frame does
// not record its content size (arrow-go's streaming zstd writer omits it),
// fzstd returns a view at byte offset 12 of a larger buffer, and
// apache-arrow would then fail to view it as 64-bit values ("start offset
// of BigInt64Array should be a multiple of 8"): copy such views.
let compressedBuffers = 0;
arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, {
  decode(data) {
    compressedBuffers++;
    const out = fzstd.decompress(data);
    return out.byteOffset % 8 === 0 ? out : out.slice();
  },
});

function typeName(t) {
  switch (t.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return (t.isSigned ? 'int' : 'uint') + t.bitWidth;
    case Type.Float: return ['float16', 'float32', 'float64'][t.precision];
    case Type.Utf8: return 'string';
    case Type.LargeUtf8: return 'large_string';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.List: return `list<${fieldName(t.children[0])}>`;
    case Type.LargeList: return `large_list<${fieldName(t.children[0])}>`;
    case Type.FixedSizeList: return `fixed_size_list<${fieldName(t.children[0])}>[${t.listSize}]`;
    case Type.Struct: return `struct<${t.children.map(fieldName).join(', ')}>`;
    default: return `unsupported:${String(t)}`;
  }
}

function fieldName(f) {
  return `${f.name}: ${typeName(f.type)}${f.nullable ? '' : ' not null'}`;
}

function hex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

// value converts one cell to a JSON-ready value; 64-bit integers stay
// BigInt and are written exactly by encode.
function value(v, t) {
  if (v === null || v === undefined) return null;
  switch (t.typeId) {
    case Type.Int: return typeof v === 'bigint' ? v : BigInt(v);
    case Type.Float:
      if (Number.isFinite(v)) return v;
      return Number.isNaN(v) ? 'NaN' : (v > 0 ? 'Infinity' : '-Infinity');
    case Type.Binary: case Type.LargeBinary: return hex(v);
    case Type.List: case Type.LargeList: case Type.FixedSizeList: {
      const ct = t.children[0].type;
      const out = new Array(v.length);
      for (let j = 0; j < v.length; j++) out[j] = value(v.get(j), ct);
      return out;
    }
    case Type.Struct: {
      const o = {};
      for (const f of t.children) o[f.name] = value(v[f.name], f.type);
      return o;
    }
    default: return v;
  }
}

function encode(x) {
  if (x === null) return 'null';
  switch (typeof x) {
    case 'bigint': return x.toString();
    case 'number': case 'string': case 'boolean': return JSON.stringify(x);
  }
  if (Array.isArray(x)) return '[' + x.map(encode).join(',') + ']';
  return '{' + Object.keys(x).map((k) => JSON.stringify(k) + ':' + encode(x[k])).join(',') + '}';
}

function dump(file) {
  compressedBuffers = 0;
  const reader = arrow.RecordBatchStreamReader.from(fs.readFileSync(file));
  reader.open();
  const schema = reader.schema;
  if (!schema) throw new Error(`${file}: no schema (not an Arrow IPC stream?)`);
  const fields = schema.fields;
  const rows = [];
  let batches = 0;
  for (const batch of reader) {
    batches++;
    const cols = fields.map((_, i) => batch.getChildAt(i));
    for (let r = 0; r < batch.numRows; r++) {
      const row = {};
      fields.forEach((f, i) => { row[f.name] = value(cols[i].get(r), f.type); });
      rows.push(row);
    }
  }
  const metadata = {};
  for (const [k, v] of schema.metadata) metadata[k] = v;
  return {
    file,
    arrow_js_version: version,
    batches,
    num_rows: rows.length,
    compressed_buffers: compressedBuffers,
    schema: {
      fields: fields.map((f) => ({ name: f.name, type: typeName(f.type), nullable: f.nullable })),
      metadata,
    },
    rows,
  };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node arrow-dump.js FILE.arrow...\n');
  process.exit(2);
}
for (const f of files) {
  try {
    process.stdout.write(encode(dump(f)) + '\n');
  } catch (e) {
    process.stderr.write(`arrow-dump: ${f}: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
}
