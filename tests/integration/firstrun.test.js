// firstrun.test.js — `make run`'s first-model step (scripts/first-model.sh) as a new user meets it:
// with no whisper model it fetches one through `cicada models pull` (here from a local server
// standing in for the model host, checksum-verified) and the server then starts on whisper; where
// the host cannot be reached it says so in one line, names the command for later and returns at
// once, and the server starts on pocketsphinx; with a model already there, or engines mapped by
// hand, it does nothing.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const SCRIPT = path.join(L.ROOT, 'scripts', 'first-model.sh');
const model = path.join(process.env.CICADA_TEST_MODELS || '', 'ggml-tiny-random.bin');

function run(env) {
  const t0 = Date.now();
  const r = spawnSync('sh', [SCRIPT, L.BIN], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  return { ...r, out: r.stdout + r.stderr, seconds: (Date.now() - t0) / 1000 };
}

// The same, without blocking this process: the local model host below answers from its event loop.
function runAsync(env) {
  return new Promise((resolve) => {
    const p = spawn('sh', [SCRIPT, L.BIN], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (status) => resolve({ status, stdout, stderr, out: stdout + stderr }));
  });
}

test('unreachable model host: one line naming the command for later, at once, then serve on pocketsphinx', async () => {
  const data = L.tmpDir('cicada-first-');
  // a port nothing listens on: refused at once, as a machine without network refuses
  const r = run({ CICADA_DATA_DIR: data, CICADA_FIRST_MODEL_URL: 'http://127.0.0.1:9/ggml-base.bin', CICADA_FIRST_MODEL_SHA256: '0'.repeat(64) });
  assert.equal(r.status, 0, r.out);
  assert.ok(r.seconds < 10, `took ${r.seconds} s`);
  assert.match(r.stdout, /^cicada: no whisper model in .*: fetching the (tiny|base|small) model/m);
  assert.match(r.stdout, /could not be fetched \(no network\?\); starting on pocketsphinx now - run `.*cicada models pull (tiny|base|small)` later/);
  assert.deepEqual(fs.readdirSync(path.join(data, 'models')).filter((f) => /^ggml-.*\.bin$/.test(f)), []);
  const srv = await L.startServer({ dataDir: data });
  try {
    assert.match(srv.stderr(), /sphinx:en-us serves 16k_en/);
  } finally {
    await srv.stop();
  }
});

test('a reachable host: the model is fetched, verified, installed, and the server starts on whisper', async (t) => {
  if (!fs.existsSync(model)) return t.skip(`no generated whisper model at ${model} (the whisper_models fixture makes it)`);
  const body = fs.readFileSync(model);
  const sha256 = crypto.createHash('sha256').update(body).digest('hex');
  const host = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
  const data = L.tmpDir('cicada-first-');
  try {
    const url = `http://127.0.0.1:${host.address().port}/ggml-tiny.bin`;
    const r = await runAsync({ CICADA_DATA_DIR: data, CICADA_FIRST_MODEL: 'tiny', CICADA_FIRST_MODEL_URL: url, CICADA_FIRST_MODEL_SHA256: sha256 });
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /whisper tiny installed; the server starts with it/);
    const installed = path.join(data, 'models', 'ggml-tiny.bin');
    assert.equal(crypto.createHash('sha256').update(fs.readFileSync(installed)).digest('hex'), sha256);
    // a wrong checksum installs nothing and still returns at once with the one line
    const bad = L.tmpDir('cicada-first-');
    const b = await runAsync({ CICADA_DATA_DIR: bad, CICADA_FIRST_MODEL: 'tiny', CICADA_FIRST_MODEL_URL: url, CICADA_FIRST_MODEL_SHA256: 'f'.repeat(64) });
    assert.equal(b.status, 0);
    assert.match(b.stdout, /could not be fetched/);
    assert.ok(!fs.existsSync(path.join(bad, 'models', 'ggml-tiny.bin')));
    // the server finds it without being told
    const srv = await L.startServer({ dataDir: data, env: { CICADA_VAD_MODEL: 'none' } });
    try {
      assert.match(srv.stderr(), /whisper:ggml-tiny\.bin serves .*16k_en \(en\)/);
    } finally {
      await srv.stop();
    }
    // and the next `make run` leaves it alone
    const again = run({ CICADA_DATA_DIR: data, CICADA_FIRST_MODEL_URL: 'http://127.0.0.1:9/x', CICADA_FIRST_MODEL_SHA256: sha256 });
    assert.equal(again.status, 0);
    assert.equal(again.out, '');
  } finally {
    host.close();
  }
});

test('engines mapped by hand, or CICADA_FIRST_MODEL=none: nothing is fetched', () => {
  const data = L.tmpDir('cicada-first-');
  for (const env of [{ CICADA_ENGINES: '16k_en=sphinx:/usr/share/pocketsphinx/model/en-us' }, { CICADA_FIRST_MODEL: 'none' }]) {
    const r = run({ CICADA_DATA_DIR: data, CICADA_FIRST_MODEL_URL: 'http://127.0.0.1:9/x', ...env });
    assert.equal(r.status, 0);
    assert.equal(r.out, '');
  }
});
