// cores.js BUILD_DIR [MODELS] [RUNS] — issue 12: do cores follow the work? Cicada with its defaults
// (workers = cores, no thread cap) against whisper.cpp's own tools built from the same pinned
// source (whisper-cli, whisper-server) and against pocketsphinx_batch, on generated models of the
// real tiny and base dimensions (random weights: real compute), with the same decoding parameters
// on every side (whisper-cli's defaults: beam 5, best-of 5, timestamps; no VAD):
//  1. one file alone (11 s and 200 s): Cicada job (submit -> callback, model loaded) / whisper-cli's
//     compute time (its total minus its model load) with every core;
//  2. a 200 s file, then a 3 s file one second later: the short file's latency on Cicada and on
//     whisper-server; Cicada's total against whisper-cli running both files one after the other;
//  2b. (ours) the same two files submitted together: both totals and the short one's latency;
//  3. 2, 4 and ten 11 s files at once: Cicada's total against as many whisper-cli runs in a row, and per-file
//     p50/p95 latency on Cicada and on whisper-server;
//  4. 1-3 with pocketsphinx against pocketsphinx_batch run serially.
// CPU utilisation of the whole machine (from /proc/stat) is reported for every Cicada and server run.
//  2d. (ours) the 3 s file at several moments of the 200 s file (BENCH_DELAYS seconds after it):
//     its latency against its solo time, median and range;
//  2s. (ours) the 200 s file and a 130 s one submitted together (comparable: they share the cores,
//     and the survivor takes the freed core back): total against whisper-cli one after the other;
// MODELS: comma list of tiny, base, sphinx (default all three). BENCH_CASES: comma list of 1, 2, 2d,
// 2b, 2s, 3 (default all; 2, 2d and 2b need 1). Prints a markdown table per model.
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));
const { callbackReceiver, now } = require(path.join(__dirname, 'callbacks.js'));

const BUILD = path.resolve(process.argv[2] || 'build');
const MODELS = (process.argv[3] || 'tiny,base,sphinx').split(',');
const RUNS = Number(process.argv[4] || 3);
const CASES = (process.env.BENCH_CASES || '1,2,2d,2b,2s,3').split(',');   // 2, 2d and 2b need 1 (solo times)
const DELAYS = (process.env.BENCH_DELAYS || '1,2.5,4,5.5,7,8.5,10,11.5,13').split(',').map(Number);   // case 2d, seconds
const CORES = os.cpus().length;
const TMP = L.tmpDir('cicada-cores-');
const SPHINX = { hmm: '/usr/share/pocketsphinx/model/en-us/en-us', lm: '/usr/share/pocketsphinx/model/en-us/en-us.lm.bin',
  dict: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const f2 = (x) => x.toFixed(2);

// ---- machine CPU utilisation ----
function cpuSample() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle, total };
}
async function measured(fn) {
  const a = cpuSample();
  const t0 = now();
  const out = await fn();
  const b = cpuSample();
  return { out, wall: now() - t0, cpu: 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total) };
}

// ---- inputs ----
function rawOf(file) {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'],
    { maxBuffer: 1 << 28 });
}
function writeWav(pcm, out) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', '-', '-bitexact',
    '-map_metadata', '-1', out], { input: pcm });
  return out;
}
function prepareFiles() {
  const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
  const speech = [];
  for (const d of ['en/hifitts', 'en/librispeech']) {
    for (const f of fs.readdirSync(path.join(L.TESTDATA, d)).sort()) {
      if (/\.(wav|flac)$/.test(f)) speech.push(rawOf(path.join(L.TESTDATA, d, f)));
    }
  }
  let long = Buffer.concat(speech);
  while (long.length < 200 * 32000) long = Buffer.concat([long, ...speech]);
  const files = {
    jfk: writeWav(rawOf(jfk), path.join(TMP, 'jfk.wav')),
    long: writeWav(long.subarray(0, 200 * 32000), path.join(TMP, 'long.wav')),
    mid: writeWav(long.subarray(60 * 32000, 190 * 32000), path.join(TMP, 'mid.wav')),
    short: writeWav(speech[1].subarray(0, 3 * 32000), path.join(TMP, 'short.wav')),
  };
  for (const [k, f] of Object.entries(files)) fs.writeFileSync(path.join(TMP, `${k}.raw`), rawOf(f));
  return files;
}

