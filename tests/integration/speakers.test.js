// speakers.test.js — SpeakerDiarization 1 through the service: a job on a two-speaker AISHELL
// conversation (tests/diarize/conversations.js, a seed that took no part in tuning; recognised by
// pocketsphinx Mandarin, count estimated) returns sentences whose SpeakerIds agree with the
// reference on >= 90% of word time; no sentence mixes speakers; the speakers are those `cicada
// diarize` prints for the same file; the srt and vtt outputs name the speakers.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');
const conv = require('../diarize/conversations');

L.skipUnless(fs.existsSync(path.join(L.TESTDATA, 'zh/aishell')), `no AISHELL recordings under ${L.TESTDATA}`);
L.skipUnless(fs.existsSync(path.join(L.SHARED, 'models/sphinx-zh')), 'no Mandarin pocketsphinx model under CICADA_SHARED');

const dir = L.tmpDir('cicada-speakers-');
const c = conv.build('aishell', 301);
const { wav } = conv.write(c, dir);
const short = conv.build('aishell', 302, { turns: 6 });   // for the subtitles: count given, two jobs at once
const { wav: shortWav } = conv.write(short, dir);
let srv, cos;

test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/conv.wav', wav);
  await L.putFile(cos, 'in/short.wav', shortWav);
});
test.after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(sr, output, object = 'in/conv.wav') {
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs',
    { body: L.submitXml({ object, engine: '16k_zh', output, sr: `<SpeakerDiarization>1</SpeakerDiarization>${sr}` }) });
  const j = await L.waitJob(cos, srv.port, d.Response.JobsDetail.JobId, { timeoutMs: 600000 });
  assert.equal(j.State, 'Success', JSON.stringify(j));
  return j;
}

// Every word with its absolute times and its sentence's SpeakerId.
function wordsOf(job) {
  const detail = [].concat(job.Operation.SpeechRecognitionResult.ResultDetail || []).filter((s) => s !== '');
  const out = [];
  for (const s of detail) {
    for (const w of [].concat(s.Words || [])) {
      out.push({ start: Number(s.StartMs) + Number(w.OffsetStartMs), end: Number(s.StartMs) + Number(w.OffsetEndMs),
        speaker: String(s.SpeakerId), sentence: s });
    }
  }
  return out;
}

// The speaker holding most of [a, b) among turns [{speaker, start, end}] (seconds), or null.
function holder(turns, a, b) {
  const held = new Map();
  for (const t of turns) {
    const o = Math.min(b, t.end * 1000) - Math.max(a, t.start * 1000);
    if (o > 0) held.set(t.speaker, (held.get(t.speaker) || 0) + o);
  }
  let best = null;
  for (const [k, v] of held) if (best === null || v > held.get(best)) best = k;
  return best;
}

test('a two-speaker conversation: SpeakerIds agree with the reference on >= 90% of word time', async () => {
  const job = await run('<ResTextFormat>2</ResTextFormat>', 'out/conv.txt');
  const words = wordsOf(job);
  assert.ok(words.length > 50, `only ${words.length} words`);
  const ids = new Set(words.map((w) => w.speaker));
  assert.deepEqual([...ids].sort(), ['0', '1'], 'two speakers, numbered 0 and 1');
  assert.equal(words[0].speaker, '0', 'numbered by first appearance');
  // agreement under the better of the two namings
  const names = [...new Set(c.turns.map((t) => t.speaker))];
  const agree = [0, 0];
  let total = 0;
  for (const w of words) {
    const ref = holder(c.turns, w.start, Math.max(w.end, w.start + 1));
    if (ref === null) continue;
    const len = Math.max(w.end - w.start, 1);
    total += len;
    if (String(names.indexOf(ref)) === w.speaker) agree[0] += len;
    if (String(1 - names.indexOf(ref)) === w.speaker) agree[1] += len;
  }
  const share = Math.max(...agree) / total;
  console.log(`${words.length} words, ${(total / 1000).toFixed(1)} s in reference speech; SpeakerId agrees on ${(100 * share).toFixed(1)}%`);
  assert.ok(share >= 0.9, `agreement ${share}`);

  // the speakers are cicada diarize's for the same file: each word's sentence speaker is the one
  // its RTTM gives the word (a few boundary words may be smoothed into their neighbours' sentence)
  const r = spawnSync(L.BIN, ['diarize', wav], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rttm = r.stdout.trim().split('\n').map((l) => l.split(/\s+/))
    .map((f) => ({ start: Number(f[3]), end: Number(f[3]) + Number(f[4]), speaker: f[7].replace('spk', '') }));
  let same = 0, judged = 0;
  for (const w of words) {
    const h = holder(rttm, w.start, Math.max(w.end, w.start + 1));
    if (h === null) continue;
    judged++;
    same += h === w.speaker;
  }
  console.log(`cicada diarize names the sentence's speaker for ${same}/${judged} words`);
  assert.ok(judged > 0.8 * words.length && same >= 0.95 * judged);
});

test('subtitles name the speakers; the Result lines stay plain', async () => {
  const [srt] = await Promise.all([
    run('<SpeakerNumber>2</SpeakerNumber><OutputFileType>srt</OutputFileType>', 'out/short.srt', 'in/short.wav'),
    run('<SpeakerNumber>2</SpeakerNumber><OutputFileType>vtt</OutputFileType>', 'out/short.vtt', 'in/short.wav')]);
  const body = (await L.getObject(cos, 'out/short.srt')).Body.toString();
  assert.match(body, /^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n\[SPEAKER_0\] \S/);
  assert.match(body, /\n\[SPEAKER_1\] \S/);
  assert.doesNotMatch(srt.Operation.SpeechRecognitionResult.Result, /SPEAKER/);
  const vtt = (await L.getObject(cos, 'out/short.vtt')).Body.toString();
  assert.match(vtt, /^WEBVTT\n/);
  assert.match(vtt, /\n<v Speaker 0>\S/);
  assert.match(vtt, /\n<v Speaker 1>\S/);
});
