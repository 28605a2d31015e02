// models.test.js — `cicada models` as a user runs it, against a local HTTP server standing in for
// Hugging Face: pull with --url/--sha256 (progress on stderr, the verified file installed), a
// connection dropped half-way and the resumed pull's `Range: bytes=N-`, a wrong checksum or an
// oversized download installing nothing, `list` (files, official names, which EngineModelTypes use
// them, CICADA_ENGINES from the environment or an [engines] INI section) and `verify` (official
// checksums, mismatches, files it cannot vouch for), and the install hints `transcribe` prints.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const VAD = path.join(L.SHARED, 'models', 'vad', 'ggml-silero-v6.2.0.bin');
const VAD_SHA256 = '2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987';
const BODY = crypto.randomBytes(3 * 1024 * 1024 + 4321);
const SHA256 = crypto.createHash('sha256').update(BODY).digest('hex');
const SHA1 = crypto.createHash('sha1').update(BODY).digest('hex');

// Environment for a run: its own data and model directories, nothing inherited that maps engines.
function envFor(modelDir, extra = {}) {
  const env = { ...process.env, CICADA_DATA_DIR: path.dirname(modelDir), CICADA_MODEL_DIR: modelDir, ...extra };
  for (const k of ['CICADA_ENGINES', 'CICADA_CONFIG', 'CICADA_SPHINX_ZH_MODEL', 'CICADA_VAD_MODEL']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

const runSync = (args, env) => spawnSync(L.BIN, args, { encoding: 'utf8', env });

// Async, so the in-process HTTP server keeps answering while cicada runs.
function run(args, env) {
  return new Promise((resolve) => {
    const p = spawn(L.BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// Serves BODY at /model.bin with byte ranges; `dropAfter` cuts the next response after that many bytes.
function startMirror() {
  const srv = { requests: [], dropAfter: 0 };
  srv.server = http.createServer((req, res) => {
    srv.requests.push({ url: req.url, range: req.headers.range || null });
    if (req.url !== '/model.bin') {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range || '');
    const start = m ? Number(m[1]) : 0;
    if (start >= BODY.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${BODY.length}` }).end();
      return;
    }
    const part = BODY.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'Content-Length': part.length,
      ...(m ? { 'Content-Range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` } : {}),
    });
    const drop = srv.dropAfter;
    srv.dropAfter = 0;
    if (drop) {
      res.write(part.subarray(0, drop), () => res.socket.end());   // the rest never comes
    } else {
      res.end(part);
    }
  });
  return new Promise((resolve) => srv.server.listen(0, '127.0.0.1', () => {
    srv.url = `http://127.0.0.1:${srv.server.address().port}/model.bin`;
    resolve(srv);
  }));
}

function modelDir() {
  const dir = path.join(L.tmpDir('cicada-models-'), 'models');
  fs.mkdirSync(dir);
  return dir;
}

test('help and usage errors', () => {
  const env = envFor(modelDir());
  const h = runSync(['models', '--help'], env);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /models list[\s\S]*models verify[\s\S]*models pull NAME/);
  assert.match(h.stdout, /CICADA_MODEL_DIR[\s\S]*CICADA_ENGINES[\s\S]*CICADA_VAD_MODEL/);   // the settings models reads
  assert.equal(runSync(['models'], env).status, 2);
  assert.match(runSync(['models', 'frob'], env).stderr, /unknown subcommand "frob"/);
  const unknown = runSync(['models', 'pull', 'huge-v9'], env);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /huge-v9 is not an official model/);
  assert.match(runSync(['--help'], env).stdout, /models/);
});

test('pull downloads, verifies and installs; a second pull finds it installed', async () => {
  const mirror = await startMirror();
  try {
    const dir = modelDir();
    const env = envFor(dir);
    const r = await run(['models', 'pull', 'mirrored', '--url', mirror.url, '--sha256', SHA256], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`downloading mirrored from ${mirror.url}`));
    assert.match(r.stderr, /ggml-mirrored\.bin: 100% \(3\.0 MiB of 3\.0 MiB\)/);   // plain lines: stderr is no TTY
    assert.doesNotMatch(r.stderr, /\r/);
    const installed = path.join(dir, 'ggml-mirrored.bin');
    assert.match(r.stdout, new RegExp(`installed ${installed} \\(sha256 ${SHA256} matches\\)`));
    assert.ok(fs.readFileSync(installed).equals(BODY));
    assert.equal(fs.existsSync(`${installed}.part`), false);
    assert.deepEqual(mirror.requests, [{ url: '/model.bin', range: null }]);

    const again = await run(['models', 'pull', 'mirrored', '--url', mirror.url, '--sha1', SHA1], env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already installed/);
    assert.equal(mirror.requests.length, 1);
  } finally {
    mirror.server.close();
  }
});

