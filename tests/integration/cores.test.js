// cores.test.js — jobs share the machine's cores (src/engine/cores.c) through `cicada serve` with
// its defaults (workers = cores, no CICADA_WHISPER_THREADS): a short whisper job submitted while a
// long one decodes on every core starts at once and finishes first, and neither transcript differs
// from the same file recognised alone; four jobs submitted at once each get their solo transcript.
// The grants themselves (every core alone, a share each together, never more than the cores) are
// checked in tests/engine/test_cores.c and test_whisper.c; what they cost and gain is measured by
// bench/cores.js (docs/benchmarks.md).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const model = path.join(process.env.CICADA_TEST_MODELS || '', 'ggml-tiny-random.bin');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);
L.skipUnless(fs.existsSync(model), `no generated whisper model at ${model} (the whisper_models fixture makes it)`);

let srv, cos;
const solo = {};
test.before(async () => {
  const dir = L.tmpDir('cicada-cores-');
  const long = path.join(dir, 'long.wav');   // 5.5 minutes: one recognition window, several seconds of work
  fs.writeFileSync(path.join(dir, 'list.txt'), `file '${jfk}'\n`.repeat(30));
  L.execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', path.join(dir, 'list.txt'), '-c', 'copy', long]);
  srv = await L.startServer({ env: {
    CICADA_ENGINES: `16k_en=whisper:${model}:en`, CICADA_VAD_MODEL: 'none', CICADA_WORKERS: String(Math.max(2, os.cpus().length)),
  } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/long.wav', long);
  await L.putFile(cos, 'in/short.wav', jfk);
});
test.after(async () => { await srv.stop(); });

let n = 0;
async function submit(object) {
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object, output: `out/${n++}.txt` }) });
  return d.Response.JobsDetail.JobId;
}
async function finished(id) {
  const job = await L.waitJob(cos, srv.port, id, { timeoutMs: 300000 });
  assert.equal(job.State, 'Success', JSON.stringify(job));
  return { job, at: Date.now() };
}
const text = (job) => job.Operation.SpeechRecognitionResult.Result;

test('each file recognised alone', async () => {
  for (const f of ['long', 'short']) {
    const { job } = await finished(await submit(`in/${f}.wav`));
    solo[f] = text(job);
    assert.ok(solo[f].length > 0);
  }
  assert.notEqual(solo.long, solo.short);
});

test('a short job behind a long one starts at once, finishes first, and both transcripts stay the same', async () => {
  const long = await submit('in/long.wav');
  for (let i = 0; ; i++) {   // the long job decodes alone, on every core
    const d = await L.ci(cos, srv.port, 'GET', `/asr_jobs/${long}`);
    if (d.Response.JobsDetail.State === 'Running') break;
    assert.ok(i < 600, 'the long job never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  const short = await submit('in/short.wav');
  const [l, s] = await Promise.all([finished(long), finished(short)]);
  assert.ok(s.at < l.at, 'the short job finished first');
  assert.equal(text(l.job), solo.long);
  assert.equal(text(s.job), solo.short);
});

test('four jobs submitted at once each get their solo transcript', async () => {
  const files = ['long', 'short', 'short', 'long'];
  const ids = await Promise.all(files.map((f) => submit(`in/${f}.wav`)));
  const done = await Promise.all(ids.map(finished));
  done.forEach((d, i) => assert.equal(text(d.job), solo[files[i]], `job ${i} (${files[i]})`));
});