function generateModel(kind) {
  const out = path.join(os.tmpdir(), `cicada-bench-${kind}-random.bin`);
  if (!fs.existsSync(out)) {
    execFileSync(path.join(BUILD, 'tests/engine/whisper_model_gen'),
      [path.join(L.SHARED, `models/whisper-vocab/for-tests-ggml-${kind}.bin`), out, '--real-dims', '--seed', '1']);
  }
  return out;
}

// ---- the engines' own tools: compute seconds of one run ----
function whisperCli(model, file) {
  const r = spawnSync(path.join(BUILD, 'bin/whisper-cli'), ['-m', model, '-f', file, '-t', String(CORES), '-l', 'en'],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  const ms = (name) => Number(new RegExp(`${name} time =\\s*([0-9.]+) ms`).exec(r.stderr)[1]);
  return (ms('total') - ms('load')) / 1000;
}
function sphinxBatch(name) {
  fs.writeFileSync(path.join(TMP, 'ctl'), `${name}\n`);
  const t0 = now();
  execFileSync('pocketsphinx_batch', ['-adcin', 'yes', '-adchdr', '0', '-cepdir', TMP, '-cepext', '.raw',
    '-ctl', path.join(TMP, 'ctl'), '-hyp', path.join(TMP, 'hyp'), '-hmm', SPHINX.hmm, '-lm', SPHINX.lm,
    '-dict', SPHINX.dict, '-logfn', '/dev/null']);
  return now() - t0;   // includes its model load (~0.3 s): pocketsphinx_batch does not report compute alone
}

// ---- Cicada ----
async function withCicada(engineEnv, files, fn) {
  const rx = await callbackReceiver();
  // the defaults: workers = cores, no CICADA_WHISPER_THREADS
  const srv = await L.startServer({ env: { CICADA_LOG: 'warn', CICADA_WORKERS: String(CORES), CICADA_VAD_MODEL: 'none', CICADA_URL_ALLOW_PRIVATE: 'yes', ...engineEnv } });
  const cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  for (const [k, f] of Object.entries(files)) await L.putFile(cos, `in/${k}.wav`, f);
  let n = 0;
  // resolves with the seconds from submit to the job's callback
  const job = async (k) => {
    const t0 = now();
    const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: `in/${k}.wav`, output: `out/${n++}.txt`,
      extra: `<CallBack>${rx.url}</CallBack>` }) });
    const end = await rx.arrival(d.Response.JobsDetail.JobId);
    return { latency: end - t0, end };
  };
  try {
    await job('short');   // warm-up
    return await fn(job);
  } finally {
    await srv.stop();
    rx.close();
  }
}

