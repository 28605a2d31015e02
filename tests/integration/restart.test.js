// restart.test.js — a restart loses nothing: buckets, queue settings and jobs persist in SQLite, and
// a job that was Running when the process was killed (SIGKILL, no chance to clean up) runs again
// and succeeds after the restart.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);

test('state survives SIGKILL and an interrupted job runs again', async () => {
  // a long input (JFK eight times over) so the job is surely Running when the process dies
  const dir = L.tmpDir('cicada-restart-');
  const long = path.join(dir, 'long.wav');
  L.execFileSync('sox', Array(8).fill(jfk).concat([long]));
  let srv = await L.startServer();
  const dataDir = srv.dataDir;
  let cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/long.wav', long);
  const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
  await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><Name>renamed</Name><State>Active</State></Request>' });
  const running = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/long.wav', output: 'out/long.txt' }) })).Response.JobsDetail.JobId;
  await L.waitJob(cos, srv.port, running, { until: ['Running', 'Success', 'Failed'] });
  await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><Name>renamed</Name><State>Paused</State></Request>' });
  const waiting = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/long.wav', output: 'out/w.txt' }) })).Response.JobsDetail.JobId;
  const stateAtKill = (await L.ci(cos, srv.port, 'GET', `/asr_jobs/${running}`)).Response.JobsDetail.State;
  assert.equal(stateAtKill, 'Running', 'the job finished before the kill; make the input longer');
  await srv.kill9();

  srv = await L.startServer({ dataDir });
  cos = L.client(srv.port);
  try {
    const q2 = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    assert.equal(q2.QueueId, q.QueueId);
    assert.equal(q2.Name, 'renamed');
    assert.equal(q2.State, 'Paused');
    const w = (await L.ci(cos, srv.port, 'GET', `/asr_jobs/${waiting}`)).Response.JobsDetail;
    assert.equal(w.State, 'Submitted');
    // the queue was Paused before the kill and stays so: it starts nothing, not even the interrupted
    // job, until it is resumed; then both complete.
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><Name>renamed</Name><State>Active</State></Request>' });
    const j1 = await L.waitJob(cos, srv.port, running, { timeoutMs: 300000 });
    assert.equal(j1.State, 'Success', JSON.stringify(j1));
    assert.ok(Number(j1.Operation.SpeechRecognitionResult.AudioTime) > 80);
    const j2 = await L.waitJob(cos, srv.port, waiting, { timeoutMs: 300000 });
    assert.equal(j2.State, 'Success');
    const buckets = await L.ci(cos, srv.port, 'GET', '/asrbucket');
    assert.equal(buckets.Response.AsrBucketList.BucketId, L.BUCKET);
  } finally {
    await srv.stop();
  }
});
