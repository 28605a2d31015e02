// multinode.test.js — three `cicada serve` processes (two `all`, one `worker`) sharing one PostgreSQL
// database and one S3-compatible store (s3rver), started by CTest's pg_server and s3_server
// fixtures. The Node SDK submits 300 short real jobs spread over both API nodes; mid-run the worker
// node is killed with SIGKILL and one `all` node is stopped (SIGSTOP) past its lease, then resumed.
// Checked: every accepted job ends Success exactly once (one "Success" log line over all nodes),
// with an output object equal to a single-node (SQLite, files) run's; none is left Running;
// MaxConcurrent 2 is never exceeded cluster-wide (sampled while running); a Paused queue starts
// nothing on any node; every job's callback arrives at least once, also for jobs whose node died and
// for those that ended while the receiver was down; listing with NextToken is stable while another
// node inserts.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const PG = L.TEST_PG;
const { psql, s3Endpoint, createS3Bucket } = L;
L.skipUnless(PG, 'CICADA_TEST_PG is not set (the pg_server fixture provides it)');
L.skipUnless(L.haveS3(), 'no s3rver (the s3_server fixture provides CICADA_TEST_S3_DIR)');
// short real speech (spoken digits, 0.6 s each) keeps 350 jobs on 2 cores within a few minutes
const clipDir = path.join(L.TESTDATA, '8k', 'fsdd');
const CLIPS = ['0_george_1.wav', '0_george_2.wav'].map((f) => path.join(clipDir, f));
L.skipUnless(CLIPS.every((f) => fs.existsSync(f)), `no test audio in ${clipDir}`);