// ---- whisper.cpp's server ----
async function withWhisperServer(model, files, fn) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = spawn(path.join(BUILD, 'bin/whisper-server'), ['-m', model, '-t', String(CORES), '-bs', '5', '-bo', '5',
    '-l', 'en', '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const agent = new http.Agent({ keepAlive: false, maxSockets: 64 });
  const request = (k) => new Promise((resolve, reject) => {
    const boundary = `----cicada${Math.random().toString(16).slice(2)}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${k}.wav"\r\n` +
        'Content-Type: audio/wav\r\n\r\n'),
      fs.readFileSync(files[k]),
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\njson\r\n--${boundary}--\r\n`),
    ]);
    const t0 = now();
    const req = http.request({ host: '127.0.0.1', port, path: '/inference', method: 'POST', agent,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve({ latency: now() - t0, end: now() })
        : reject(new Error(`whisper-server answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  try {
    for (let i = 0; ; i++) {
      try { await request('short'); break; } catch (e) {   // up (and warm) once it answers
        if (i > 600 || proc.exitCode !== null) throw new Error(`whisper-server did not start: ${log.slice(-2000)}`);
        await sleep(100);
      }
    }
    return await fn(request);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
  }
}

// ---- scenarios ----
async function longThenShort(run, delayMs = 1000) {
  const t0 = now();
  const long = run('long');
  await sleep(delayMs);
  const short = await run('short');
  const l = await long;
  return { short: short.latency, total: Math.max(l.end, short.end) - t0 };
}
async function atOnce(run, n) {
  const t0 = now();
  const r = await Promise.all(Array.from({ length: n }, () => run('jfk')));
  return { total: Math.max(...r.map((x) => x.end)) - t0, lat: r.map((x) => x.latency) };
}

async function benchModel(kind, files) {
  const isSphinx = kind === 'sphinx';
  const model = isSphinx ? null : generateModel(kind);
  const engineEnv = isSphinx ? {} : { CICADA_ENGINES: `16k_en=whisper:${model}:en` };
  const tool = isSphinx ? 'pocketsphinx_batch (1 thread)' : `whisper-cli -t ${CORES}`;
  const ref = (k) => (isSphinx ? sphinxBatch(k) : whisperCli(model, files[k]));
  const rows = [];
  const row = (what, cicada, other, ratio, target) => rows.push(`| ${what} | ${cicada} | ${other} | ${ratio} | ${target} |`);

  // 1. alone, alternating runs
  const solo = {};
  if (CASES.some((c) => ['1', '2', '2d', '2b'].includes(c))) await withCicada(engineEnv, files, async (job) => {
    for (const k of ['jfk', 'long', 'short']) {
      const c = [], t = [], u = [];
      for (let i = 0; i < RUNS; i++) {
        t.push(ref(k));
        const m = await measured(() => job(k));
        c.push(m.out.latency);
        u.push(m.cpu);
      }
      solo[k] = { cicada: median(c), tool: median(t), cpu: median(u) };
    }
  });
  for (const k of Object.keys(solo)) {
    const s = solo[k];
    row(`1. ${k} (${k === 'jfk' ? 11 : k === 'long' ? 200 : 3} s) alone`, `${f2(s.cicada)} s (CPU ${(s.cpu * 100).toFixed(0)}%)`,
      `${f2(s.tool)} s`, f2(s.cicada / s.tool), k === 'short' ? '—' : '≤ 1.05');
  }

  const cpu = (x) => `CPU ${(x * 100).toFixed(0)}%`;
  const range = (xs) => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;
  const seq = solo.long ? solo.long.tool + solo.short.tool : 0;
  // 2. long, then short one second later (RUNS times: where the long job is when the short one
  // arrives decides how long the short one waits)
  const c2 = !CASES.includes('2') ? null : await withCicada(engineEnv, files, async (job) => {
    const r = [];
    for (let i = 0; i < RUNS; i++) {
      const m = await measured(() => longThenShort(job));
      r.push({ ...m.out, cpu: m.cpu });
    }
    return r;
  });
  const c2short = c2 ? c2.map((x) => x.short) : [], c2total = c2 ? c2.map((x) => x.total) : [];
  if (c2) row('2. short file\'s latency, 1 s behind a 200 s file', `${f2(median(c2short))} s (${range(c2short)}; ` +
    `${f2(median(c2short) / solo.short.cicada)}× its solo time)`, '', '', '≈ 1.5× solo');
  if (c2) row('2. both files, total', `${f2(median(c2total))} s (${range(c2total)}; ${cpu(median(c2.map((x) => x.cpu)))})`,
    `${f2(seq)} s (one after the other)`,
    f2(median(c2total) / seq), '≤ 1.05');

  // 2d. (ours) the short file at other moments of the long job: how long it waits depends on where
  // the long call is (inside an encoder pass it waits for the pass to end), so one arrival time
  // says little; this spreads arrivals over several of the long job's 30-second chunks
  const c2d = !CASES.includes('2d') ? null : await withCicada(engineEnv, files, async (job) => {
    const r = [];
    for (const d of DELAYS) r.push((await longThenShort(job, d * 1000)).short / solo.short.cicada);
    return r;
  });
  if (c2d) row(`2d. short file ${DELAYS[0]}–${DELAYS[DELAYS.length - 1]} s behind the 200 s file (${DELAYS.length} arrivals): ` +
    'latency / solo, median (min–max)', `${f2(median(c2d))}× (${range(c2d)}×)`, '', '', '≈ 1.5×');

  // 2b. the same two files submitted together (not in the issue's list: what a survivor costs)
  const c2b = !CASES.includes('2b') ? null : await withCicada(engineEnv, files, async (job) => {
    const m = await measured(async () => {
      const t0 = now();
      const r = await Promise.all([job('long'), job('short')]);
      return { total: Math.max(...r.map((x) => x.end)) - t0, short: r[1].latency };
    });
    return { ...m.out, cpu: m.cpu };
  });
  if (c2b) row('2b. both files submitted together, total', `${f2(c2b.total)} s (short one ${f2(c2b.short)} s; ${cpu(c2b.cpu)})`,
    `${f2(seq)} s (one after the other)`, f2(c2b.total / seq), '—');

  // 2s. (ours) two comparable long files submitted together: they share the cores; once the 130 s
  // one ends, the 200 s one takes its core back at its next 30-second pass
  const c2s = !CASES.includes('2s') ? null : await withCicada(engineEnv, files, async (job) => {
    const r = [];
    for (let i = 0; i < RUNS; i++) {
      const m = await measured(async () => {
        const t0 = now();
        const x = await Promise.all([job('long'), job('mid')]);
        return Math.max(...x.map((y) => y.end)) - t0;
      });
      r.push({ total: m.out, cpu: m.cpu, seq: ref('long') + ref('mid') });
    }
    return r;
  });
  // (whisper-cli runs right after each Cicada run: each ratio compares runs minutes apart at most)
  if (c2s) row('2s. 200 s and 130 s files submitted together, total', `${f2(median(c2s.map((x) => x.total)))} s ` +
    `(${range(c2s.map((x) => x.total))}; ${cpu(median(c2s.map((x) => x.cpu)))})`,
    `${f2(median(c2s.map((x) => x.seq)))} s (${range(c2s.map((x) => x.seq))}; one after the other)`,
    `${f2(median(c2s.map((x) => x.total / x.seq)))} (${range(c2s.map((x) => x.total / x.seq))})`, '≤ 1.05');

  // 3. N at once (the issue asks for 2, 4 and 10), against N runs of the engine's tool in a row
  let c3 = null;
  for (const n of CASES.includes('3') ? [2, 4, 10] : []) {
    const c = await withCicada(engineEnv, files, async (job) => {
      const m = await measured(() => atOnce(job, n));
      return { ...m.out, cpu: m.cpu };
    });
    let inRow = 0;
    for (let i = 0; i < n; i++) inRow += ref('jfk');
    row(`3. ${n} × 11 s files at once, total`, `${f2(c.total)} s (${cpu(c.cpu)})`, `${f2(inRow)} s (${n} in a row)`,
      f2(c.total / inRow), '≤ 1.05');
    if (n === 10) {
      row('3. ten at once: per-file latency p50 / p95', `${f2(pct(c.lat, 50))} / ${f2(pct(c.lat, 95))} s`, '', '', '');
      c3 = c;
    }
  }

  if (!isSphinx && c2) {
    const s2 = await withWhisperServer(model, files, async (req) => {
      const m = await measured(() => longThenShort(req));
      return { ...m.out, cpu: m.cpu };
    });
    row('2. whisper-server: short file\'s latency, 1 s behind a 200 s file', '', `${f2(s2.short)} s (both: ${f2(s2.total)} s, ${cpu(s2.cpu)})`,
      `Cicada ${f2(s2.short / median(c2short))}× lower`, '≥ 10× lower');
  }
  if (!isSphinx && c3) {
    const s3 = await withWhisperServer(model, files, async (req) => {
      const m = await measured(() => atOnce(req, 10));
      return { ...m.out, cpu: m.cpu };
    });
    row('3. whisper-server: ten at once, total; p50 / p95', '', `${f2(s3.total)} s (CPU ${(s3.cpu * 100).toFixed(0)}%); ` +
      `${f2(pct(s3.lat, 50))} / ${f2(pct(s3.lat, 95))} s`, '', '');
  }
  console.log(`\n### ${isSphinx ? 'pocketsphinx en-us' : `whisper ${kind} (real dimensions, random weights)`}\n`);
  console.log(`| measurement | Cicada | ${tool} | ratio | target |\n|---|---|---|---|---|`);
  for (const r of rows) console.log(r);
}

async function main() {
  const files = prepareFiles();
  console.log(`${CORES} cores; files: 11 s (jfk), 200 s and 3 s of LibriSpeech/Hi-Fi TTS speech; runs: ${RUNS} (medians)`);
  for (const kind of MODELS) await benchModel(kind, files);
  fs.rmSync(TMP, { recursive: true, force: true });
}
main().catch((e) => { console.error(e); process.exit(1); });
