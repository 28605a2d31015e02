// transcribe.test.js — jobs run for real: the official SDK uploads real speech (JFK in English, an
// AISHELL utterance in Mandarin), submits jobs, polls them to Success and reads the output objects.
// Each transcript must equal what the same engine and model give outside the service — the engine's
// own CLI (pocketsphinx_batch) word for word, and `cicada transcribe` line for line — and the
// English one must share words with the reference.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const jfkDir = path.join(L.TESTDATA, 'en', 'jfk');
const jfk = path.join(jfkDir, 'jfk.wav');
const zhDir = path.join(L.TESTDATA, 'zh', 'aishell');
const zhModel = path.join(L.SHARED, 'models', 'sphinx-zh');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);

let srv, cos;
test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
});
test.after(async () => { await srv.stop(); });

function outsideTheService(file, engine) {
  const env = { ...process.env, CICADA_SPHINX_ZH_MODEL: fs.existsSync(zhModel) ? zhModel : '' };
  return L.execFileSync(L.BIN, ['transcribe', file, '--engine', engine], { env, encoding: 'utf8' }).trim();
}

async function runJob(key, file, engine, output, sr = '') {
  await L.putFile(cos, key, file);
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: key, engine, output, sr }) });
  return L.waitJob(cos, srv.port, d.Response.JobsDetail.JobId);
}

const LINE = /^\[\d+:\d+\.\d{3},\d+:\d+\.\d{3}\]  \S/;

test('English: JFK through the service equals the engine outside it', async () => {
  const job = await runJob('in/jfk.wav', jfk, '16k_en', 'out/jfk.txt', '<ResTextFormat>1</ResTextFormat>');
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Code, 'Success');
  assert.notEqual(job.StartTime, '-');
  assert.notEqual(job.EndTime, '-');
  const res = job.Operation.SpeechRecognitionResult;
  assert.ok(Math.abs(Number(res.AudioTime) - 11.0) < 0.1, `AudioTime ${res.AudioTime}`);
  const lines = res.Result.split('\n');
  for (const l of lines) assert.match(l, LINE);
  assert.equal(res.Result, outsideTheService(jfk, '16k_en'));
  assert.deepEqual(L.resultWords(res.Result).join(' ').split(' '), L.sphinxBatch(jfk, 'en'));
  const words = L.resultWords(res.Result).join(' ').toLowerCase().split(/\s+/);
  const ref = L.refText(jfkDir, 'jfk.wav').toLowerCase().replace(/[^a-z ]/g, ' ').split(/\s+/).filter(Boolean);
  const shared = new Set(words.filter((w) => ref.includes(w)));
  assert.ok(shared.size >= 5, `shares only ${[...shared]} with the reference`);
  // output objects: the text object holds the Result lines, the .detail object the sentences
  assert.equal(res.ObjectName, 'out/jfk.txt');
  assert.equal(res.DetailObjectName, 'out/jfk.txt.detail');
  const txt = await L.getObject(cos, 'out/jfk.txt');
  assert.equal(txt.Body.toString(), res.Result);
  const detail = JSON.parse((await L.getObject(cos, 'out/jfk.txt.detail')).Body.toString());
  assert.equal(detail.length, lines.length);
  assert.ok(detail[0].Words.length > 0);
  // ResTextFormat 1 also puts ResultDetail in the job
  const rd = [].concat(res.ResultDetail);
  assert.equal(rd.length, lines.length);
  assert.ok(Number(rd[0].WordsNum) > 0);
  assert.equal(rd[0].SliceSentence.split(' ').length, Number(rd[0].WordsNum));
});

test('the same audio as mp3 and flac gives a transcript too', async () => {
  for (const ext of ['mp3', 'flac']) {
    const f = path.join(jfkDir, `jfk.${ext}`);
    if (!fs.existsSync(f)) continue;
    const job = await runJob(`in/jfk.${ext}`, f, '16k_en', `out/jfk-${ext}.txt`);
    assert.equal(job.State, 'Success', JSON.stringify(job));
    assert.equal(job.Operation.SpeechRecognitionResult.Result, outsideTheService(f, '16k_en'));
  }
});

