// whisper.js BUILD_DIR [RUNS] — the whisper engine against whisper.cpp's own whisper-cli, built from the
// same source, with a generated model of the real base dimensions (random weights: real compute):
//  1. one job end to end (submit -> callback) vs whisper-cli on the same file, same threads/beam;
//  2. 4 jobs queued at once on 2 cores vs the same 4 run one after another;
//  3. the server's peak memory with 1 vs 4 concurrent jobs (one shared model, one state per job).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));
const { callbackReceiver, now } = require(path.join(__dirname, 'callbacks.js'));

const BUILD = path.resolve(process.argv[2] || 'build');
const RUNS = Number(process.argv[3] || 3);
const FILE = process.env.BENCH_FILE || path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const CORES = os.cpus().length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function generateModel() {
  const out = path.join(os.tmpdir(), 'cicada-bench-base-random.bin');
  if (!fs.existsSync(out)) {
    execFileSync(path.join(BUILD, 'tests/engine/whisper_model_gen'),
      [path.join(L.SHARED, 'models/whisper-vocab/for-tests-ggml-base.bin'), out, '--real-dims', '--seed', '1']);
  }
  return out;
}

function whisperCli(model, threads) {
  const t = now();
  // No -nt: whisper-cli's -nt sets no_timestamps, which changes decoding (no timestamp tokens, fewer
  // decoder steps); Cicada needs segment times, so the fair comparison decodes with timestamps too.
  const r = spawnSync(path.join(BUILD, 'bin/whisper-cli'), ['-m', model, '-f', FILE, '-t', String(threads), '-l', 'en', '-np'],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return now() - t;
}

async function withServer(model, env, fn) {
  const rx = await callbackReceiver();
  const srv = await L.startServer({ env: { CICADA_LOG: 'warn', CICADA_URL_ALLOW_PRIVATE: 'yes', CICADA_ENGINES: `16k_en=whisper:${model}:en`, ...env } });
  const cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/bench.wav', FILE);
  // resolves with the time the job's callback arrived
  const submit = async (i) => {
    const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/bench.wav', output: `out/${i}.txt`,
      extra: `<CallBack>${rx.url}</CallBack>` }) });
    return rx.arrival(d.Response.JobsDetail.JobId);
  };
  try {
    return await fn({ srv, submit });
  } finally {
    await srv.stop();
    rx.close();
  }
}

async function main() {
  const model = generateModel();
  console.log(`model: base dimensions, random weights (${(fs.statSync(model).size / 1e6).toFixed(0)} MB); file ${path.basename(FILE)}; ${CORES} cores`);
  // whisper-cli runs and Cicada jobs alternate, so a change in the machine's load hits both alike
  const cli = [];
  const one = await withServer(model, { CICADA_WORKERS: '1', CICADA_WHISPER_THREADS: String(CORES) }, async ({ submit }) => {
    const ts = [];
    for (let i = 0; i < RUNS; i++) {
      cli.push(whisperCli(model, CORES));
      const t0 = now();
      ts.push((await submit(i)) - t0);
    }
    return ts;
  });
  console.log(`1. one job: whisper-cli ${median(cli).toFixed(2)} s, cicada job ${median(one).toFixed(2)} s ` +
    `(${((median(one) / median(cli) - 1) * 100).toFixed(1)}%), medians of ${RUNS}`);

  const four = await withServer(model, { CICADA_WORKERS: String(CORES), CICADA_WHISPER_THREADS: '1' }, async ({ srv, submit }) => {
    const t0 = now();
    const ends = await Promise.all([0, 1, 2, 3].map((i) => submit(100 + i)));
    return { total: Math.max(...ends) - t0, peakKb: L.serverRssKb(srv.proc) };
  });
  const sequential = 4 * median(one);
  console.log(`2. 4 queued jobs: ${four.total.toFixed(2)} s in all vs ${sequential.toFixed(2)} s one after another`);

  const mem1 = await withServer(model, { CICADA_WORKERS: '1', CICADA_WHISPER_THREADS: '1' }, async ({ srv, submit }) => {
    await submit(200);
    return L.serverRssKb(srv.proc);
  });
  const mem4 = await withServer(model, { CICADA_WORKERS: '4', CICADA_WHISPER_THREADS: '1' }, async ({ srv, submit }) => {
    await Promise.all([0, 1, 2, 3].map((i) => submit(300 + i)));
    return L.serverRssKb(srv.proc);
  });
  console.log(`3. peak server memory: 1 job ${(mem1 / 1024).toFixed(0)} MB, 4 concurrent jobs ${(mem4 / 1024).toFixed(0)} MB ` +
    `(model file ${(fs.statSync(model).size / 1048576).toFixed(0)} MB)`);
}
main().catch((e) => { console.error(e); process.exit(1); });
