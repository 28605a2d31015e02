// inputs.test.js — every way audio comes in, through the real server and the official SDK:
// Input/Url (fetched from a local HTTP server, through a redirect, refused when it names a loopback
// address and the operator has not allowed that, failing with the server's status), ChannelNum 2 on
// a stereo file with different speech on each channel, raw PCM declared with Format=pcm, and 8 kHz
// telephone digits with AudioTime exact to the millisecond.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const hifiDir = path.join(L.TESTDATA, 'en', 'hifitts');
const fsddDir = path.join(L.TESTDATA, '8k', 'fsdd');
L.skipUnless(fs.existsSync(jfk) && fs.existsSync(hifiDir) && fs.existsSync(fsddDir),
  `no test audio under ${L.TESTDATA} (set CICADA_TESTDATA)`);

const dir = L.tmpDir('cicada-inputs-');
const hifi16 = path.join(dir, 'hifi16.wav');      // a hifitts clip as 16 kHz mono
const stereo = path.join(dir, 'stereo.wav');      // jfk left, the hifitts clip right
const jfkPcm = path.join(dir, 'jfk.pcm');         // jfk as headerless s16le 16 kHz mono
const digits = path.join(dir, 'digits.wav');      // five 8 kHz fsdd files in a row

let files, srv, cos, guarded, guardedCos;
test.before(async () => {
  const hifi = path.join(hifiDir, fs.readdirSync(hifiDir).filter((f) => f.endsWith('.wav')).sort()[0]);
  const ff = (...args) => L.execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  ff('-i', hifi, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', hifi16);
  ff('-i', jfk, '-i', hifi16, '-filter_complex', '[1:a]apad[r];[0:a][r]amerge=inputs=2[a]', '-map', '[a]',
    '-c:a', 'pcm_s16le', stereo);
  ff('-i', jfk, '-f', 's16le', '-ac', '1', '-ar', '16000', jfkPcm);
  const five = fs.readdirSync(fsddDir).filter((f) => f.endsWith('.wav')).sort().slice(0, 5);
  L.execFileSync('sox', [...five.map((f) => path.join(fsddDir, f)), digits]);

  files = http.createServer((req, res) => {
    if (req.url === '/jfk.wav') fs.createReadStream(jfk).pipe(res);
    else if (req.url === '/moved') res.writeHead(302, { Location: '/jfk.wav' }).end();
    else res.writeHead(404).end('no such file');
  });
  await new Promise((r) => files.listen(0, '127.0.0.1', r));

  srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  for (const [key, file] of [['in/jfk.wav', jfk], ['in/hifi16.wav', hifi16], ['in/stereo.wav', stereo],
    ['in/jfk.pcm', jfkPcm], ['in/digits.wav', digits]]) await L.putFile(cos, key, file);
  guarded = await L.startServer();   // the default: no internal addresses
  guardedCos = L.client(guarded.port);
  await L.ci(guardedCos, guarded.port, 'POST', '/asrbucket');
});
test.after(async () => {
  await srv.stop();
  await guarded.stop();
  files.close();
});

const fileUrl = (p) => `http://127.0.0.1:${files.address().port}${p}`;

function urlXml(url, { engine = '16k_en', output = 'out/url.txt' } = {}) {
  return `<Request><Tag>SpeechRecognition</Tag><Input><Url>${url}</Url></Input><Operation>` +
    `<SpeechRecognition><EngineModelType>${engine}</EngineModelType></SpeechRecognition>` +
    `<Output><Region>${L.REGION}</Region><Bucket>${L.BUCKET}</Bucket><Object>${output}</Object></Output>` +
    '</Operation></Request>';
}

async function run(body, server = srv, client = cos) {
  const d = await L.ci(client, server.port, 'POST', '/asr_jobs', { body });
  return L.waitJob(client, server.port, d.Response.JobsDetail.JobId);
}

const objectJob = (object, { engine = '16k_en', sr = '', output = `out/${path.basename(object)}.txt` } = {}) =>
  run(L.submitXml({ object, engine, output, sr }));

let jfkJob;
async function jfkReference() {
  jfkJob = jfkJob || await objectJob('in/jfk.wav');
  assert.equal(jfkJob.State, 'Success', JSON.stringify(jfkJob));
  return jfkJob.Operation.SpeechRecognitionResult;
}

test('Input/Url: fetched, and transcribed exactly like the same file uploaded', async () => {
  const ref = await jfkReference();
  for (const url of [fileUrl('/jfk.wav'), fileUrl('/moved')]) {
    const job = await run(urlXml(url));
    assert.equal(job.State, 'Success', JSON.stringify(job));
    assert.equal(job.Input.Url, url);
    const res = job.Operation.SpeechRecognitionResult;
    assert.equal(res.Result, ref.Result);
    assert.equal(res.AudioTime, ref.AudioTime);
  }
});

test('Input/Url: a server error fails the job with its status', async () => {
  const job = await run(urlXml(fileUrl('/missing.wav')));
  assert.equal(job.State, 'Failed');
  assert.equal(job.Code, 'InputUrlHttpError');
  assert.match(job.Message, /404/);
});

test('Input/Url: loopback is refused unless the operator allows it', async () => {
  const job = await run(urlXml(fileUrl('/jfk.wav')), guarded, guardedCos);
  assert.equal(job.State, 'Failed');
  assert.equal(job.Code, 'InputUrlForbidden');
  assert.match(job.Message, /127\.0\.0\.1.*CICADA_URL_ALLOW_PRIVATE/);
});

test('Input/Url: a URL that is not http(s) is a 400 and creates no job', async () => {
  const before = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: 100 } });
  for (const url of ['ftp://127.0.0.1/jfk.wav', 'file:///etc/passwd', 'jfk.wav']) {
    await assert.rejects(L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: urlXml(url) }), (e) => {
      assert.equal(e.statusCode, 400);
      assert.match(JSON.stringify(e), /InvalidArgument/);
      return true;
    });
  }
  const after = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: 100 } });
  const count = (d) => [].concat(d.Response.JobsDetail || []).length;
  assert.equal(count(after), count(before));
});

