// lib.js — shared by the integration tests: starts a real `cicada serve` process on a free loopback
// port with its own data directory, and talks to it with the official COS Node SDK (cos.request for
// the CI calls, putObject/getObject for objects) or with raw signed HTTP where a test needs control
// over the Host header or the signature itself.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const COS = require('cos-nodejs-sdk-v5');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.CICADA_BIN || path.join(ROOT, 'build', 'cicada');
const SHARED = process.env.CICADA_SHARED || path.join(ROOT, '..', 'shared');
const TESTDATA = process.env.CICADA_TESTDATA || path.join(SHARED, 'testdata');
const SECRET_ID = 'AKIDtestSecretId';
const SECRET_KEY = 'SK_TEST';
const APPID = '1250000000';
const BUCKET = `examplebucket-${APPID}`;
const REGION = 'ap-chongqing';
// The Host that names BUCKET (an IP Host means the default bucket, which deletes refuse to assume).
const HOST = `${BUCKET}.ci.${REGION}.myqcloud.com`;

function skipUnless(cond, why) {
  if (!cond) {
    console.log(`SKIP: ${why}`);
    process.exit(77);
  }
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:/;

// Starts the server; resolves once it prints its banner. env adds to/overrides the defaults.
function startServer({ dataDir, env = {}, args = [] } = {}) {
  dataDir = dataDir || tmpDir('cicada-it-');
  const zh = path.join(SHARED, 'models', 'sphinx-zh');
  const fullEnv = {
    ...process.env,
    CICADA_LISTEN: '127.0.0.1:0',
    CICADA_DATA_DIR: dataDir,
    CICADA_SECRET_ID: SECRET_ID,
    CICADA_SECRET_KEY: SECRET_KEY,
    CICADA_APPID: APPID,
    CICADA_DEFAULT_BUCKET: BUCKET,
    CICADA_WORKERS: '2',
    ...(fs.existsSync(zh) ? { CICADA_SPHINX_ZH_MODEL: zh } : {}),
    ...env,
  };
  const proc = spawn(BIN, ['serve', ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30000);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/\(port (\d+)\)/);
      if (m && out.includes('Default bucket')) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        const port = Number(m[1]);
        resolve({
          port, proc, dataDir, banner: out, stderr: () => stderr,
          // a clean stop exits 0 with no sanitizer report (the ASan build runs these same tests)
          stop: () => new Promise((res, rej) => {
            proc.once('exit', (code) => {
              if (code !== 0 || SANITIZER_REPORT.test(stderr)) rej(new Error(`server exited ${code}:\n${stderr}`));
              else res();
            });
            proc.kill('SIGTERM');
          }),
          kill9: () => new Promise((res) => { proc.once('exit', res); proc.kill('SIGKILL'); }),
        });
      }
    });
  });
}

// The Node SDK pointed at the server. By default with Domain = the server's address, so every call
// reaches the default bucket whatever Bucket= says; with { named: true } with Ip = the server's
// address instead, so the Host names the call's bucket (<bucket>.cos.<region>.myqcloud.com) as it
// would in the cloud: the configuration the README recommends.
function client(port, opts = {}) {
  const where = opts.named ? { Ip: `127.0.0.1:${port}` } : { Domain: `127.0.0.1:${port}` };
  return new COS({
    SecretId: opts.secretId || SECRET_ID,
    SecretKey: opts.secretKey || SECRET_KEY,
    Protocol: 'http:',
    ...where,
    ...opts.cos,
  });
}