test('an interrupted pull resumes with a Range request', async () => {
  const mirror = await startMirror();
  try {
    const dir = modelDir();
    const env = envFor(dir);
    const half = 1536 * 1024;
    mirror.dropAfter = half;
    const first = await run(['models', 'pull', 'flaky', '--url', mirror.url, '--sha256', SHA256], env);
    assert.equal(first.status, 1);
    assert.match(first.stderr, /interrupted after 1\.5 MiB.*run the same command again to resume/);
    const file = path.join(dir, 'ggml-flaky.bin');
    assert.equal(fs.existsSync(file), false);
    assert.equal(fs.statSync(`${file}.part`).size, half);

    const list = runSync(['models', 'list'], env);
    assert.match(list.stdout, /ggml-flaky\.bin\.part\s+1\.5 MiB\s+partial download/);

    const second = await run(['models', 'pull', 'flaky', '--url', mirror.url, '--sha256', SHA256], env);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(mirror.requests.length, 2);
    assert.equal(mirror.requests[1].range, `bytes=${half}-`);
    assert.match(second.stderr, /resuming after 1\.5 MiB already downloaded/);
    assert.ok(fs.readFileSync(file).equals(BODY));
    assert.equal(fs.existsSync(`${file}.part`), false);
  } finally {
    mirror.server.close();
  }
});

test('a wrong checksum or an oversized download installs nothing', async () => {
  const mirror = await startMirror();
  try {
    const dir = modelDir();
    const env = envFor(dir);
    const wrong = '0'.repeat(64);
    const r = await run(['models', 'pull', 'tampered', '--url', mirror.url, '--sha256', wrong], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`checksum mismatch .*sha256 is ${SHA256}, expected ${wrong}; the download was discarded`));
    assert.deepEqual(fs.readdirSync(dir), []);

    const big = await run(['models', 'pull', 'big', '--url', mirror.url, '--sha256', SHA256, '--max-size', '1M'], env);
    assert.equal(big.status, 1);
    assert.match(big.stderr, /larger than the limit of 1\.0 MiB/);
    assert.deepEqual(fs.readdirSync(dir), []);

    const bad = await run(['models', 'pull', 'x', '--url', mirror.url, '--sha256', 'abc'], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /SHA-256 64/);
    const nosum = await run(['models', 'pull', 'x', '--url', mirror.url], env);
    assert.equal(nosum.status, 1);
    assert.match(nosum.stderr, /give --sha256 or --sha1/);
    const missing = await run(['models', 'pull', 'gone', '--url', mirror.url.replace('model.bin', 'nothing.bin'),
      '--sha256', SHA256], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /answered HTTP 404/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    mirror.server.close();
  }
});

