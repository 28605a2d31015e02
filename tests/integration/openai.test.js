// openai.test.js — the OpenAI-compatible audio API (issue 14) driven by OpenAI's own Node client (npm
// `openai`, pinned in package.json) and by curl, against a real `cicada serve`: every
// response_format and word timestamps, compared with a CI API job on the same file; a webm/opus
// upload; the errors (no key configured, a wrong key, a too-large file, an unknown model, a
// translation without whisper) in OpenAI's shape; the jobs these requests become (in the CI API's listings, their
// objects gone once answered); ten concurrent requests behind queued CI jobs, all served in queue
// order; and a client that leaves before its job starts cancels it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const OpenAI = require('openai');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const short = path.join(L.TESTDATA, 'en', 'sphinx', '002.wav');
const KEY = 'sk-cicada-test-0123456789';
const OTHER_KEY = 'sk-cicada-other-0123456789';
const OTHER_APPID = '1300000000';

let srv, cos, oa;
test.before(async () => {
  L.skipUnless(fs.existsSync(jfk) && fs.existsSync(short), `no test audio at ${jfk} (set CICADA_TESTDATA)`);
  srv = await L.startServer({ env: { CICADA_API_KEYS: `${KEY},${OTHER_KEY}:${OTHER_APPID}`, CICADA_OPENAI_MAX_UPLOAD: '1',
    CICADA_OPENAI_MODELS: 'sphinx-en=16k_en,thai-large=16k_th' } });
  cos = L.client(srv.port);
  oa = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
});
test.after(async () => { if (srv) await srv.stop(); });

