// startup.test.js — `cicada serve` as a new user first meets it: a listen address with a typo, out of
// range or already in use stops it at once, before any model is loaded, leaving nothing on disk; port
// 0 prints the real port; the banner lists every EngineModelType without an engine and what to do
// about it, and prints client settings that work when pasted (Node and Python, the secret only
// when the server generated it); an official model file of the wrong size is warned about at
// start-up and shown as unverified by `cicada models list`.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const COS = require('cos-nodejs-sdk-v5');
const L = require('./lib');

const ZH_MODEL = path.join(L.SHARED, 'models', 'sphinx-zh');
const VAD = path.join(L.SHARED, 'models', 'vad', 'ggml-silero-v6.2.0.bin');
// The EngineModelTypes only a Mandarin model serves, and those only whisper serves (spec §2).
const ZH_TYPES = ['16k_zh', '16k_zh_video', '16k_zh_edu', '16k_zh_medical', '16k_zh_dialect', '16k_zh-PY', '8k_zh', '8k_zh_s'];
const WHISPER_TYPES = { '16k_ca': 'yue', '16k_ja': 'ja', '16k_th': 'th', '16k_ms': 'ms' };

// `cicada serve` run to its end (a refusal) with a fresh, not yet existing data directory.
function serveRefused(args, env = {}) {
  const dataDir = path.join(L.tmpDir('cicada-startup-'), 'data');
  const r = spawnSync(L.BIN, ['serve', ...args], {
    encoding: 'utf8', timeout: 20000,
    env: { ...process.env, CICADA_DATA_DIR: dataDir, CICADA_SPHINX_ZH_MODEL: '', CICADA_ENGINES: '', ...env },
  });
  return { ...r, dataDir };
}

// The banner lines after "Unavailable:" as { type: why }.
function unavailable(banner) {
  const out = {};
  const start = banner.indexOf('  Unavailable:');
  if (start < 0) return out;
  for (const line of banner.slice(start).split('\n').slice(0, 16)) {
    const m = line.match(/^ {2}(?:Unavailable:)?\s+(\S+): (.+)$/);
    if (!m) break;
    out[m[1]] = m[2];
  }
  return out;
}

test('a bad listen address stops serve at once and creates nothing', () => {
  const cases = [
    ['127.0.0.1:99999', /the port "99999" must be a number from 0 to 65535/],
    ['127.0.0.1:80a', /the port "80a" must be a number/],
    ['127.0.0.1:', /the port "" must be a number/],
    ['8080', /has no port: give IP:PORT, \[IPv6\]:PORT or :PORT/],
    ['127.0.0.l:8080', /"127\.0\.0\.l" is not an IPv4 address/],
    ['example.com:8080', /"example\.com" is not an IPv4 address/],
    ['::1:8080', /write an IPv6 address in brackets, e\.g\. \[::1\]:8080/],
    ['[::1]', /an IPv6 address needs a port/],
  ];
  for (const [listen, why] of cases) {
    for (const how of [['--listen', listen], ['--listen=' + listen]]) {
      const r = serveRefused(how);
      assert.equal(r.status, 2, `${listen}: ${r.stderr}`);
      assert.match(r.stderr, /^cicada serve: listen address /);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, '');
      assert.ok(!fs.existsSync(r.dataDir), `${listen}: the data directory was created`);
    }
  }
  const env = serveRefused([], { CICADA_LISTEN: '127.0.0.1:65536' });
  assert.equal(env.status, 2);
  assert.match(env.stderr, /"65536" must be a number from 0 to 65535/);
  assert.ok(!fs.existsSync(env.dataDir));
});

test('a port in use or not of this machine stops serve before anything loads', async () => {
  const holder = net.createServer();
  await new Promise((res) => holder.listen(0, '127.0.0.1', res));
  const { port } = holder.address();
  try {
    const r = serveRefused(['--listen', `127.0.0.1:${port}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is in use`));
    assert.doesNotMatch(r.stderr, /model loaded|serves/, 'no model may load before the address is checked');
    assert.ok(!fs.existsSync(r.dataDir));
  } finally {
    holder.close();
  }
  // 192.0.2.0/24 is reserved for documentation: never an address of this machine
  const far = serveRefused(['--listen', '192.0.2.1:8080']);
  assert.equal(far.status, 1, far.stderr);
  assert.match(far.stderr, /192\.0\.2\.1 is not an address of this machine/);
  assert.ok(!fs.existsSync(far.dataDir));
});