test('list shows files, official names, the engine types using them, and the catalog', (t) => {
  if (!fs.existsSync(VAD)) {
    t.skip(`${VAD} is absent`);
    return;
  }
  const dir = modelDir();
  fs.copyFileSync(VAD, path.join(dir, 'ggml-silero-v6.2.0.bin'));
  fs.writeFileSync(path.join(dir, 'ggml-base.bin'), 'not really the base model');   // list never loads models
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');

  // no CICADA_ENGINES: the installed official model serves every type
  let r = runSync(['models', 'list'], envFor(dir));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Installed in ${dir}:`));
  assert.match(r.stdout, /ggml-base\.bin\s+25 B\s+base\s+16k_zh 16k_zh_video 16k_en 16k_ca 16k_ja .*8k_en\n/);
  assert.match(r.stdout, /ggml-silero-v6\.2\.0\.bin\s+864\.4 KiB\s+silero-v6\.2\.0\s+VAD\n/);
  assert.match(r.stdout, /notes\.txt\s+5 B\s+-\s+-\n/);
  assert.match(r.stdout, new RegExp(`16k_zh-PY\\s+whisper\\s+${dir}/ggml-base\\.bin \\(auto\\)`));
  assert.match(r.stdout, new RegExp(`16k_ca\\s+whisper\\s+${dir}/ggml-base\\.bin \\(yue\\)`));
  assert.match(r.stdout, new RegExp(`8k_zh\\s+whisper\\s+${dir}/ggml-base\\.bin \\(zh\\)`));
  assert.match(r.stdout, /Official models[\s\S]*large-v3-turbo-q5_0\s+547 MiB\s+multilingual/);
  assert.match(r.stdout, /base\s+142 MiB\s+multilingual, installed/);
  assert.match(r.stdout, /tiny\.en\s+75 MiB\s+English only\n/);
  assert.match(r.stdout, /silero-v6\.2\.0\s+864 KiB\s+Silero voice activity detection, installed/);

  // an [engines] INI section maps types explicitly; unmapped ones keep pocketsphinx or nothing
  const ini = path.join(path.dirname(dir), 'cicada.ini');
  fs.writeFileSync(ini, '[engines]\n16k_ja = whisper:ggml-base.bin:ja\n16k_en = sphinx:en-us\n16k_th = whisper:ggml-small.bin\n');
  r = runSync(['models', 'list', '--config', ini], envFor(dir));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ggml-base\.bin\s+25 B\s+base\s+16k_ja\n/);
  assert.match(r.stdout, /16k_en\s+sphinx\s+\S+en-us \(en\)/);
  assert.match(r.stdout, /16k_th\s+-\s+not installed: EngineModelType 16k_th is mapped to whisper model .*ggml-small\.bin, which is not installed: run `cicada models pull small`/);
  assert.match(r.stdout, /16k_zh\s+-\s+not installed: .*Mandarin/);
  // the environment replaces the file's list
  r = runSync(['models', 'list', '--config', ini], envFor(dir, { CICADA_ENGINES: '16k_zh=whisper:ggml-base.bin' }));
  assert.match(r.stdout, /ggml-base\.bin\s+25 B\s+base\s+16k_zh\n/);
  assert.match(r.stdout, /16k_ja\s+-\s+not installed/);

  const bad = runSync(['models', 'list'], envFor(dir, { CICADA_ENGINES: '16k_fr=whisper:ggml-base.bin' }));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /CICADA_ENGINES: 16k_fr is not an EngineModelType \(known: 16k_zh,/);
});

test('verify checks files against the official checksums', (t) => {
  if (!fs.existsSync(VAD)) {
    t.skip(`${VAD} is absent`);
    return;
  }
  const dir = modelDir();
  const env = envFor(dir);
  let r = runSync(['models', 'verify'], env);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /no models installed/);

  fs.copyFileSync(VAD, path.join(dir, 'ggml-silero-v6.2.0.bin'));
  fs.writeFileSync(path.join(dir, 'own-model.bin'), 'mine');
  r = runSync(['models', 'verify'], env);
  assert.equal(r.status, 0, r.stdout);   // files that are not official are reported, not failed
  assert.match(r.stdout, new RegExp(`OK +ggml-silero-v6\\.2\\.0\\.bin: silero-v6\\.2\\.0: sha256 ${VAD_SHA256} matches`));
  assert.match(r.stdout, /UNKNOWN +own-model\.bin: not an official model \(sha256 [0-9a-f]{64}\)/);

  fs.writeFileSync(path.join(dir, 'ggml-tiny.bin'), 'truncated download');
  r = runSync(['models', 'verify'], env);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /MISMATCH +ggml-tiny\.bin: tiny: sha1 is [0-9a-f]{40}, expected bd577a113a864445d4c299885e0cb97d4ba92b5f/);

  assert.equal(runSync(['models', 'verify', 'silero-v6.2.0'], env).status, 0);
  r = runSync(['models', 'verify', 'small'], env);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /MISSING +ggml-small\.bin: not installed \(`cicada models pull small`\)/);
  const renamed = path.join(path.dirname(dir), 'vad-copy.bin');
  fs.copyFileSync(VAD, renamed);
  r = runSync(['models', 'verify', renamed], env);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /OK +vad-copy\.bin: the official silero-v6\.2\.0/);
  r = runSync(['models', 'verify', 'own-model.bin'], env);
  assert.equal(r.status, 1, 'a file named on the command line must be verifiable');
});

test('transcribe names the missing model and the command that installs it', () => {
  const dir = modelDir();
  const junk = path.join(path.dirname(dir), 'junk.wav');
  fs.writeFileSync(junk, 'not audio');
  let r = runSync(['transcribe', junk, '--engine', '16k_ja'], envFor(dir, { CICADA_ENGINES: '16k_ja=whisper:ggml-small.bin' }));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /EngineNotInstalled: EngineModelType 16k_ja is mapped to whisper model .*ggml-small\.bin, which is not installed: run `cicada models pull small`/);
  r = runSync(['transcribe', junk, '--engine', '16k_ja', '--model', '/nonexistent/ggml-x.bin'], envFor(dir));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /EngineNotInstalled: model \/nonexistent\/ggml-x\.bin does not exist/);
});

test('serve refuses a bad CICADA_ENGINES at start-up', async () => {
  const dir = modelDir();
  await assert.rejects(L.startServer({ dataDir: path.dirname(dir), env: { CICADA_ENGINES: '16k_zh=whisper' } }),
    /CICADA_ENGINES: entry "16k_zh=whisper": expected TYPE=ENGINE:MODEL\[:LANGUAGE\]/);
});