const defaultQueue = async () => (await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList;
const setQueue = (q, state) => L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`,
  { body: `<Request><Name>asr-queue</Name><State>${state}</State></Request>` });
const asList = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

// The CI API's transcript of a file (ResTextFormat 0, as the OpenAI endpoint runs): its Result
// lines "[m:ss.mmm,m:ss.mmm]  text" as sentences with times, and the text they make.
const LINE = /^\[(\d+):(\d+\.\d{3}),(\d+):(\d+\.\d{3})\]  (\S.*)$/;
async function ciTranscript(file, key) {
  await L.putFile(cos, key, file);
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: key, output: `${key}.txt`, extra: '<CallBack>no</CallBack>' }) });
  const job = await L.waitJob(cos, srv.port, d.Response.JobsDetail.JobId);
  assert.equal(job.State, 'Success');
  const res = job.Operation.SpeechRecognitionResult;
  const detail = res.Result.split('\n').map((l) => {
    const m = l.match(LINE);
    assert.ok(m, l);
    return { start: Number(m[1]) * 60 + Number(m[2]), end: Number(m[3]) * 60 + Number(m[4]), text: m[5] };
  });
  return { text: detail.map((s) => s.text).join(' '), detail, audioTime: Number(res.AudioTime) };
}

function curl(args) {
  const out = execFileSync('curl', ['-s', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  return { body: out.slice(0, i), status: Number(out.slice(i + 1)) };
}



test('every response_format through the openai client, against a CI job on the same file', async () => {
  const ref = await ciTranscript(jfk, 'in/jfk-ref.wav');
  assert.match(ref.text, /country/);
  const json = await oa.audio.transcriptions.create({ file: fs.createReadStream(jfk), model: 'whisper-1', language: 'en' });
  assert.equal(json.text, ref.text);
  assert.deepEqual(json.usage, { type: 'duration', seconds: Math.ceil(ref.audioTime) });

  const text = await oa.audio.transcriptions.create({ file: fs.createReadStream(jfk), model: 'whisper-1', response_format: 'text' });
  assert.equal(String(text).trim(), ref.text);

  const srt = String(await oa.audio.transcriptions.create({ file: fs.createReadStream(jfk), model: '16k_en', response_format: 'srt' }));
  const cues = srt.trim().split(/\n\n/);
  assert.equal(cues.length, ref.detail.length);
  cues.forEach((c, i) => {
    const [n, times, ...words] = c.split('\n');
    assert.equal(n, String(i + 1));
    assert.match(times, /^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$/);
    assert.equal(words.join(' '), ref.detail[i].text);
  });

  const vtt = String(await oa.audio.transcriptions.create({ file: fs.createReadStream(jfk), model: 'whisper-1', response_format: 'vtt' }));
  assert.match(vtt, /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n/);
  assert.equal(vtt.split('-->').length - 1, ref.detail.length);

  const verbose = await oa.audio.transcriptions.create({ file: fs.createReadStream(jfk), model: 'whisper-1',
    response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
  assert.equal(verbose.task, 'transcribe');
  assert.equal(verbose.text, ref.text);
  assert.ok(Math.abs(verbose.duration - ref.audioTime) < 0.01);
  assert.equal(verbose.segments.length, ref.detail.length);
  verbose.segments.forEach((s, i) => {
    assert.equal(s.id, i);
    assert.equal(s.text, ref.detail[i].text);
    assert.ok(Math.abs(s.start - ref.detail[i].start) < 0.001 && Math.abs(s.end - ref.detail[i].end) < 0.001, JSON.stringify(s));
    for (const k of ['seek', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob']) assert.equal(typeof s[k], 'number');
    // pocketsphinx keeps no decoder statistics: neutral values; compression_ratio is the text's own
    assert.deepEqual(s.tokens, []);
    assert.equal(s.avg_logprob, 0);
    assert.equal(s.no_speech_prob, 0);
    const bytes = Buffer.from(s.text);
    assert.ok(L.zlibSized(bytes, s.compression_ratio), JSON.stringify(s));
  });
  assert.equal(verbose.words.map((w) => w.word).join(' '), ref.text);   // pocketsphinx: the text is its words
  for (let i = 0; i < verbose.words.length; i++) {
    const w = verbose.words[i];
    assert.ok(w.start <= w.end && w.end <= verbose.duration + 0.01, JSON.stringify(w));
    if (i) assert.ok(w.start >= verbose.words[i - 1].start);
  }
  // without word granularity there is no top-level words array
  const segOnly = await oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'whisper-1', response_format: 'verbose_json' });
  assert.equal(segOnly.words, undefined);
  assert.ok(Array.isArray(segOnly.segments));
});

test('curl, the field spelt without [], and a webm/opus upload as browsers send', async () => {
  const dir = L.tmpDir('cicada-openai-');
  const webm = path.join(dir, 'speech.webm');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', jfk, '-c:a', 'libopus', '-b:a', '48k', webm]);
  const r = curl(['-H', `Authorization: Bearer ${KEY}`, '-F', `file=@${webm};type=audio/webm`, '-F', 'model=whisper-1',
    '-F', 'response_format=verbose_json', '-F', 'timestamp_granularities=word', `http://127.0.0.1:${srv.port}/v1/audio/transcriptions`]);
  assert.equal(r.status, 200, r.body);
  const v = JSON.parse(r.body);
  assert.match(v.text, /country/);
  assert.ok(v.words.length >= 10);
  assert.ok(Math.abs(v.duration - 11) < 0.2, String(v.duration));
  fs.rmSync(dir, { recursive: true });
});

