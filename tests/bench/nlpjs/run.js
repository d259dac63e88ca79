// Trains NLP.js (node-nlp) on one nlu_bench split and prints its figures as one JSON line.
// Usage: node run.js --train FILE --test FILE --language en|zh
// FILE: a CSV with a header naming `text` and `category`/`intent`/`label_text` (Banking77,
// MASSIVE), or JSON lines with `tokens` and `intent` (SNIPS). Run by tests/bench/nlu_bench.
'use strict';

const fs = require('fs');
const { NlpManager } = require('node-nlp');

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  if (!args.train || !args.test || !args.language) {
    throw new Error('usage: node run.js --train FILE --test FILE --language en|zh');
  }
  return args;
}

// RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i += 1;
      }
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

function readExamples(file) {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line))
      .map((e) => ({ text: e.tokens.join(' '), intent: e.intent }));
  }
  const rows = parseCsv(text);
  const header = rows[0];
  const textColumn = header.indexOf('text');
  const intentColumn = ['category', 'intent', 'label_text']
    .map((name) => header.indexOf(name))
    .find((index) => index >= 0);
  if (textColumn < 0 || intentColumn === undefined) {
    throw new Error(`${file}: no text or intent column`);
  }
  return rows.slice(1).map((r) => ({ text: r[textColumn], intent: r[intentColumn] }));
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(p * (sorted.length - 1))];
}

async function main() {
  const args = parseArgs(process.argv);
  const train = readExamples(args.train);
  const test = readExamples(args.test);
  const language = args.language;

  const manager = new NlpManager({
    languages: [language],
    autoSave: false,
    autoLoad: false,
    nlu: { log: false },
  });
  for (const e of train) {
    manager.addDocument(language, e.text, e.intent);
  }
  const started = process.hrtime.bigint();
  await manager.train();
  const trainSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // One utterance at a time (NLP.js has no batch API): accuracy, latency, throughput.
  const latencies = [];
  const counts = new Map();
  const bump = (intent, key) => {
    const c = counts.get(intent) || { tp: 0, fp: 0, fn: 0 };
    c[key] += 1;
    counts.set(intent, c);
  };
  let correct = 0;
  const evalStarted = process.hrtime.bigint();
  for (const e of test) {
    const t0 = process.hrtime.bigint();
    const result = await manager.process(language, e.text);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const predicted = result.intent;
    if (predicted === e.intent) {
      correct += 1;
      bump(e.intent, 'tp');
    } else {
      bump(e.intent, 'fn');
      bump(predicted, 'fp');
    }
  }
  const evalSeconds = Number(process.hrtime.bigint() - evalStarted) / 1e9;
  let f1Sum = 0;
  for (const c of counts.values()) {
    const p = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
    const r = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
    f1Sum += p + r === 0 ? 0 : (2 * p * r) / (p + r);
  }
  const model = manager.export(true);
  console.log(
    JSON.stringify({
      system: 'nlp.js',
      version: require('node-nlp/package.json').version,
      train: train.length,
      test: test.length,
      accuracy: correct / test.length,
      macro_f1: f1Sum / counts.size,
      train_seconds: trainSeconds,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      throughput: test.length / evalSeconds,
      model_mb: Buffer.byteLength(model, 'utf8') / 1e6,
    }),
  );
}

main().catch((error) => {
  console.error(`run.js: ${error.stack || error}`);
  process.exit(1);
});
