// formats.test.js — every result shape the API promises, read back through the official SDK: the
// four ResTextFormats (Result lines; ResultDetail sentences with FinalSentence, SliceSentence,
// StartMs/EndMs, WordsNum, SpeechSpeed, SpeakerId and Words with offsets relative to the sentence;
// 1 without punctuation, 2 with it — pocketsphinx gets it from pauses —, 3 re-segmented and held
// to SentenceMaxLength), and every OutputFileType (txt, srt, and the vtt and json extensions) with
// the .detail object beside it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);

let srv, cos;
test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/jfk.wav', jfk);
});
test.after(async () => { await srv.stop(); });

async function job(sr, output) {
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ sr, output }) });
  const j = await L.waitJob(cos, srv.port, d.Response.JobsDetail.JobId);
  assert.equal(j.State, 'Success', JSON.stringify(j));
  return j;
}

const LINE = /^\[(\d+):(\d+\.\d{3}),(\d+):(\d+\.\d{3})\]  (\S.*)$/;
const PUNCT = /[.,!?;:。，！？；：、]/;
const length = (s) => [...s.replace(/\s/g, '')].length;
const sentences = (j) => [].concat(j.Operation.SpeechRecognitionResult.ResultDetail || []);

// The shape spec section 3 gives a ResultDetail sentence, checked field by field.
function checkSentence(s, speaker = '0') {
  for (const k of ['FinalSentence', 'SliceSentence', 'StartMs', 'EndMs', 'WordsNum', 'SpeechSpeed', 'SpeakerId', 'Words'])
    assert.ok(k in s, `ResultDetail lacks ${k}: ${JSON.stringify(s)}`);
  const start = Number(s.StartMs), end = Number(s.EndMs);
  assert.ok(Number.isInteger(start) && Number.isInteger(end) && end >= start, JSON.stringify(s));
  const words = [].concat(s.Words);
  assert.equal(Number(s.WordsNum), words.length);
  assert.equal(s.SliceSentence, words.map((w) => w.Word).join(' '));
  assert.equal(s.SpeakerId, speaker);
  const speed = Number(s.SpeechSpeed);
  assert.ok(Math.abs(speed - words.length / ((end - start) / 1000)) <= 0.051, `SpeechSpeed ${speed}`);
  let prev = 0;
  for (const w of words) {
    const a = Number(w.OffsetStartMs), b = Number(w.OffsetEndMs);
    assert.ok(a >= prev - 0 && a <= b && b <= end - start, `word ${JSON.stringify(w)} in ${start}-${end}`);
    prev = a;
  }
  return words.map((w) => w.Word);
}

let plain;
test('ResTextFormat 0: Result lines, an empty ResultDetail', async () => {
  plain = await job('', 'out/f0.txt');
  const res = plain.Operation.SpeechRecognitionResult;
  for (const l of res.Result.split('\n')) assert.match(l, LINE);
  assert.equal(res.ResultDetail, '');   // <ResultDetail></ResultDetail>, as the service sends
  assert.equal(plain.Operation.SpeechRecognition.ResTextFormat, '0');
});

test('ResTextFormat 1: word-level detail without punctuation, matching the Result', async () => {
  const j = await job('<ResTextFormat>1</ResTextFormat>', 'out/f1.txt');
  const res = j.Operation.SpeechRecognitionResult;
  const all = [];
  for (const s of sentences(j)) {
    all.push(...checkSentence(s));
    assert.doesNotMatch(s.FinalSentence, PUNCT);
  }
  assert.deepEqual(all, L.resultWords(res.Result).join(' ').split(' '));
  assert.deepEqual(L.resultWords(res.Result), L.resultWords(plain.Operation.SpeechRecognitionResult.Result));
  const detail = JSON.parse((await L.getObject(cos, 'out/f1.txt.detail')).Body.toString());
  assert.deepEqual(detail.map((s) => s.FinalSentence), sentences(j).map((s) => s.FinalSentence));
});