test('errors come in OpenAI\'s shape with the right status', async () => {
  const url = `http://127.0.0.1:${srv.port}/v1/audio/transcriptions`;
  const shape = (r, status, code) => {
    assert.equal(r.status, status, r.body);
    const e = JSON.parse(r.body).error;
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 10);
    assert.equal(typeof e.type, 'string');
    assert.ok('param' in e && 'code' in e);
    if (code) assert.equal(e.code, code);
    return e;
  };
  // a wrong key, through the client: its AuthenticationError
  const bad = new OpenAI({ apiKey: 'sk-not-a-key-0000000', baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
  await assert.rejects(bad.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'whisper-1' }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key');
  shape(curl(['-F', `file=@${short}`, '-F', 'model=whisper-1', url]), 401, 'missing_api_key');
  // a model not mapped, and one whose engine is not installed here
  await assert.rejects(oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'tiny.en' }),
    (e) => e.status === 400 && e.code === 'model_not_found' && e.param === 'model');
  const auth = ['-H', `Authorization: Bearer ${KEY}`];
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=16k_th', url]), 400, 'model_not_available');
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', '-F', 'language=xx', url]), 400, 'unsupported_language');
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', '-F', 'response_format=docx', url]), 400, 'invalid_value');
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', '-F', `prompt=${'x'.repeat(1024)}`, url]), 400, 'invalid_value');
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', '-F', 'temperature=0.7', url]), 400, 'unsupported_parameter');
  shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', '-F', 'timestamp_granularities[]=word', url]), 400, 'invalid_value');
  shape(curl([...auth, '-F', 'model=whisper-1', url]), 400, 'missing_file');
  shape(curl([...auth, '-F', `file=@${short}`, url]), 400, 'missing_model');
  shape(curl([...auth, '-H', 'Content-Type: application/json', '-d', '{"model":"whisper-1"}', url]), 400, 'invalid_form');
  // no whisper model here: pocketsphinx cannot translate
  const tr = shape(curl([...auth, '-F', `file=@${short}`, '-F', 'model=whisper-1', `http://127.0.0.1:${srv.port}/v1/audio/translations`]), 400, 'unsupported_task');
  assert.match(tr.message, /whisper.*models pull/);
  shape(curl([...auth, `http://127.0.0.1:${srv.port}/v1/audio/transcriptions`]), 405);
  // a file over the upload limit (1 MiB here): refused before it is read, and the server serves on
  const big = path.join(L.tmpDir('cicada-openai-'), 'big.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=40', '-ar', '16000', big]);
  assert.ok(fs.statSync(big).size > 1 << 20);
  shape(curl([...auth, '-F', `file=@${big}`, '-F', 'model=whisper-1', url]), 413, 'file_too_large');
  await assert.rejects(oa.audio.transcriptions.create({ file: fs.createReadStream(big), model: 'whisper-1' }), (e) => e.status === 413);
  const ok = await oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'whisper-1' });
  assert.equal(typeof ok.text, 'string');
  // audio that does not decode: the job fails, and the answer says why
  const junk = path.join(L.tmpDir('cicada-openai-'), 'junk.mp3');
  fs.writeFileSync(junk, Buffer.alloc(4096, 7));
  const e = shape(curl([...auth, '-F', `file=@${junk}`, '-F', 'model=whisper-1', url]), 400);
  assert.match(e.code, /^[A-Z][A-Za-z.]+$/);
});

test('GET /v1/models lists what is installed; each key works in its own appid\'s bucket', async () => {
  const models = await oa.models.list();
  const ids = models.data.map((m) => m.id);
  assert.ok(ids.includes('whisper-1'));
  assert.ok(ids.includes('16k_en'));
  assert.ok(!ids.includes('16k_th'));   // no whisper model here
  // the operator's names: listed where their type is installed, and usable as a model
  assert.ok(ids.includes('sphinx-en'));
  assert.ok(!ids.includes('thai-large'));
  assert.equal(models.data.find((m) => m.id === 'sphinx-en').owned_by, 'sphinx:en-us');
  const byAlias = await oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'sphinx-en', response_format: 'text' });
  const byType = await oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: '16k_en', response_format: 'text' });
  assert.equal(byAlias, byType);
  const listed = async () => asList((await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100' } })).Response.JobsDetail);
  const before = (await listed()).length;
  const other = new OpenAI({ apiKey: OTHER_KEY, baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
  const r = await other.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'whisper-1', response_format: 'text' });
  assert.equal(typeof r, 'string');
  // the other appid's job ran in its own bucket (cicada-<appid>): this appid's listing has no trace of it
  const jobs = await listed();
  assert.equal(jobs.length, before);
  assert.ok(jobs.every((j) => j.Input.BucketId === L.BUCKET));
});

test('requests are jobs: listed by the CI API, their objects gone once answered', async () => {
  await oa.audio.transcriptions.create({ file: fs.createReadStream(short, { highWaterMark: 1024 }), model: 'whisper-1' });
  const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100' } });
  const jobs = asList(d.Response.JobsDetail).filter((j) => /^openai:/.test(j.Operation.UserData || ''));
  assert.ok(jobs.length >= 5);
  assert.ok(jobs.some((j) => j.Operation.UserData === 'openai:002.wav' && j.State === 'Success'));
  const left = await new Promise((res, rej) => cos.getBucket({ Bucket: L.BUCKET, Region: L.REGION, Prefix: 'openai/' },
    (err, data) => (err ? rej(err) : res(data))));
  assert.deepEqual(left.Contents, []);
});

