// jobcrash.test.js — the single-node default (SQLite + files) under kill -9: jobs with callbacks are
// submitted, the server is SIGKILLed while jobs run and while callbacks are being delivered (the
// receiver answers slowly), and restarted on the same data directory, several times. At the end
// every job has ended Success exactly once (one "Success" log line over all runs), its output
// object is that of a clean run, nothing is left Running or in the outbox, and every job's callback
// arrived at least once (at-least-once: a delivery cut by the kill is sent again).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const clip = path.join(L.TESTDATA, 'en', 'sphinx', '001.wav');
L.skipUnless(fs.existsSync(clip), `no test audio at ${clip}`);

const JOBS = 40;
const KILLS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function slowReceiver(delayMs) {
  const got = new Map();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => setTimeout(() => {
      const id = L.tag(body, 'JobId');
      if (id) got.set(id, (got.get(id) || 0) + 1);
      res.end('ok');
    }, delayMs));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, got,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

const jobsEnded = (srv) => srv.stderr().split('\n').filter((l) => / Success Success$/.test(l));

test('kill -9 during jobs and during callback delivery: every job once, every callback at least once', { timeout: 300000 }, async () => {
  const cb = await slowReceiver(700);
  const env = { CICADA_URL_ALLOW_PRIVATE: 'yes', CICADA_WORKERS: '2' };
  let srv = await L.startServer({ env });
  const dataDir = srv.dataDir;
  let cos = L.client(srv.port);
  const logs = [];
  try {
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/c.wav', clip);
    // the reference output: one job on its own, before any kill
    const ref = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/c.wav', output: 'out/ref.txt' }) })).Response.JobsDetail.JobId;
    assert.equal((await L.waitJob(cos, srv.port, ref)).State, 'Success');
    const refTxt = String((await L.getObject(cos, 'out/ref.txt')).Body);
    const ids = [ref];
    for (let k = 0; k < JOBS; k++) {
      const body = L.submitXml({ object: 'in/c.wav', output: `out/${k}.txt`, extra: `<CallBack>http://127.0.0.1:${cb.port}/cb</CallBack>` });
      ids.push((await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body })).Response.JobsDetail.JobId);
    }
    for (let kill = 0; kill < KILLS; kill++) {
      // let some jobs end and some callbacks be in flight, then kill
      await sleep(600 + Math.floor(Math.random() * 900));
      logs.push(srv.stderr);
      await srv.kill9();
      srv = await L.startServer({ dataDir, env });
      cos = L.client(srv.port);
      assert.match(srv.stderr() + srv.banner, /node /);
    }
    for (const id of ids) assert.equal((await L.waitJob(cos, srv.port, id, { timeoutMs: 180000 })).State, 'Success', id);
    for (let k = 0; k < JOBS; k++) assert.equal(String((await L.getObject(cos, `out/${k}.txt`)).Body), refTxt, `out/${k}.txt`);
    const end = Date.now() + 120000;
    while (ids.slice(1).some((id) => !cb.got.has(id)) && Date.now() < end) await sleep(300);
    assert.deepEqual(ids.slice(1).filter((id) => !cb.got.has(id)), [], 'callbacks never arrived');
    logs.push(srv.stderr);
    const all = logs.map((f) => f()).join('\n');
    for (const id of ids) {
      const n = all.split('\n').filter((l) => l.includes(`job ${id} Success Success`)).length;
      assert.equal(n, 1, `job ${id} ended ${n} times`);
    }
    assert.ok(jobsEnded(srv).length <= JOBS + 1);
    // the kills did catch jobs running: a restart handed them back at once (its own leases released)
    assert.match(all, /job\(s\) interrupted by this node's last shutdown will run again/);
  } finally {
    await cb.close();
    await srv.stop();
  }
});
