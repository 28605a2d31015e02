// ops.test.js — what load balancers, orchestrators and Prometheus ask of a node: /healthz and
// /readyz unauthenticated (readyz turning 503 with the reason when the database file goes away or is
// no database, the object store's files go, a configured model did not load, or on PostgreSQL and S3
// when either cannot be reached), and /metrics in Prometheus text, checked by Prometheus's own
// `promtool check metrics`, whose counters move as a real job runs and its callback is delivered;
// open to loopback, a bearer token from anywhere else.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

const JFK = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const promtool = (() => { try { execFileSync('promtool', ['--version'], { stdio: 'ignore' }); return 'promtool'; } catch { return null; } })();

function get(port, pathname, { host = '127.0.0.1', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: pathname, headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

// promtool check metrics reads the exposition on stdin; it exits non-zero on a malformed one or a
// convention it lints (names, units, _total, HELP).
function promtoolCheck(text) {
  return new Promise((resolve) => {
    const p = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

// The value of one sample: name and labels exactly as written (labels sorted by how we write them).
function sample(text, name, labels = {}) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = m[3] ? m[3].split(/,(?=[a-z_]+=")/) : [];
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[4]);
  }
  return undefined;
}

test('healthz, readyz and metrics on a running server; counters move as a job runs', { skip: !fs.existsSync(JFK) && 'no jfk.wav' }, async () => {
  const srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });   // the callback receiver is local
  try {
    const h = await get(srv.port, '/healthz');
    assert.equal(h.status, 200);
    assert.equal(h.body, 'ok\n');
    const r = await get(srv.port, '/readyz');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'ready\n');

    const before = await get(srv.port, '/metrics');
    assert.equal(before.status, 200);
    assert.match(before.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    if (promtool) {
      const chk = await promtoolCheck(before.body);
      assert.equal(chk.code, 0, chk.out);
    } else console.log('promtool is not installed (Debian package prometheus): the format is checked by this test only');
    assert.equal(sample(before.body, 'cicada_build_info', { version: before.body.match(/version="([^"]+)"/)[1] }), 1);
    assert.equal(sample(before.body, 'cicada_engine_available', { engine: '16k_en' }), 1);
    assert.equal(sample(before.body, 'cicada_engine_model_failed', { engine: '16k_en' }), 0);
    assert.equal(sample(before.body, 'cicada_workers'), 2);
    assert.doesNotMatch(before.body, /^cicada_jobs_started_total\{/m, 'a fresh node has begun no job');

    // a job with a callback to a local receiver
    const got = [];
    const rcv = http.createServer((req, res) => { req.resume(); req.on('end', () => { got.push(req.url); res.end('ok'); }); });
    await new Promise((ok) => rcv.listen(0, '127.0.0.1', ok));
    const cos = L.client(srv.port);
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', JFK);
    const sub = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs',
      body: L.submitXml({ extra: `<CallBack>http://127.0.0.1:${rcv.address().port}/done</CallBack>` }) });
    assert.equal(sub.status, 200, sub.body);
    const job = await L.waitJob(cos, srv.port, L.tag(sub.body, 'JobId'));
    assert.equal(job.State, 'Success');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((ok) => setTimeout(ok, 100));
    rcv.close();
    assert.equal(got.length, 1);
    let after;
    for (let i = 0; i < 50; i++) {   // the delivery is counted when the notifier settles it
      after = (await get(srv.port, '/metrics')).body;
      if (sample(after, 'cicada_callbacks_delivered_total') >= 1) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    if (promtool) assert.equal((await promtoolCheck(after)).code, 0);
    const queue = job.QueueId;
    const qe = { queue, engine: '16k_en' };
    assert.equal(sample(after, 'cicada_jobs_submitted_total', qe), 1);
    assert.equal(sample(after, 'cicada_jobs_cancelled_total', qe), 0);
    assert.equal(sample(after, 'cicada_jobs_started_total', qe), 1);
    assert.equal(sample(after, 'cicada_jobs_finished_total', { ...qe, state: 'Success' }), 1);
    assert.equal(sample(after, 'cicada_jobs_finished_total', { ...qe, state: 'Failed' }), 0);
    assert.ok(Math.abs(sample(after, 'cicada_audio_recognised_seconds_total', qe) - Number(job.Operation.SpeechRecognitionResult.AudioTime)) < 0.01);
    assert.equal(sample(after, 'cicada_job_duration_seconds_count', qe), 1);
    assert.equal(sample(after, 'cicada_job_duration_seconds_bucket', { ...qe, le: '+Inf' }), 1);
    assert.equal(sample(after, 'cicada_job_realtime_factor_count', qe), 1);
    assert.equal(sample(after, 'cicada_callbacks_delivered_total'), 1);
    assert.equal(sample(after, 'cicada_callbacks_pending'), 0);
    assert.equal(sample(after, 'cicada_http_requests_total', { route: 'job_submit', status: '200' }), 1);
    assert.ok(sample(after, 'cicada_http_requests_total', { route: 'job_describe', status: '200' }) >= 1);
    assert.ok(sample(after, 'cicada_http_request_duration_seconds_count', { route: 'object_put' }) >= 1);
    assert.ok(sample(after, 'cicada_http_requests_total', { route: 'metrics', status: '200' }) >= 1);   // earlier scrapes
    assert.equal(sample(after, 'cicada_queue_jobs', { bucket: L.BUCKET, queue, state: 'Submitted' }), 0);
    assert.equal(sample(after, 'cicada_queue_jobs', { bucket: L.BUCKET, queue, state: 'Running' }), 0);
    assert.equal(sample(after, 'cicada_queue_paused', { bucket: L.BUCKET, queue }), 0);
    assert.doesNotMatch(after, new RegExp(job.JobId), 'no job id in any label');

    // the database file removed: not ready, saying why; back in place: ready again
    const db = path.join(srv.dataDir, 'cicada.db');
    fs.renameSync(db, db + '.away');
    const down = await get(srv.port, '/readyz');
    assert.equal(down.status, 503);
    assert.match(down.body, /^store: sqlite .*cicada\.db: No such file or directory\n$/);
    assert.equal((await get(srv.port, '/healthz')).status, 200, 'alive all the same');
    // something else in its place (a restore gone wrong) is not a database either
    fs.writeFileSync(db, 'not a database\n'.repeat(10));
    const junk = await get(srv.port, '/readyz');
    assert.equal(junk.status, 503);
    assert.match(junk.body, /^store: sqlite .*cicada\.db: not a database file any more\n$/);
    fs.renameSync(db + '.away', db);
    assert.equal((await get(srv.port, '/readyz')).status, 200);
    // the object store's files gone: not ready, naming the directory (the index alone still knows the bucket)
    const objects = path.join(srv.dataDir, 'objects', 'objects');
    if (fs.existsSync(objects)) {
      fs.renameSync(objects, objects + '.away');
      const nob = await get(srv.port, '/readyz');
      assert.equal(nob.status, 503);
      assert.match(nob.body, /^object store: .*objects: No such file or directory\n$/);
      fs.renameSync(objects + '.away', objects);
      assert.equal((await get(srv.port, '/readyz')).status, 200);
    } else assert.fail(`no ${objects}: where does the embedded store keep its files now?`);
  } finally {
    await srv.stop();
  }
});

// The same on the scaled-out backends (the pg_server and s3_server fixtures): the counters come from
// PostgreSQL-backed queues, and readiness follows the database and the S3 server, reached here
// through a TCP relay the test can cut.
test('on PostgreSQL and S3: metrics count the job; readyz follows the database and the S3 server', {
  skip: (!L.TEST_PG && 'CICADA_TEST_PG is not set (the pg_server fixture provides it)') ||
    (!L.haveS3() && 'no s3rver (the s3_server fixture provides CICADA_TEST_S3_DIR)') || (!fs.existsSync(JFK) && 'no jfk.wav'),
}, async () => {
  const db = `cicada_ops_${process.pid}`;
  L.psql('postgres', `CREATE DATABASE ${db}`);
  const s3bucket = `ops-${process.pid}`;
  await L.createS3Bucket(s3bucket);
  const target = new URL(L.s3Endpoint());
  const socks = new Set();
  const relay = net.createServer((c) => {
    const up = net.connect(Number(target.port), target.hostname);
    socks.add(c); socks.add(up);
    c.pipe(up); up.pipe(c);
    const end = () => { c.destroy(); up.destroy(); socks.delete(c); socks.delete(up); };
    c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
  });
  await new Promise((ok) => relay.listen(0, '127.0.0.1', ok));
  const relayPort = relay.address().port;
  const srv = await L.startServer({ env: {
    CICADA_DATABASE_URL: `${L.TEST_PG} dbname=${db}`,
    CICADA_S3_ENDPOINT: `http://127.0.0.1:${relayPort}`, CICADA_S3_BUCKET: s3bucket,
    CICADA_S3_ACCESS_KEY: 'S3RVER', CICADA_S3_SECRET_KEY: 'S3RVER', CICADA_WORKERS: '1',
  } });
  try {
    assert.equal((await get(srv.port, '/readyz')).status, 200);
    const cos = L.client(srv.port);
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', JFK);
    const sub = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: L.submitXml() });
    assert.equal(sub.status, 200, sub.body);
    const job = await L.waitJob(cos, srv.port, L.tag(sub.body, 'JobId'));
    assert.equal(job.State, 'Success');
    const m = (await get(srv.port, '/metrics')).body;
    if (promtool) assert.equal((await promtoolCheck(m)).code, 0);
    const qe = { queue: job.QueueId, engine: '16k_en' };
    assert.equal(sample(m, 'cicada_jobs_submitted_total', qe), 1);
    assert.equal(sample(m, 'cicada_jobs_finished_total', { ...qe, state: 'Success' }), 1);
    assert.equal(sample(m, 'cicada_queue_jobs', { bucket: L.BUCKET, queue: job.QueueId, state: 'Submitted' }), 0);
    assert.equal(sample(m, 'cicada_queue_jobs', { bucket: L.BUCKET, queue: job.QueueId, state: 'Running' }), 0);
    assert.equal(sample(m, 'cicada_workers'), 1);

    // the S3 server unreachable: not ready, at once, naming it; reachable again: ready
    relay.close();
    for (const s of socks) s.destroy();
    const t0 = Date.now();
    const cut = await get(srv.port, '/readyz');
    assert.equal(cut.status, 503);
    assert.match(cut.body, new RegExp(`^object store: S3 http://127\\.0\\.0\\.1:${relayPort}: HEAD ${s3bucket}`));
    assert.ok(Date.now() - t0 < 3000, `readyz took ${Date.now() - t0} ms`);
    await new Promise((ok) => relay.listen(relayPort, '127.0.0.1', ok));
    assert.equal((await get(srv.port, '/readyz')).status, 200);

    // the database gone: not ready, naming the store
    L.psql('postgres', `DROP DATABASE ${db} WITH (FORCE)`);
    const gone = await get(srv.port, '/readyz');
    assert.equal(gone.status, 503);
    assert.match(gone.body, /^store: /);
    assert.equal((await get(srv.port, '/healthz')).status, 200, 'alive all the same');
  } finally {
    relay.close();
    for (const s of socks) s.destroy();
    await srv.stop().catch((e) => console.log(String(e)));
    try { L.psql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`); } catch { /* best effort */ }
  }
});

test('readyz is 503 naming the model when a configured model did not load', async () => {
  const dir = L.tmpDir('cicada-ops-');
  const broken = path.join(dir, 'broken.bin');
  fs.writeFileSync(broken, 'not a whisper model');
  const srv = await L.startServer({ env: { CICADA_ENGINES: `16k_ja=whisper:${broken}:ja` } });
  try {
    const r = await get(srv.port, '/readyz');
    assert.equal(r.status, 503);
    assert.match(r.body, /^engine: EngineModelType 16k_ja: .*broken\.bin/);
    const m = (await get(srv.port, '/metrics')).body;
    assert.equal(sample(m, 'cicada_engine_model_failed', { engine: '16k_ja' }), 1);
    assert.equal(sample(m, 'cicada_engine_available', { engine: '16k_ja' }), 0);
    assert.equal(sample(m, 'cicada_engine_available', { engine: '16k_en' }), 1);
  } finally {
    await srv.stop();
  }
});

test('readyz is 503 when CICADA_ENGINES names a model that is not there, though a fallback serves the type', async () => {
  const missing = path.join(L.tmpDir('cicada-ops-'), 'ggml-base.en.bin');
  const srv = await L.startServer({ env: { CICADA_ENGINES: `16k_en=whisper:${missing}:en` } });
  try {
    const r = await get(srv.port, '/readyz');
    assert.equal(r.status, 503);
    assert.ok(r.body.startsWith(`engine: EngineModelType 16k_en: mapped to ${missing}: run \`cicada models pull base.en`), r.body);
    const m = (await get(srv.port, '/metrics')).body;
    assert.equal(sample(m, 'cicada_engine_available', { engine: '16k_en' }), 1, 'pocketsphinx serves it meanwhile');
    assert.equal(sample(m, 'cicada_engine_model_failed', { engine: '16k_en' }), 1);
    fs.writeFileSync(missing, '');   // a model appearing later is not picked up: still not ready until restarted
    assert.equal((await get(srv.port, '/readyz')).status, 503);
  } finally {
    await srv.stop();
  }
});

test('metrics: open to this machine, a bearer token from others', async () => {
  const ip = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  const srv = await L.startServer({ env: { CICADA_LISTEN: '0.0.0.0:0', CICADA_METRICS_TOKEN: 'scrape-token-123' } });
  try {
    assert.equal((await get(srv.port, '/metrics')).status, 200);
    if (!ip) {
      console.log('no non-loopback IPv4 address on this machine: the token is not tested');
      return;
    }
    const anon = await get(srv.port, '/metrics', { host: ip.address });
    assert.equal(anon.status, 401);
    assert.match(anon.body, /Authorization: Bearer/);
    const wrong = await get(srv.port, '/metrics', { host: ip.address, headers: { Authorization: 'Bearer scrape-token-124' } });
    assert.equal(wrong.status, 401);
    const ok = await get(srv.port, '/metrics', { host: ip.address, headers: { Authorization: 'Bearer scrape-token-123' } });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^# HELP cicada_build_info /);
    // health and readiness stay open to everyone
    assert.equal((await get(srv.port, '/healthz', { host: ip.address })).status, 200);
    assert.equal((await get(srv.port, '/readyz', { host: ip.address })).status, 200);
  } finally {
    await srv.stop();
  }
});

test('CICADA_LOG_FORMAT=json: one object per line, joined up by request, job and queue', { skip: !fs.existsSync(JFK) && 'no jfk.wav' }, async () => {
  const srv = await L.startServer({ env: { CICADA_LOG_FORMAT: 'json', CICADA_LOG: 'debug' } });
  let job;
  try {
    const cos = L.client(srv.port);
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', JFK);
    const sub = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: L.submitXml() });
    assert.equal(sub.status, 200, sub.body);
    job = await L.waitJob(cos, srv.port, L.tag(sub.body, 'JobId'));
    assert.equal(job.State, 'Success');
  } finally {
    await srv.stop();
  }
  const lines = srv.stderr().split('\n').filter(Boolean);
  const records = lines.map((l) => { try { return JSON.parse(l); } catch { assert.fail(`not JSON: ${l}`); } return null; });
  for (const r of records) {
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(r.level));
    assert.equal(typeof r.msg, 'string');
  }
  const mine = records.filter((r) => r.job_id === job.JobId);
  const running = mine.find((r) => r.state === 'Running');
  const done = mine.find((r) => r.state === 'Success');
  assert.ok(running && done, JSON.stringify(mine));
  assert.equal(running.queue, job.QueueId);
  assert.equal(running.engine, '16k_en');
  assert.equal(done.code, 'Success');
  assert.equal(typeof done.duration_ms, 'number');
  assert.ok(Math.abs(done.audio_seconds - Number(job.Operation.SpeechRecognitionResult.AudioTime)) < 0.01);
  // every answered request is a debug record with its request id, route, status and duration
  const submit = records.find((r) => r.route === 'job_submit');
  assert.ok(submit, 'the submit is logged');
  assert.match(submit.request_id, /^[0-9a-f]{32}$/);
  assert.equal(submit.status, 200);
  assert.equal(typeof submit.duration_ms, 'number');
  assert.equal(submit.job_id, undefined, 'a request thread carries no job');
});