test('port 0 prints the real port, on one address or all', async () => {
  for (const listen of ['127.0.0.1:0', ':0']) {
    const srv = await L.startServer({ env: { CICADA_LISTEN: listen } });
    try {
      const first = srv.banner.split('\n')[0];
      const host = listen === ':0' ? '0\\.0\\.0\\.0' : '127\\.0\\.0\\.1';
      assert.match(first, new RegExp(`listening on http://${host}:${srv.port} \\(port ${srv.port}\\)$`));
      assert.notEqual(srv.port, 0);
      const r = await L.raw(srv.port, { pathname: '/asrqueue' });
      assert.equal(r.status, 200, r.body);
      assert.match(srv.banner, new RegExp(`Ip: '127\\.0\\.0\\.1:${srv.port}'`));
    } finally {
      await srv.stop();
    }
  }
});

test('the banner lists each unavailable EngineModelType with what to do', async () => {
  let srv = await L.startServer({ env: { CICADA_SPHINX_ZH_MODEL: '', CICADA_ENGINES: '' } });
  try {
    const u = unavailable(srv.banner);
    assert.deepEqual(Object.keys(u).sort(), [...ZH_TYPES, ...Object.keys(WHISPER_TYPES)].sort(), srv.banner);
    for (const t of ZH_TYPES) assert.equal(u[t], 'set CICADA_SPHINX_ZH_MODEL or run `cicada models pull base`');
    for (const [t, lang] of Object.entries(WHISPER_TYPES)) {
      assert.equal(u[t], `needs whisper (language ${lang}): run \`cicada models pull base\``);
    }
    assert.equal(u['16k_en'], undefined, 'pocketsphinx en-us serves English');
  } finally {
    await srv.stop();
  }
  if (!fs.existsSync(ZH_MODEL)) return;
  srv = await L.startServer({ env: { CICADA_SPHINX_ZH_MODEL: ZH_MODEL, CICADA_ENGINES: '' } });
  try {
    assert.deepEqual(Object.keys(unavailable(srv.banner)).sort(), Object.keys(WHISPER_TYPES).sort(), srv.banner);
  } finally {
    await srv.stop();
  }
});