const JOBS = 300;             // on the default bucket's queue (MaxConcurrent 10)
const CAPPED_JOBS = 20;       // on a queue capped at MAX_CONCURRENT, sampled while it works
const LEASE_S = 3;
const MAX_CONCURRENT = 2;
const PAUSED_BUCKET = `pausedbucket-${L.APPID}`;
const CAPPED_BUCKET = `cappedbucket-${L.APPID}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One psql kept open for the frequent samples (a process per query would cost a core's quarter).
function psqlSession(db) {
  // stdbuf: psql buffers its output when it is not a terminal
  const p = spawn('stdbuf', ['-o0', 'psql', `${PG} dbname=${db}`, '-XAtq', '-v', 'ON_ERROR_STOP=1'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let waiting = null;
  p.stdout.on('data', (d) => {
    out += d;
    const end = out.indexOf('__END__\n');
    if (end >= 0 && waiting) {
      const text = out.slice(0, end).trim();
      out = out.slice(end + 8);
      const w = waiting;
      waiting = null;
      w(text);
    }
  });
  let chain = Promise.resolve();   // one query at a time: answers come back in order
  const ask = (sql) => new Promise((resolve) => { waiting = resolve; p.stdin.write(`${sql};\n\\echo __END__\n`); });
  return {
    query: (sql) => { const r = chain.then(() => ask(sql)); chain = r; return r; },
    close: () => p.stdin.end(),
  };
}

// A callback receiver that can go down and come back on the same port.
function receiver() {
  const got = new Map();   // JobId -> count
  const handler = (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const id = L.tag(body, 'JobId');
      if (id) got.set(id, (got.get(id) || 0) + 1);
      res.end('ok');
    });
  };
  let server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    resolve({
      port, got,
      down: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      up: () => new Promise((r) => { server = http.createServer(handler); server.listen(port, '127.0.0.1', r); }),
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    });
  }));
}

// A CI call for another bucket than the default: signed, with a Host naming that bucket.
async function ciFor(port, bucket, method, pathname, body) {
  const r = await L.raw(port, { method, pathname, host: `${bucket}.ci.${L.REGION}.myqcloud.com`, body });
  assert.ok(r.status < 300, `${method} ${pathname} on ${bucket}: ${r.status} ${r.body}`);
  return r.body;
}

async function getObjectFor(port, bucket, key) {
  const r = await L.raw(port, { pathname: `/${key}`, host: `${bucket}.cos.${L.REGION}.myqcloud.com` });
  assert.equal(r.status, 200, `${bucket}/${key}: ${r.body}`);
  return r.body;
}

async function putObjectFor(port, bucket, key, file) {
  const r = await L.raw(port, { method: 'PUT', pathname: `/${key}`, host: `${bucket}.cos.${L.REGION}.myqcloud.com`,
    body: fs.readFileSync(file) });
  assert.equal(r.status, 200, r.body);
}

const submitBody = (object, output, callback, bucket = L.BUCKET) =>
  `<Request><Tag>SpeechRecognition</Tag><Input><Object>${object}</Object></Input><Operation><SpeechRecognition>` +
  `<EngineModelType>16k_en</EngineModelType></SpeechRecognition><Output><Region>${L.REGION}</Region><Bucket>${bucket}</Bucket>` +
  `<Object>${output}</Object></Output></Operation><CallBack>${callback}</CallBack></Request>`;

// Output objects of one clip as a single-node (SQLite + files) server writes them.
async function singleNodeOutputs() {
  const srv = await L.startServer();
  const cos = L.client(srv.port);
  try {
    const out = [];
    for (let i = 0; i < CLIPS.length; i++) {
      await L.putFile(cos, `in/${i}.wav`, CLIPS[i]);
      const id = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: `in/${i}.wav`, output: `out/${i}.txt` }) })).Response.JobsDetail.JobId;
      const job = await L.waitJob(cos, srv.port, id);
      assert.equal(job.State, 'Success', JSON.stringify(job));
      out.push({ txt: String((await L.getObject(cos, `out/${i}.txt`)).Body), detail: String((await L.getObject(cos, `out/${i}.txt.detail`)).Body) });
    }
    return out;
  } finally {
    await srv.stop();
  }
}

test('three nodes on PostgreSQL + S3: kill -9, SIGSTOP past the lease, nothing lost or doubled', { timeout: 840000 }, async () => {
  const expected = await singleNodeOutputs();

  const db = `cicada_mn_${process.pid}`;
  psql('postgres', `CREATE DATABASE ${db}`);
  const s3bucket = `mn-${process.pid}`;
  await createS3Bucket(s3bucket);
  const cb = await receiver();
  const env = {
    CICADA_DATABASE_URL: `${PG} dbname=${db}`,
    CICADA_S3_ENDPOINT: s3Endpoint(), CICADA_S3_BUCKET: s3bucket, CICADA_S3_PREFIX: 'cicada/',
    CICADA_S3_ACCESS_KEY: 'S3RVER', CICADA_S3_SECRET_KEY: 'S3RVER',
    CICADA_JOB_LEASE: String(LEASE_S), CICADA_URL_ALLOW_PRIVATE: 'yes', CICADA_WORKERS: '2',
  };
  const logs = {};
  const nodes = {};
  for (const [name, role] of [['a', 'all'], ['b', 'all'], ['w', 'worker']]) {
    nodes[name] = await L.startServer({ env: { ...env, CICADA_ROLE: role, CICADA_NODE_ID: `node-${name}` } });
    logs[name] = () => nodes[name].stderr();
  }
  const { a, b, w } = nodes;
  const cosA = L.client(a.port), cosB = L.client(b.port);
  try {
    // a worker node answers a health check and nothing else
    const health = await L.raw(w.port, { pathname: '/health', signed: false });
    assert.equal(health.status, 200);
    assert.equal((await L.raw(w.port, { pathname: '/asr_jobs' })).status, 404);

    await L.ci(cosA, a.port, 'POST', '/asrbucket');
    for (let i = 0; i < CLIPS.length; i++) await L.putFile(cosB, `in/${i}.wav`, CLIPS[i]);   // through B, read by all
    // a queue capped at MAX_CONCURRENT (an operator's setting the API does not expose)
    await ciFor(a.port, CAPPED_BUCKET, 'POST', '/asrbucket');
    await putObjectFor(b.port, CAPPED_BUCKET, 'in/0.wav', CLIPS[0]);
    const cappedQueue = L.tag(await ciFor(a.port, CAPPED_BUCKET, 'GET', '/asrqueue'), 'QueueId');
    psql(db, `UPDATE queues SET max_concurrent = ${MAX_CONCURRENT} WHERE id = '${cappedQueue}'`);

    // a paused queue on another bucket: its jobs must not start anywhere
    await ciFor(a.port, PAUSED_BUCKET, 'POST', '/asrbucket');
    await putObjectFor(a.port, PAUSED_BUCKET, 'in/p.wav', CLIPS[0]);
    const pq = L.tag(await ciFor(a.port, PAUSED_BUCKET, 'GET', '/asrqueue'), 'QueueId');
    await ciFor(a.port, PAUSED_BUCKET, 'PUT', `/asrqueue/${pq}`, '<Request><Name>p</Name><State>Paused</State></Request>');
    const pausedJobs = [];
    for (let i = 0; i < 4; i++) {
      const body = `<Request><Tag>SpeechRecognition</Tag><Input><Object>in/p.wav</Object></Input><Operation><SpeechRecognition>` +
        `<EngineModelType>16k_en</EngineModelType></SpeechRecognition><Output><Region>${L.REGION}</Region><Bucket>${PAUSED_BUCKET}</Bucket>` +
        `<Object>out/p${i}.txt</Object></Output></Operation></Request>`;
      pausedJobs.push(L.tag(await ciFor(i % 2 ? b.port : a.port, PAUSED_BUCKET, 'POST', '/asr_jobs', body), 'JobId'));
    }

    // 300 jobs over both API nodes, each with a callback, and the capped queue's
    const cbUrl = `http://127.0.0.1:${cb.port}/cb`;
    const ids = [];
    const clipOf = new Map();   // JobId -> { clip, bucket, key }
    const capped = [];
    for (let k = 0; k < CAPPED_JOBS; k++) {
      const key = `out/c${k}.txt`;
      const id = L.tag(await ciFor(k % 2 ? b.port : a.port, CAPPED_BUCKET, 'POST', '/asr_jobs',
        submitBody('in/0.wav', key, cbUrl, CAPPED_BUCKET)), 'JobId');
      capped.push(id);
      clipOf.set(id, { clip: 0, bucket: CAPPED_BUCKET, key });
    }
    for (let i = 0; i < JOBS; i += 10) {
      const batch = [];
      for (let k = i; k < i + 10; k++) {
        const clip = k % CLIPS.length;
        const [cos, port] = k % 2 ? [cosB, b.port] : [cosA, a.port];
        batch.push(L.ci(cos, port, 'POST', '/asr_jobs', { body: submitBody(`in/${clip}.wav`, `out/${k}.txt`, cbUrl) })
          .then((d) => { const id = d.Response.JobsDetail.JobId; ids[k] = id; clipOf.set(id, { clip, bucket: L.BUCKET, key: `out/${k}.txt` }); }));
      }
      await Promise.all(batch);
    }
    assert.equal(new Set(ids).size, JOBS);

    // listing with NextToken while the other node inserts: no job twice, none of the existing missed
    const listed = new Set();
    const inserting = (async () => {
      for (let k = 0; k < 10; k++) {
        const d = await L.ci(cosB, b.port, 'POST', '/asr_jobs', { body: submitBody('in/0.wav', `out/extra${k}.txt`, cbUrl) });
        const id = d.Response.JobsDetail.JobId;
        ids.push(id);
        clipOf.set(id, { clip: 0, bucket: L.BUCKET, key: `out/extra${k}.txt` });
      }
    })();
    let token;
    let page = 0;
    do {
      // the pages alternate between the API nodes: a NextToken of one node pages on the other
      const [cos, port] = page++ % 2 ? [cosB, b.port] : [cosA, a.port];
      const d = await L.ci(cos, port, 'GET', '/asr_jobs', { query: { size: '17', orderByTime: 'Asc', ...(token ? { nextToken: token } : {}) } });
      for (const j of [].concat(d.Response.JobsDetail || [])) {
        assert.ok(!listed.has(j.JobId), `job ${j.JobId} listed twice`);
        listed.add(j.JobId);
      }
      token = d.Response.NextToken;
    } while (token);
    await inserting;
    for (const id of ids.slice(0, JOBS)) assert.ok(listed.has(id), `job ${id} missing from the listing`);

    // sample Running jobs of the capped queue while the cluster works; kill, stop, bring the receiver down
    const deadline = Date.now() + 400000;
    let maxRunning = 0;
    let sampling = true;
    const sql = psqlSession(db);
    const sampler = (async () => {
      while (sampling) {
        const n = Number(await sql.query(`SELECT count(*) FROM jobs WHERE queue_id = '${cappedQueue}' AND state = 1`));
        maxRunning = Math.max(maxRunning, n);
        await sleep(50);
      }
    })();
    ids.push(...capped);
    let done = 0;
    const doneCount = () => done;
    const counter = (async () => {
      while (sampling) {
        done = Number(await sql.query('SELECT count(*) FROM jobs WHERE state = 2'));
        await sleep(300);
      }
    })();
    const total = ids.length;
    while (doneCount() < total / 4) {
      assert.ok(Date.now() < deadline, `only ${doneCount()} of ${total} jobs ended`);
      await sleep(100);
    }
    await w.kill9();
    await cb.down();
    process.kill(b.proc.pid, 'SIGSTOP');
    await sleep((LEASE_S + 2) * 1000);
    process.kill(b.proc.pid, 'SIGCONT');
    await sleep(2000);
    await cb.up();

    while (doneCount() < total) {
      assert.ok(Date.now() < deadline, `only ${doneCount()} of ${total} jobs ended`);
      await sleep(500);
    }
    sampling = false;
    await sampler;
    await counter;
    sql.close();
    assert.ok(maxRunning <= MAX_CONCURRENT, `${maxRunning} jobs of the queue ran at once (MaxConcurrent ${MAX_CONCURRENT})`);
    assert.ok(maxRunning >= 1);

    // every job Success; its output equal to the single-node run's; ended exactly once
    const allLogs = logs.a() + logs.b() + logs.w();
    for (const id of ids) {
      const { clip, bucket, key } = clipOf.get(id);
      assert.equal(L.tag(await ciFor(a.port, bucket, 'GET', `/asr_jobs/${id}`), 'State'), 'Success', id);
      assert.equal(await getObjectFor(b.port, bucket, key), expected[clip].txt, `${bucket}/${key}`);
      assert.equal(await getObjectFor(a.port, bucket, `${key}.detail`), expected[clip].detail, `${bucket}/${key}.detail`);
      const ended = allLogs.split('\n').filter((l) => l.includes(`job ${id} Success`)).length;
      assert.equal(ended, 1, `job ${id} ended ${ended} times`);
    }
    assert.equal(Number(psql(db, 'SELECT count(*) FROM jobs WHERE state = 1')), 0, 'jobs left Running');
    // the jobs the killed node held were taken over (attempt 2 or later)
    assert.ok(Number(psql(db, `SELECT count(*) FROM jobs WHERE attempts > 1`)) >= 1, 'no job was taken over');

    // the paused queue started nothing; resumed, its jobs run
    for (const id of pausedJobs) {
      assert.equal(L.tag(await ciFor(a.port, PAUSED_BUCKET, 'GET', `/asr_jobs/${id}`), 'State'), 'Submitted');
    }
    await ciFor(a.port, PAUSED_BUCKET, 'PUT', `/asrqueue/${pq}`, '<Request><Name>p</Name><State>Active</State></Request>');
    for (const id of pausedJobs) {
      const end = Date.now() + 60000;
      let state;
      while ((state = L.tag(await ciFor(b.port, PAUSED_BUCKET, 'GET', `/asr_jobs/${id}`), 'State')) !== 'Success') {
        assert.ok(Date.now() < end, `paused-queue job ${id} is ${state} after resuming`);
        await sleep(300);
      }
    }

    // callbacks: every job's at least once, the down receiver's included
    const cbDeadline = Date.now() + 120000;
    while (ids.some((id) => !cb.got.has(id)) && Date.now() < cbDeadline) await sleep(500);
    const missing = ids.filter((id) => !cb.got.has(id));
    assert.deepEqual(missing, [], `${missing.length} callbacks never arrived`);
    assert.equal(Number(psql(db, 'SELECT count(*) FROM outbox')), 0, 'callbacks left in the outbox');
  } finally {
    await cb.close();
    for (const n of [a, b]) await n.stop().catch((e) => { console.log(String(e)); });
    try { psql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`); } catch (e) { /* best effort */ }
  }
});