// A CI call through the SDK's generic request; resolves with { status, data } or rejects with the
// SDK's error (which carries statusCode and the parsed <Error>).
function ci(cos, port, method, urlPath, { query, body } = {}) {
  return new Promise((resolve, reject) => {
    const qs = query ? '?' + new URLSearchParams(query).toString() : '';
    cos.request({
      Method: method,
      Url: `http://127.0.0.1:${port}${urlPath}${qs}`,
      Key: urlPath.slice(1),
      Query: query,
      Headers: body ? { 'Content-Type': 'application/xml' } : {},
      Body: body,
    }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

function putFile(cos, key, file) {
  return new Promise((resolve, reject) => {
    cos.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: fs.createReadStream(file),
      ContentLength: fs.statSync(file).size }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

function getObject(cos, key, headers = {}) {
  return new Promise((resolve, reject) => {
    cos.getObject({ Bucket: BUCKET, Region: REGION, Key: key, Headers: headers },
      (err, data) => (err ? reject(err) : resolve(data)));
  });
}

// ---- raw signed requests (our own signer, per the spec's section 6) ----
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
function sign({ method, pathname, query = {}, headers = {}, secretId = SECRET_ID, secretKey = SECRET_KEY,
  t0 = Math.floor(Date.now() / 1000) - 60, t1 = t0 + 3600 }) {
  const keyTime = `${t0};${t1}`;
  const signKey = crypto.createHmac('sha1', secretKey).update(keyTime).digest('hex');
  const list = (obj) => Object.keys(obj).map((k) => [enc(k).toLowerCase(), enc(String(obj[k]))]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const p = list(query), h = list(headers);
  const httpString = [method.toLowerCase(), pathname, p.map((x) => x.join('=')).join('&'),
    h.map((x) => x.join('=')).join('&'), ''].join('\n');
  const sts = ['sha1', keyTime, crypto.createHash('sha1').update(httpString).digest('hex'), ''].join('\n');
  const sig = crypto.createHmac('sha1', signKey).update(sts).digest('hex');
  return `q-sign-algorithm=sha1&q-ak=${secretId}&q-sign-time=${keyTime}&q-key-time=${keyTime}` +
    `&q-header-list=${h.map((x) => x[0]).join(';')}&q-url-param-list=${p.map((x) => x[0]).join(';')}&q-signature=${sig}`;
}

// Sends one request; host defaults to 127.0.0.1:port. signed=false sends no Authorization.
function raw(port, { method = 'GET', pathname = '/', rawPath, query = {}, host, body, headers = {}, signed = true, signOpts = {} }) {
  const hostHeader = host || `127.0.0.1:${port}`;
  const hdrs = { Host: hostHeader, ...headers };
  if (body !== undefined) hdrs['Content-Length'] = Buffer.byteLength(body);
  if (signed) hdrs.Authorization = sign({ method, pathname, query, headers: { host: hostHeader }, ...signOpts });
  const qs = Object.keys(query).length ? '?' + Object.entries(query).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&') : '';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: (rawPath || encodeURI(pathname)) + qs, headers: hdrs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function tag(xml, name) {
  const m = xml.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`));
  return m ? m[1] : null;
}

function submitXml({ object = 'in/jfk.wav', engine = '16k_en', output = 'out/jfk.txt', queueId, extra = '', sr = '' } = {}) {
  return `<Request><Tag>SpeechRecognition</Tag><Input><Object>${object}</Object></Input><Operation>` +
    `<SpeechRecognition><EngineModelType>${engine}</EngineModelType>${sr}</SpeechRecognition>` +
    `<Output><Region>${REGION}</Region><Bucket>${BUCKET}</Bucket><Object>${output}</Object></Output></Operation>` +
    (queueId ? `<QueueId>${queueId}</QueueId>` : '') + extra + '</Request>';
}

async function waitJob(cos, port, jobId, { timeoutMs = 120000, until = ['Success', 'Failed', 'Cancel'] } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await ci(cos, port, 'GET', `/asr_jobs/${jobId}`);
    const job = d.Response.JobsDetail;
    if (until.includes(job.State)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.State}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Reads the reference transcript of a file from a refs.tsv beside it.
function refText(dir, file) {
  const refs = path.join(dir, 'refs.tsv');
  if (!fs.existsSync(refs)) return null;
  for (const line of fs.readFileSync(refs, 'utf8').split('\n')) {
    const [f, text] = line.split('\t');
    if (f === file) return text;
  }
  return null;
}

// The text of Result lines without their time ranges.
function resultWords(result) {
  return String(result || '').split('\n').map((l) => l.replace(/^\[[^\]]*\]\s+/, '')).filter(Boolean);
}

// The engine's own command-line tool on the same file: pocketsphinx_batch decoding the whole
// utterance with the same model (audio resampled in float by ffmpeg, as Cicada's decoder does).
// Returns its hypothesis as a list of words.
const SPHINX_MODELS = {
  en: { rate: 16000, hmm: '/usr/share/pocketsphinx/model/en-us/en-us',
    lm: '/usr/share/pocketsphinx/model/en-us/en-us.lm.bin', dict: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict' },
  zh: { rate: 8000, hmm: path.join(SHARED, 'models/sphinx-zh/tdt_sc_8k'),
    lm: path.join(SHARED, 'models/sphinx-zh/gigatdt.5000.lm.bin'), dict: path.join(SHARED, 'models/sphinx-zh/mandarin_notone.dic') },
};
function sphinxBatch(file, lang) {
  const m = SPHINX_MODELS[lang];
  const dir = tmpDir('cicada-batch-');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', file, '-af', `aformat=sample_fmts=flt,aresample=${m.rate}`, '-ac', '1',
    '-f', 's16le', path.join(dir, 'utt.raw')]);
  fs.writeFileSync(path.join(dir, 'ctl'), 'utt\n');
  execFileSync('pocketsphinx_batch', ['-adcin', 'yes', '-cepdir', dir, '-cepext', '.raw', '-ctl', path.join(dir, 'ctl'),
    '-hyp', path.join(dir, 'hyp'), '-hmm', m.hmm, '-lm', m.lm, '-dict', m.dict, '-samprate', String(m.rate), '-logfn', '/dev/null']);
  const hyp = fs.readFileSync(path.join(dir, 'hyp'), 'utf8').replace(/\s*\(utt[^)]*\)\s*$/, '').trim();
  fs.rmSync(dir, { recursive: true });
  return hyp ? hyp.split(/\s+/) : [];
}

// verbose_json's compression_ratio is the text's bytes over their zlib-compressed size (OpenAI's
// definition, with the reference zlib, which Cicada links); Node's bundled zlib may compress a
// byte or two differently. True when ratio is bytes / an integer size within 2 bytes of Node's.
function zlibSized(bytes, ratio) {
  const size = bytes.length / ratio;
  return Math.abs(size - Math.round(size)) < 1e-3 && Math.abs(size - zlib.deflateSync(bytes).length) <= 2;
}

function serverRssKb(proc, field = 'VmHWM') {
  const s = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
  return Number(s.match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
}

// CTest's pg_server and s3_server fixtures (tests/support): a PostgreSQL connection string without
// dbname, and the directory holding s3rver's port file. Unset outside them.
const TEST_PG = process.env.CICADA_TEST_PG;
const TEST_S3_DIR = process.env.CICADA_TEST_S3_DIR;
const haveS3 = () => Boolean(TEST_S3_DIR && fs.existsSync(path.join(TEST_S3_DIR, 'port')));

function psql(db, sql) {
  return execFileSync('psql', [`${TEST_PG} dbname=${db}`, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

function s3Endpoint() {
  return `http://127.0.0.1:${fs.readFileSync(path.join(TEST_S3_DIR, 'port'), 'utf8').trim()}`;
}

// s3rver checks no signature: a plain PUT creates the bucket.
function createS3Bucket(name) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${s3Endpoint()}/${name}`, { method: 'PUT' }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`create bucket: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

module.exports = { TEST_PG, haveS3, psql, s3Endpoint, createS3Bucket, zlibSized, ROOT, BIN, SHARED, TESTDATA, SECRET_ID, SECRET_KEY, APPID, BUCKET, REGION, HOST, skipUnless, tmpDir,
  startServer, client, ci, putFile, getObject, sign, raw, tag, submitXml, waitJob, refText, resultWords, serverRssKb, sphinxBatch,
  execFileSync };