test('the printed client settings work when pasted', async () => {
  const env = { CICADA_SECRET_ID: '', CICADA_SECRET_KEY: '', CICADA_DEFAULT_BUCKET: '' };
  const srv = await L.startServer({ env });
  try {
    const bucket = `cicada-${L.APPID}`;
    const id = srv.banner.match(/SecretId:\s+(\S+)/)[1];
    const key = srv.banner.match(/SecretKey:\s+(\S+)/)[1];
    // Node: the object literal evaluates as printed, and with it the SDK names the default bucket in
    // its Host: a CI call to the printed URL, and an object put and delete (which an IP Host refuses)
    const nodeLine = srv.banner.match(/^ {2}Node\.js: new COS\((\{.*\})\)$/m);
    assert.ok(nodeLine, srv.banner);
    const opts = new Function(`return (${nodeLine[1]});`)();
    assert.deepEqual(opts, { SecretId: id, SecretKey: key, Protocol: 'http:', Ip: `127.0.0.1:${srv.port}` });
    const url = srv.banner.match(/CI calls: cos\.request\(\{ Url: '([^']*)\/asr_jobs'/)[1];
    assert.equal(url, `http://${bucket}.ci.${L.REGION}.myqcloud.com`);
    const cos = new COS(opts);
    const q = await new Promise((res, rej) => cos.request({ Method: 'GET', Url: `${url}/asrqueue`, Key: 'asrqueue' },
      (e, d) => (e ? rej(e) : res(d))));
    assert.equal(q.Response.QueueList.BucketId || q.Response.QueueList[0].BucketId, bucket);
    const obj = (fn, extra) => new Promise((res, rej) => cos[fn]({ Bucket: bucket, Region: L.REGION, Key: 'pasted.txt',
      ...extra }, (e, d) => (e ? rej(e) : res(d))));
    await obj('putObject', { Body: Buffer.from('pasted') });
    await obj('deleteObject');
    await assert.rejects(obj('headObject'), (e) => e.statusCode === 404);
    // Python: IP and Port are where to connect, Domain the Host that names the bucket
    const py = srv.banner.match(/^ {2}Python: {2}CosConfig\((.*)\)$/m);
    assert.ok(py, srv.banner);
    const args = Object.fromEntries([...py[1].matchAll(/(\w+)=('([^']*)'|\d+)/g)].map((m) => [m[1], m[3] ?? Number(m[2])]));
    assert.deepEqual(args, { Region: L.REGION, SecretId: id, SecretKey: key, Scheme: 'http', IP: '127.0.0.1',
      Port: srv.port, Domain: `${bucket}.ci.${L.REGION}.myqcloud.com` });
    const r = await L.raw(args.Port, { pathname: '/asrqueue', host: args.Domain,
      signOpts: { secretId: args.SecretId, secretKey: args.SecretKey } });
    assert.equal(r.status, 200, r.body);
    assert.equal(L.tag(r.body, 'BucketId'), bucket);
  } finally {
    await srv.stop();
  }
  // a configured key is the operator's: the settings carry a placeholder, never the key
  const own = await L.startServer({ env: { CICADA_SECRET_ID: 'AKIDmine', CICADA_SECRET_KEY: 'SKnotprinted' } });
  try {
    assert.doesNotMatch(own.banner, /SKnotprinted/);
    assert.match(own.banner, /Node\.js: new COS\(\{ SecretId: 'AKIDmine', SecretKey: '<SecretKey>'/);
    assert.match(own.banner, /Python: {2}CosConfig\(.*SecretId='AKIDmine', SecretKey='<SecretKey>'/);
  } finally {
    await own.stop();
  }
});

test('an official model of the wrong size is warned about and listed as unverified', async () => {
  const dataDir = L.tmpDir('cicada-size-');
  const models = path.join(dataDir, 'models');
  fs.mkdirSync(models);
  fs.writeFileSync(path.join(models, 'ggml-base.bin'), 'not really the base model');   // 25 bytes
  const haveVad = fs.existsSync(VAD);
  if (haveVad) fs.copyFileSync(VAD, path.join(models, 'ggml-silero-v6.2.0.bin'));   // the official size
  const env = { CICADA_ENGINES: '', CICADA_VAD_MODEL: '' };
  const srv = await L.startServer({ dataDir, env });
  try {
    for (let i = 0; i < 50 && !/WARN/.test(srv.stderr()); i++) await new Promise((res) => setTimeout(res, 100));
    const warn = srv.stderr().match(/WARN (.*ggml-base\.bin is 25 bytes.*)/);
    assert.ok(warn, srv.stderr());
    assert.match(warn[1], /not the 147951465 of the official base model: a partial download or another file under its name/);
    assert.match(warn[1], /`cicada models verify base`/);
    assert.doesNotMatch(srv.stderr(), /ggml-silero-v6\.2\.0\.bin is \d+ bytes/, 'a file of the official size is no warning');
    // the file cannot load: every type it was to serve is listed, naming the file and the reason once
    const u = unavailable(srv.banner);
    assert.ok(u['16k_ja'], srv.banner);
    for (const why of Object.values(u)) {
      assert.equal(why.split('ggml-base.bin').length, 2, why);
      assert.match(why, /not a ggml whisper model/);
    }
    assert.equal((await L.raw(srv.port, { pathname: '/asrqueue' })).status, 200, 'the server runs on');
  } finally {
    await srv.stop();
  }
  const list = spawnSync(L.BIN, ['models', 'list'], { encoding: 'utf8',
    env: { ...process.env, CICADA_DATA_DIR: dataDir, CICADA_MODEL_DIR: '', CICADA_ENGINES: '', CICADA_CONFIG: '' } });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout,
    /ggml-base\.bin\s+25 B\s+base\s+.*\n\s+unverified: not the official base \(147951465 bytes\); `cicada models verify base`/);
  if (haveVad) assert.match(list.stdout, /ggml-silero-v6\.2\.0\.bin\s+864\.4 KiB\s+silero-v6\.2\.0\s+VAD\n(?!\s+unverified)/);
});