test('Mandarin: an AISHELL utterance through the service equals the engine outside it', async (t) => {
  if (!fs.existsSync(zhModel) || !fs.existsSync(zhDir)) return t.skip('no Mandarin model or AISHELL data in shared/');
  const file = fs.readdirSync(zhDir).filter((f) => f.endsWith('.wav')).sort()[0];
  const full = path.join(zhDir, file);
  const job = await runJob(`in/${file}`, full, '16k_zh', `out/${file}.txt`);
  assert.equal(job.State, 'Success', JSON.stringify(job));
  const res = job.Operation.SpeechRecognitionResult;
  assert.equal(res.Result, outsideTheService(full, '16k_zh'));
  const text = L.resultWords(res.Result).join('');
  assert.equal(text, L.sphinxBatch(full, 'zh').join(''));
  assert.match(text, /[\u4e00-\u9fff]/);
  for (const l of res.Result.split('\n')) assert.doesNotMatch(l.replace(/^\[[^\]]*\]  /, ''), / /);
  const txt = await L.getObject(cos, `out/${file}.txt`);
  assert.equal(txt.Body.toString(), res.Result);
});

test('undecodable and empty inputs fail with a precise code, and the server keeps working', async () => {
  const dir = L.tmpDir('cicada-bad-');
  const junk = path.join(dir, 'junk.wav');
  fs.writeFileSync(junk, Buffer.from('this is not audio at all, just text pretending to be a wav file\n'.repeat(50)));
  const empty = path.join(dir, 'empty.wav');
  fs.writeFileSync(empty, '');
  const truncated = path.join(dir, 'trunc.wav');
  fs.writeFileSync(truncated, fs.readFileSync(jfk).subarray(0, 30));
  for (const [f, codeRe] of [[junk, /Audio|Input/], [empty, /Empty/], [truncated, /Audio|Input/]]) {
    const job = await runJob(`bad/${path.basename(f)}`, f, '16k_en', `out/${path.basename(f)}.txt`);
    assert.equal(job.State, 'Failed', JSON.stringify(job));
    assert.match(job.Code, codeRe);
    assert.ok(job.Message.length > 10, job.Message);
    assert.equal(job.Operation.SpeechRecognitionResult, undefined);
  }
  const ok = await runJob('in/jfk2.wav', jfk, '16k_en', 'out/jfk2.txt');
  assert.equal(ok.State, 'Success');
});

// A file cut short (an upload that stopped) fails as AudioTruncated, naming what the header
// declares and what is there, and writes no output; a WAV streamed without a length (its size fields
// 0xFFFFFFFF, as recorders write them) declares nothing and is recognised whole.
test('a truncated WAV fails as AudioTruncated; a streamed WAV without a length succeeds', async () => {
  const dir = L.tmpDir('cicada-trunc-');
  const whole = fs.readFileSync(jfk);
  const cut = path.join(dir, 'cut.wav');
  fs.writeFileSync(cut, whole.subarray(0, 20000));   // the header says 11 s; 0.62 s are there
  const job = await runJob('in/cut.wav', cut, '16k_en', 'out/cut.txt');
  assert.equal(job.State, 'Failed', JSON.stringify(job));
  assert.equal(job.Code, 'AudioTruncated');
  assert.match(job.Message, /declares 11\.000 s .* holds only 0\.62\d s/);
  assert.equal(job.Operation.SpeechRecognitionResult, undefined);
  await assert.rejects(L.getObject(cos, 'out/cut.txt'), (e) => e.statusCode === 404);
  const streamed = Buffer.from(whole);
  const data = streamed.indexOf('data');
  streamed.writeUInt32LE(0xFFFFFFFF, 4);
  streamed.writeUInt32LE(0xFFFFFFFF, data + 4);
  const live = path.join(dir, 'live.wav');
  fs.writeFileSync(live, streamed);
  const ok = await runJob('in/live.wav', live, '16k_en', 'out/live.txt');
  assert.equal(ok.State, 'Success', JSON.stringify(ok));
  assert.equal(ok.Operation.SpeechRecognitionResult.AudioTime, '11.000');
  const ref = await runJob('in/jfk3.wav', jfk, '16k_en', 'out/jfk3.txt');
  assert.equal(ok.Operation.SpeechRecognitionResult.Result, ref.Operation.SpeechRecognitionResult.Result);
});