test('ResTextFormat 2: the same words, with punctuation from the pauses', async () => {
  const j = await job('<ResTextFormat>2</ResTextFormat>', 'out/f2.txt');
  const list = sentences(j);
  for (const s of list) {
    checkSentence(s);
    assert.match(s.FinalSentence, /[.?!]$/, `sentence without a final mark: ${s.FinalSentence}`);
  }
  const bare = (t) => t.replace(/[.,!?]/g, '').split(/\s+/).filter(Boolean);
  assert.deepEqual(bare(list.map((s) => s.FinalSentence).join(' ')),
    L.resultWords(plain.Operation.SpeechRecognitionResult.Result).join(' ').split(' '));
});

test('ResTextFormat 3: re-segmented at punctuation, each sentence within SentenceMaxLength', async () => {
  const two = sentences(await job('<ResTextFormat>2</ResTextFormat>', 'out/f2b.txt'));
  const j = await job('<ResTextFormat>3</ResTextFormat><SentenceMaxLength>12</SentenceMaxLength>', 'out/f3.txt');
  const list = sentences(j);
  assert.ok(list.length > two.length, `${list.length} subtitles from ${two.length} sentences`);
  for (const s of list) {
    const words = checkSentence(s);
    assert.ok(length(s.FinalSentence) <= 12 || words.length === 1, `too long: ${s.FinalSentence}`);
    assert.ok(!PUNCT.test(s.FinalSentence.slice(0, -1)), `a mark inside: ${s.FinalSentence}`);
  }
  assert.equal(list.map((s) => s.FinalSentence).join(' '), two.map((s) => s.FinalSentence).join(' '));
  assert.equal(j.Operation.SpeechRecognitionResult.Result.split('\n').length, list.length);
});

test('bad ResTextFormat / SentenceMaxLength / OutputFileType are 400s', async () => {
  for (const sr of ['<ResTextFormat>4</ResTextFormat>', '<SentenceMaxLength>5</SentenceMaxLength>',
    '<SentenceMaxLength>41</SentenceMaxLength>', '<OutputFileType>doc</OutputFileType>']) {
    await assert.rejects(L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ sr }) }),
      (e) => e.statusCode === 400, sr);
  }
});

test('OutputFileType txt, srt, vtt and json, each with its .detail object', async () => {
  const sr = (t) => `<ResTextFormat>2</ResTextFormat><OutputFileType>${t}</OutputFileType>`;
  const read = async (key) => (await L.getObject(cos, key)).Body.toString();
  const txt = await job(sr('txt'), 'out/o.txt');
  assert.equal(await read('out/o.txt'), txt.Operation.SpeechRecognitionResult.Result);
  const list = sentences(txt);

  const srt = await job(sr('srt'), 'out/o.srt');
  const cues = (await read('out/o.srt')).trim().split(/\n\n/);
  assert.equal(cues.length, list.length);
  cues.forEach((c, i) => {
    const [n, times, text] = c.split('\n');
    assert.equal(n, String(i + 1));
    assert.match(times, /^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$/);
    assert.equal(text, list[i].FinalSentence);
  });
  assert.equal(srt.Operation.SpeechRecognitionResult.ObjectName, 'out/o.srt');

  await job(sr('vtt'), 'out/o.vtt');
  const vtt = await read('out/o.vtt');
  assert.match(vtt, /^WEBVTT\n\n\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}\n/);
  assert.equal(vtt.trim().split(/\n\n/).length - 1, list.length);

  const json = await job(sr('json'), 'out/o.json');
  const doc = JSON.parse(await read('out/o.json'));
  assert.deepEqual(doc.Sentences, JSON.parse(await read('out/o.json.detail')));
  assert.deepEqual(doc.Sentences.map((s) => s.FinalSentence), list.map((s) => s.FinalSentence));
  assert.equal(json.Operation.SpeechRecognitionResult.DetailObjectName, 'out/o.json.detail');
});