test('ten concurrent requests behind queued CI jobs: all served, in queue order', async () => {
  const q = await defaultQueue();
  await setQueue(q, 'Paused');
  await L.putFile(cos, 'in/short.wav', short);
  const ciIds = [];
  for (let i = 0; i < 3; i++) {
    const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/short.wav', output: `out/c${i}.txt`, extra: '<CallBack>no</CallBack>' }) });
    ciIds.push(d.Response.JobsDetail.JobId);
  }
  const requests = [];
  for (let i = 0; i < 10; i++) {
    requests.push(oa.audio.transcriptions.create({ file: fs.createReadStream(short), model: 'whisper-1' }));
    await new Promise((r) => setTimeout(r, 150));   // a distinct creation order
  }
  // all ten are queued behind the three (the queue is paused), then it runs
  const deadline = Date.now() + 20000;
  let waiting = [];
  while (Date.now() < deadline) {
    const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', states: 'Submitted' } });
    waiting = asList(d.Response.JobsDetail);
    if (waiting.length === 13) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(waiting.length, 13);
  await setQueue(q, 'Active');
  const answers = await Promise.all(requests);
  for (const a of answers) assert.match(a.text, /\S/);
  const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', orderByTime: 'Asc' } });
  const ran = asList(d.Response.JobsDetail).filter((j) => waiting.some((w) => w.JobId === j.JobId));
  assert.equal(ran.length, 13);
  assert.ok(ran.every((j) => j.State === 'Success'));
  // started in the order they were created (one queue, one JobLevel)
  const starts = ran.map((j) => Date.parse(j.StartTime.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')));
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i] >= starts[i - 1], `job ${i} started before job ${i - 1}`);
  assert.deepEqual(ran.slice(0, 3).map((j) => j.JobId), ciIds);
});

test('a client that leaves before its job starts cancels it', async () => {
  const q = await defaultQueue();
  await setQueue(q, 'Paused');
  const boundary = 'cicadaboundary42';
  const audio = fs.readFileSync(short);
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="leave.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
    audio, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const req = http.request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/v1/audio/transcriptions',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length } });
  req.on('error', () => {});
  req.end(body);
  const find = async () => asList((await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100' } })).Response.JobsDetail)
    .find((j) => j.Operation.UserData === 'openai:leave.wav');
  let job;
  for (let i = 0; i < 100 && !(job = await find()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(job.State, 'Submitted');
  req.destroy();
  const done = await L.waitJob(cos, srv.port, job.JobId, { timeoutMs: 10000, until: ['Cancel', 'Success', 'Failed'] });
  assert.equal(done.State, 'Cancel');
  await setQueue(q, 'Active');
  const left = await new Promise((res, rej) => cos.getBucket({ Bucket: L.BUCKET, Region: L.REGION, Prefix: 'openai/' },
    (err, data) => (err ? rej(err) : res(data))));
  assert.deepEqual(left.Contents, []);
});

test('a malformed CICADA_OPENAI_MODELS stops the server at start-up, saying which item', async () => {
  await assert.rejects(L.startServer({ env: { CICADA_API_KEYS: KEY, CICADA_OPENAI_MODELS: 'ok=16k_en,16k_zh=16k_en' } }),
    /model alias 2 \("16k_zh=16k_en"\)/);
  await assert.rejects(L.startServer({ env: { CICADA_API_KEYS: KEY, CICADA_OPENAI_MODELS: 'large=16k_xx' } }), /model alias 1/);
});

test('no key configured: the endpoint is off, and says so', async () => {
  const off = await L.startServer();
  try {
    const r = curl(['-H', 'Authorization: Bearer sk-anything-123456', `http://127.0.0.1:${off.port}/v1/models`]);
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.body).error.message, /off.*CICADA_API_KEYS/);
    assert.match(off.stderr(), /OpenAI-compatible endpoint .* is off/);
  } finally {
    await off.stop();
  }
});
