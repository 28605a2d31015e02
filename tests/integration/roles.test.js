// roles.test.js — the scaling-out settings on the single-box defaults: `--role api` takes requests
// and runs no job, `--role worker` runs them and answers only GET /health (here both share one
// SQLite data directory, which several processes may open); bad settings stop start-up with a
// usage error naming them; `cicada migrate` creates the schema and says which, and an unreachable
// database is named without its password.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const clip = path.join(L.TESTDATA, 'en', 'sphinx', '001.wav');
L.skipUnless(fs.existsSync(clip), `no test audio at ${clip}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cicada(args, env = {}) {
  return spawnSync(L.BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30000 });
}

test('bad scaling settings are usage errors that name the setting', () => {
  const dir = L.tmpDir('cicada-roles-');
  const cases = [
    [['--role', 'leader'], /role must be all, api or worker/],
    [['--job-lease', '0'], /job_lease must be/],
    [['--job-lease', '2d'], /job_lease must be/],
    [['--s3-endpoint', 'http://127.0.0.1:9'], /needs s3_bucket, s3_access_key and s3_secret_key/],
    [['--s3-path-style', 'maybe'], /s3_path_style must be yes or no/],
    [['--node-id', 'a b'], /node_id may hold/],
  ];
  for (const [args, re] of cases) {
    const r = cicada(['serve', '--data-dir', dir, '--listen', '127.0.0.1:0', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('cicada migrate: SQLite schema created and kept; an unreachable PostgreSQL named, its password not', () => {
  const dir = L.tmpDir('cicada-migrate-');
  for (let i = 0; i < 2; i++) {
    const r = cicada(['migrate', '--data-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the sqlite schema is up to date/);
  }
  assert.ok(fs.existsSync(path.join(dir, 'cicada.db')));
  const r = cicada(['migrate'], { CICADA_DATABASE_URL: 'postgresql://someone:s3cretPW@/asrdb?host=/nonexistent-dir' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /asrdb/);
  assert.match(r.stderr, /unreachable/);
  assert.doesNotMatch(r.stderr + r.stdout, /s3cretPW/);
});

test('an api node runs no job; a worker node on the same data runs it and answers only /health', async () => {
  const api = await L.startServer({ env: { CICADA_ROLE: 'api' } });
  let worker;
  try {
    assert.match(api.banner, /Role: +api/);
    assert.match(api.banner, /Workers: +0/);
    const cos = L.client(api.port);
    await L.ci(cos, api.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/a.wav', clip);
    const id = (await L.ci(cos, api.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/a.wav', output: 'out/a.txt' }) })).Response.JobsDetail.JobId;
    await sleep(2000);
    assert.equal((await L.ci(cos, api.port, 'GET', `/asr_jobs/${id}`)).Response.JobsDetail.State, 'Submitted');
    worker = await L.startServer({ dataDir: api.dataDir, env: { CICADA_ROLE: 'worker' } });
    assert.match(worker.banner, /Role: +worker/);
    const health = await L.raw(worker.port, { pathname: '/health', signed: false });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok', role: 'worker' });
    const refused = await L.raw(worker.port, { pathname: `/asr_jobs/${id}` });
    assert.equal(refused.status, 404);
    assert.match(refused.body, /runs jobs only/);
    assert.equal((await L.raw(api.port, { pathname: '/health', signed: false })).status, 200);
    const job = await L.waitJob(cos, api.port, id, { timeoutMs: 60000 });
    assert.equal(job.State, 'Success', JSON.stringify(job));
    assert.ok(String((await L.getObject(cos, 'out/a.txt')).Body).length > 0);
  } finally {
    if (worker) await worker.stop();
    await api.stop();
  }
});
