// accuracy.js [BUILD_DIR] [SETS] — the accuracy a user should expect from the engine each
// EngineModelType maps to, on the shared test recordings with their references (refs.tsv):
// every file recognised by `cicada transcribe` (the job's own pipeline, default options), then
// word error rate (English, the 8 kHz digits) or character error rate (Mandarin) pooled over the
// set: total edits / total reference words or characters. Text is compared lower-cased, without
// punctuation (Mandarin: Han characters only).
//
// The engines are whatever this machine's configuration maps the types to: with no whisper model
// installed, pocketsphinx (the Mandarin model from CICADA_SPHINX_ZH_MODEL, default
// ../shared/models/sphinx-zh); after `cicada models pull base` (or with CICADA_ENGINES), whisper.
// SETS: comma list of en/hifitts, en/librispeech, en/jfk, en/sphinx, zh/aishell, 8k/fsdd
// (default: all). Prints a markdown table; results in docs/benchmarks.md.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BUILD = path.resolve(process.argv[2] || 'build');
const BIN = path.join(BUILD, 'cicada');
const SHARED = process.env.CICADA_SHARED || path.resolve(__dirname, '../../shared');
const TESTDATA = process.env.CICADA_TESTDATA || path.join(SHARED, 'testdata');
const SETS = {
  'en/hifitts': { type: '16k_en', unit: 'word' },
  'en/librispeech': { type: '16k_en', unit: 'word' },
  'en/jfk': { type: '16k_en', unit: 'word' },
  'en/sphinx': { type: '16k_en', unit: 'word' },
  'zh/aishell': { type: '16k_zh', unit: 'char' },
  '8k/fsdd': { type: '8k_en', unit: 'word' },
};
const chosen = (process.argv[3] || Object.keys(SETS).join(',')).split(',');
const zhModel = process.env.CICADA_SPHINX_ZH_MODEL || path.join(SHARED, 'models', 'sphinx-zh');
const env = { ...process.env, ...(fs.existsSync(zhModel) ? { CICADA_SPHINX_ZH_MODEL: zhModel } : {}) };

function units(text, unit) {
  const t = text.toLowerCase();
  if (unit === 'char') return [...t].filter((c) => /\p{Script=Han}/u.test(c));
  return t.replace(/[^\p{L}\p{N}']+/gu, ' ').trim().split(/\s+/).filter(Boolean);
}

// Levenshtein distance over two arrays (one row at a time).
function edits(ref, hyp) {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[hyp.length];
}

function transcribe(file, type) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['transcribe', file, '--engine', type], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, err,
      text: out.split('\n').map((l) => l.replace(/^\[[^\]]*\]\s+/, '')).join(' ') }));
  });
}

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]); }
  }));
  return out;
}

async function engineOf(type) {
  const r = await new Promise((resolve) => {
    const p = spawn(BIN, ['models', 'list'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', () => resolve(out));
  });
  const line = r.split('\n').find((l) => new RegExp(`^\\s*${type}\\s`).test(l));
  const cols = line ? line.trim().split(/\s+/) : [];
  return cols[1] && cols[1] !== '-' ? `${cols[1]} ${path.basename(cols[2] || '')}` : 'not installed';
}

(async () => {
  console.log('| set | EngineModelType → engine | files | run time | error rate |');
  console.log('|---|---|---|---|---|');
  for (const name of chosen) {
    const set = SETS[name];
    const dir = path.join(TESTDATA, name);
    if (!set || !fs.existsSync(path.join(dir, 'refs.tsv'))) { console.log(`| ${name} | (absent) | | | |`); continue; }
    const refs = fs.readFileSync(path.join(dir, 'refs.tsv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    const t0 = Date.now();
    const results = await pool(refs, os.cpus().length, async ([file, ref]) => {
      const r = await transcribe(path.join(dir, file), set.type);
      if (r.code !== 0) throw new Error(`${file}: ${r.err}`);
      const a = units(ref, set.unit), b = units(r.text, set.unit);
      return { n: a.length, e: edits(a, b) };
    });
    const n = results.reduce((s, r) => s + r.n, 0), e = results.reduce((s, r) => s + r.e, 0);
    const secs = ((Date.now() - t0) / 1000).toFixed(0);
    console.log(`| ${name} | ${set.type} → ${await engineOf(set.type)} | ${refs.length} | ${secs} s | ` +
      `${set.unit === 'char' ? 'CER' : 'WER'} ${(100 * e / n).toFixed(1)}% (${e}/${n}) |`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
