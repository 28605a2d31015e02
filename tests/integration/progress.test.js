// progress.test.js — a job's <Progress> (this server's addition to JobsDetail, right after EndTime;
// the official SDKs ignore elements they do not know) through the official Node SDK: 0.000 while
// Submitted (and for a job cancelled before it ran), strictly between 0 and 1 at least once while a
// job of several recognition windows runs, never going down, and 1.000 on Success. The long input
// is speech, two minutes and a half of quiet noise (cheap for pocketsphinx, whose windows are
// 2 minutes) and speech again, made with the ffmpeg CLI.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);
let ffmpeg = true;
try { L.execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' }); } catch { ffmpeg = false; }
L.skipUnless(ffmpeg, 'no ffmpeg CLI to make the long input');

const PROGRESS = /^[01]\.\d{3}$/;
let srv, cos, queueId;
test.before(async () => {
  const long = path.join(L.tmpDir('cicada-progress-'), 'long.wav');   // 172 s: two pocketsphinx windows
  L.execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', jfk, '-f', 'lavfi', '-t', '150', '-i',
    'anoisesrc=r=16000:a=0.002:c=white', '-i', jfk, '-filter_complex',
    '[1]aformat=channel_layouts=mono[n];[0][n][2]concat=n=3:v=0:a=1', '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le', long]);
  srv = await L.startServer({ env: { CICADA_WORKERS: '1' } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/long.wav', long);
  queueId = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0].QueueId;
});
test.after(async () => { await srv.stop(); });

const setQueue = (state) => L.ci(cos, srv.port, 'PUT', `/asrqueue/${queueId}`,
  { body: `<Request><Name>asr-queue</Name><State>${state}</State></Request>` });
const submit = async (output) => (await L.ci(cos, srv.port, 'POST', '/asr_jobs',
  { body: L.submitXml({ object: 'in/long.wav', output }) })).Response.JobsDetail;
const describe = async (id) => (await L.ci(cos, srv.port, 'GET', `/asr_jobs/${id}`)).Response.JobsDetail;

test('a Submitted job shows 0.000, right after EndTime, and so does one cancelled before it ran', async () => {
  await setQueue('Paused');
  try {
    const job = await submit('out/waiting.txt');
    assert.equal(job.State, 'Submitted');
    assert.equal(job.Progress, '0.000');
    assert.equal((await describe(job.JobId)).Progress, '0.000');
    const listed = [].concat((await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { queueId } })).Response.JobsDetail);
    assert.equal(listed.find((j) => j.JobId === job.JobId).Progress, '0.000');
    const raw = await L.raw(srv.port, { pathname: `/asr_jobs/${job.JobId}` });
    assert.equal(raw.status, 200);
    assert.match(raw.body, /<EndTime>-<\/EndTime><Progress>0\.000<\/Progress><QueueId>/);
    await L.ci(cos, srv.port, 'PUT', `/jobs/${job.JobId}`, { query: { cancel: '' } });
    const cancelled = await describe(job.JobId);
    assert.equal(cancelled.State, 'Cancel');
    assert.equal(cancelled.Progress, '0.000');
  } finally {
    await setQueue('Active');
  }
});

test('a long job reports progress between 0 and 1 while it runs, never less than before, then 1.000', async () => {
  const id = (await submit('out/long.txt')).JobId;
  const seen = [];
  const deadline = Date.now() + 400000;
  let job;
  for (;;) {
    job = await describe(id);
    assert.match(job.Progress, PROGRESS, JSON.stringify(job));
    seen.push(`${job.State} ${job.Progress}`);
    if (['Success', 'Failed', 'Cancel'].includes(job.State)) break;
    assert.ok(Date.now() < deadline, `job still ${job.State}: ${seen.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const trail = [...new Set(seen)];
  console.log(`states and progress seen: ${trail.join(', ')}`);
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Progress, '1.000');
  const values = seen.map((s) => Number(s.split(' ')[1]));
  values.forEach((v, i) => assert.ok(i === 0 || v >= values[i - 1], `progress went down: ${trail.join(', ')}`));
  assert.ok(seen.some((s) => s.startsWith('Running ') && Number(s.split(' ')[1]) > 0 && Number(s.split(' ')[1]) < 1),
    `no progress strictly between 0 and 1 while Running: ${trail.join(', ')}`);
  assert.ok(!seen.some((s) => s.startsWith('Running 1.000')), 'Running never shows 1.000');
  const audioTime = Number(job.Operation.SpeechRecognitionResult.AudioTime);
  assert.ok(Math.abs(audioTime - 172) < 0.5, `AudioTime ${audioTime}`);   // the windows covered all of it
});