test('ChannelNum 2: each channel recognised on its own, interleaved by time, SpeakerId per channel', async () => {
  const left = (await jfkReference()).Result;
  const rightJob = await objectJob('in/hifi16.wav');
  assert.equal(rightJob.State, 'Success');
  const right = rightJob.Operation.SpeechRecognitionResult.Result;
  const job = await objectJob('in/stereo.wav', { sr: '<ChannelNum>2</ChannelNum><ResTextFormat>1</ResTextFormat>' });
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Operation.SpeechRecognition.ChannelNum, '2');
  const lines = job.Operation.SpeechRecognitionResult.Result.split('\n');
  const channel = (c) => lines.filter((l) => l.startsWith(`${c} `)).map((l) => l.slice(2)).join('\n');
  assert.equal(lines.length, channel(0).split('\n').length + channel(1).split('\n').length);
  assert.equal(channel(0), left);
  assert.equal(channel(1), right);
  const starts = lines.map((l) => l.match(/^\d \[(\d+):([\d.]+),/)).map((m) => Number(m[1]) * 60 + Number(m[2]));
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  const detail = [].concat(job.Operation.SpeechRecognitionResult.ResultDetail);
  assert.deepEqual([...new Set(detail.map((s) => s.SpeakerId))].sort(), ['0', '1']);
});

test('ChannelNum 2 on a mono file fails with a precise code', async () => {
  const job = await objectJob('in/jfk.wav', { sr: '<ChannelNum>2</ChannelNum>' });
  assert.equal(job.State, 'Failed');
  assert.equal(job.Code, 'AudioChannelMissing');
  assert.match(job.Message, /channel/);
});

test('raw PCM declared with Format=pcm decodes like the wav it came from', async () => {
  const ref = await jfkReference();
  const job = await objectJob('in/jfk.pcm', { sr: '<Format>pcm</Format>' });
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Operation.SpeechRecognition.Format, 'pcm');
  assert.equal(job.Operation.SpeechRecognitionResult.Result, ref.Result);
  assert.equal(job.Operation.SpeechRecognitionResult.AudioTime, ref.AudioTime);
  // undeclared, the same bytes are not audio FFmpeg recognises
  const undeclared = await objectJob('in/jfk.pcm');
  assert.equal(undeclared.State, 'Failed');
});

test('8 kHz digits: AudioTime exact to the millisecond', async () => {
  const samples = Number(L.execFileSync('soxi', ['-s', digits], { encoding: 'utf8' }).trim());
  const job = await objectJob('in/digits.wav', { engine: '8k_en' });
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Operation.SpeechRecognitionResult.AudioTime, (Math.floor(samples / 8) / 1000).toFixed(3));
  assert.ok(L.resultWords(job.Operation.SpeechRecognitionResult.Result).length > 0);
});
