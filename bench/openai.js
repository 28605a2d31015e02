// openai.js BUILD_DIR [MODELS] [RUNS] — issue 14: the OpenAI-compatible endpoint's cost and its
// latency under load, on generated whisper models of real dimensions (random weights: real compute)
// and on pocketsphinx:
//  1. overhead: the same 11 s file (jfk) as a CI job (submit -> callback) and as a POST
//     /v1/audio/transcriptions (upload -> answer), RUNS each, alternating; medians and their ratio
//     (target: within 5%);
//  2. a 3 s request sent 1 s after a 10-minute file started: its latency on Cicada (the long file a
//     CI job, the short one an OpenAI request) and on whisper.cpp's own whisper-server (both through
//     its /inference), built from the same pinned source, same model and decoding parameters
//     (beam 5, best-of 5; Cicada with its defaults: workers = cores).
// MODELS: comma list of tiny, base, sphinx (default tiny,sphinx). Prints a markdown table.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));
const { callbackReceiver, now } = require(path.join(__dirname, 'callbacks.js'));

const BUILD = path.resolve(process.argv[2] || 'build');
const MODELS = (process.argv[3] || 'tiny,sphinx').split(',');
const RUNS = Number(process.argv[4] || 5);
const CORES = os.cpus().length;
const TMP = L.tmpDir('cicada-bench-openai-');
const KEY = 'sk-bench-0123456789';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const f2 = (x) => x.toFixed(2);

function rawOf(file) {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 1 << 28 });
}
function writeWav(pcm, out) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', '-', '-bitexact',
    '-map_metadata', '-1', out], { input: pcm, maxBuffer: 1 << 28 });
  return out;
}
function prepareFiles() {
  const speech = [];
  for (const d of ['en/hifitts', 'en/librispeech']) {
    for (const f of fs.readdirSync(path.join(L.TESTDATA, d)).sort()) {
      if (/\.(wav|flac)$/.test(f)) speech.push(rawOf(path.join(L.TESTDATA, d, f)));
    }
  }
  let long = Buffer.concat(speech);
  while (long.length < 600 * 32000) long = Buffer.concat([long, ...speech]);
  return {
    jfk: writeWav(rawOf(path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav')), path.join(TMP, 'jfk.wav')),
    long: writeWav(long.subarray(0, 600 * 32000), path.join(TMP, 'long.wav')),
    short: writeWav(speech[1].subarray(0, 3 * 32000), path.join(TMP, 'short.wav')),
  };
}
function generateModel(kind) {
  const out = path.join(os.tmpdir(), `cicada-bench-${kind}-random.bin`);
  if (!fs.existsSync(out)) {
    execFileSync(path.join(BUILD, 'tests/engine/whisper_model_gen'),
      [path.join(L.SHARED, `models/whisper-vocab/for-tests-ggml-${kind}.bin`), out, '--real-dims', '--seed', '1']);
  }
  return out;
}

// A multipart body with the file and the given fields.
function form(file, fields) {
  const boundary = `----cicada${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(([k, v]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  return {
    type: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([...parts, Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; ` +
      `filename="${path.basename(file)}"\r\nContent-Type: audio/wav\r\n\r\n`), fs.readFileSync(file),
    Buffer.from(`\r\n--${boundary}--\r\n`)]),
  };
}
function post(port, pathname, f, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'POST', agent: false,
      headers: { 'Content-Type': f.type, 'Content-Length': f.body.length, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve({ latency: now() - t0, end: now(), text })
        : reject(new Error(`${pathname} answered ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(f.body);
  });
}

async function withCicada(engineEnv, files, fn) {
  const rx = await callbackReceiver();
  const srv = await L.startServer({ env: { CICADA_LOG: 'warn', CICADA_WORKERS: String(CORES), CICADA_VAD_MODEL: 'none',
    CICADA_URL_ALLOW_PRIVATE: 'yes', CICADA_API_KEYS: KEY, ...engineEnv } });
  const cos = L.client(srv.port);
  for (const [k, f] of Object.entries(files)) await L.putFile(cos, `in/${k}.wav`, f);
  let n = 0;
  const ciJob = async (k) => {
    const t0 = now();
    const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: `in/${k}.wav`, output: `out/${n++}.txt`,
      extra: `<CallBack>${rx.url}</CallBack>` }) });
    const end = await rx.arrival(d.Response.JobsDetail.JobId);
    return { latency: end - t0, end };
  };
  // the upload is part of an OpenAI request; the CI job's file was uploaded beforehand
  const openai = (k) => post(srv.port, '/v1/audio/transcriptions', form(files[k], { model: '16k_en' }),
    { Authorization: `Bearer ${KEY}` });
  try {
    await ciJob('short');   // warm-up
    await openai('short');
    return await fn({ ciJob, openai });
  } finally {
    await srv.stop();
    rx.close();
  }
}

async function withWhisperServer(model, files, fn) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = spawn(path.join(BUILD, 'bin/whisper-server'), ['-m', model, '-t', String(CORES), '-bs', '5', '-bo', '5',
    '-l', 'en', '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const request = (k) => post(port, '/inference', form(files[k], { response_format: 'json' }));
  try {
    for (let i = 0; ; i++) {
      try { await request('short'); break; } catch (e) {
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

async function longThenShort(runLong, runShort) {
  const long = runLong('long');
  await sleep(1000);
  const short = await runShort('short');
  const l = await long;
  return { short: short.latency, long: l.latency };
}

async function benchModel(kind, files) {
  const sphinx = kind === 'sphinx';
  const model = sphinx ? null : generateModel(kind);
  const env = sphinx ? {} : { CICADA_ENGINES: `16k_en=whisper:${model}:en` };
  const rows = [];
  const ci = [], oa = [];
  let lts;
  await withCicada(env, files, async ({ ciJob, openai }) => {
    for (let i = 0; i < RUNS; i++) {
      ci.push((await ciJob('jfk')).latency);
      oa.push((await openai('jfk')).latency);
    }
    lts = await longThenShort(ciJob, openai);
  });
  const ratio = median(oa) / median(ci);
  rows.push([`${kind}: jfk.wav (11 s), CI job submit -> callback, median of ${RUNS}`, `${f2(median(ci))} s`]);
  rows.push([`${kind}: jfk.wav, POST /v1/audio/transcriptions (upload included), median of ${RUNS}`,
    `${f2(median(oa))} s = ${((ratio - 1) * 100).toFixed(1)}% over the CI job (target within 5%)`]);
  rows.push([`${kind}: Cicada, 3 s OpenAI request 1 s after a 600 s CI job`, `${f2(lts.short)} s (the long job: ${f2(lts.long)} s)`]);
  if (!sphinx) {
    const ws = await withWhisperServer(model, files, (request) => longThenShort(request, request));
    rows.push([`${kind}: whisper-server, 3 s request 1 s after a 600 s one`, `${f2(ws.short)} s (the long one: ${f2(ws.long)} s)`]);
  }
  return rows;
}

async function main() {
  const files = prepareFiles();
  console.log(`| measurement (${CORES} cores, ${new Date().toISOString().slice(0, 16)}) | result |`);
  console.log('|---|---|');
  for (const kind of MODELS) {
    for (const [what, result] of await benchModel(kind, files)) console.log(`| ${what} | ${result} |`);
  }
  fs.rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
