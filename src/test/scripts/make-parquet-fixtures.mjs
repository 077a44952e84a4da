// Writes the parquet test fixtures of src/test/resources/org/jtune/data/parquet with DuckDB, an independent
// parquet writer, from random records that are also written as JSON Lines: the tests read each parquet file and
// compare it with its JSON Lines twin.
//
//   (cd FOLDER && npm install @duckdb/node-api@1.5.6-r.1 parquet-wasm@0.8.0)   # a folder outside the project
//   node src/test/scripts/make-parquet-fixtures.mjs FOLDER        # from the project root
//
// mixed.jsonl + mixed-*.parquet: every column kind the reader covers (integers, doubles, booleans, strings with
// nulls, lists of structs, lists with null items, empty and null lists, structs), in small row groups, with each
// compression (snappy, zstd, gzip, none) and DuckDB's V2 encodings (DELTA_*, BYTE_STREAM_SPLIT); then the same
// rows rewritten by arrow-rs (parquet-wasm), a second writer, with version 2 data pages, several row groups and many
// small pages per column.
// chat.jsonl + chat.parquet, pairs.jsonl + pairs.parquet: datasets as the Hub stores them (messages; prompt /
// chosen / rejected), for the training tests.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const modules = createRequire(resolve(process.argv[2] ?? '.') + '/');
const { DuckDBInstance } = modules('@duckdb/node-api');
const wasm = modules('parquet-wasm');

const out = resolve('src/test/resources/org/jtune/data/parquet');
let state = 20261206;
const rand = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'é', '€', '𝄞', '"quoted"', 'back\\slash', 'line\nbreak',
    'tab\there', 'naïve', 'zebra', 'apple', 'river', 'stone'];
const sentence = (n) => Array.from({ length: n }, () => pick(words)).join(' ');

function mixed(n) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const messages = rand() < 0.1 ? null : Array.from({ length: Math.floor(rand() * 4) }, (_, k) => ({
      role: k % 2 === 0 ? 'user' : 'assistant', content: rand() < 0.05 ? null : sentence(1 + Math.floor(rand() * 12)) }));
    rows.push({
      id: i * 7919 - 40000 + Math.floor(rand() * 3),
      big: (i % 3 === 0 ? -1 : 1) * (2 ** 40 + i * 1000003),
      text: rand() < 0.15 ? null : sentence(Math.floor(rand() * 20)),
      label: pick(['good', 'bad', 'neutral']),
      score: rand() < 0.1 ? null : Math.round(rand() * 1e6) / 1e3,
      flag: rand() < 0.1 ? null : rand() < 0.5,
      messages,
      tags: rand() < 0.1 ? null : Array.from({ length: Math.floor(rand() * 3) }, () => rand() < 0.2 ? null : pick(words)),
      meta: rand() < 0.1 ? null : { source: pick(['web', 'book', null]), n: Math.floor(rand() * 100) },
    });
  }
  return rows;
}

function chat(n) {
  return Array.from({ length: n }, () => ({ messages: [
    { role: 'user', content: 'Say something about ' + sentence(2) + '.' },
    { role: 'assistant', content: sentence(6 + Math.floor(rand() * 10)) + '.' }] }));
}

function pairs(n) {
  return Array.from({ length: n }, () => ({ prompt: 'Continue: ' + sentence(4), chosen: ' ' + sentence(5) + '.',
    rejected: ' ' + sentence(3) + '.' }));
}

const jsonl = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const db = await (await DuckDBInstance.create(':memory:')).connect();

async function write(name, rows, columns, variants) {
  const source = `${out}/${name}.jsonl`;
  writeFileSync(source, jsonl(rows));
  for (const [suffix, options] of variants) {
    const target = `${out}/${name}${suffix}.parquet`;
    await db.run(`COPY (SELECT * FROM read_json('${source}', format = 'newline_delimited', columns = ${columns}))
                  TO '${target}' (FORMAT parquet, ${options})`);
  }
}

await write('mixed', mixed(300), `{id: 'INTEGER', big: 'BIGINT', text: 'VARCHAR', label: 'VARCHAR', score: 'DOUBLE',
    flag: 'BOOLEAN', messages: 'STRUCT(role VARCHAR, content VARCHAR)[]', tags: 'VARCHAR[]',
    meta: 'STRUCT(source VARCHAR, n INTEGER)'}`, [
  ['-snappy', "COMPRESSION snappy, ROW_GROUP_SIZE 100"],
  ['-zstd-v2', "COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 128"],
  ['-gzip', "COMPRESSION gzip"],
  ['-plain-v2', "COMPRESSION uncompressed, PARQUET_VERSION v2, ROW_GROUP_SIZE 50"],
]);
// arrow-rs: version 2 data pages (levels outside the compressed values), 64-row groups, pages of ~256 bytes.
for (const [suffix, version, compression] of [['-arrow-v2', wasm.WriterVersion.V2, wasm.Compression.ZSTD],
                                             ['-arrow-v1', wasm.WriterVersion.V1, wasm.Compression.SNAPPY]]) {
  const table = wasm.readParquet(readFileSync(`${out}/mixed-gzip.parquet`));
  const props = new wasm.WriterPropertiesBuilder().setWriterVersion(version).setCompression(compression)
      .setMaxRowGroupSize(64).setDataPageSizeLimit(256).setWriteBatchSize(16).build();
  writeFileSync(`${out}/mixed${suffix}.parquet`, wasm.writeParquet(table, props));
}
await write('chat', chat(48), `{messages: 'STRUCT(role VARCHAR, content VARCHAR)[]'}`, [['', 'COMPRESSION snappy']]);
await write('pairs', pairs(32), `{prompt: 'VARCHAR', chosen: 'VARCHAR', rejected: 'VARCHAR'}`,
    [['', 'COMPRESSION snappy']]);
console.log('written to ' + out);
