// api.test.js — every CI operation of the spec's section 1 that issue 2 covers, through the official
// Node SDK against a real `cicada serve`: buckets, queues, job submit/describe/list/cancel, paging,
// and the bad-request cases (right 4xx, the spec's error body, nothing created).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

let srv, cos;
const wav = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');

test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
});
test.after(async () => { await srv.stop(); });

async function defaultQueue() {
  const d = await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { pageNumber: '1', pageSize: '10' } });
  const list = [].concat(d.Response.QueueList);
  assert.equal(list.length, 1);
  return list[0];
}

async function expectError(promise, status, code) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.statusCode, status, JSON.stringify(err));
    assert.equal(err.code, code, JSON.stringify(err));
    return true;
  });
}

test('open ASR on a bucket creates its default queue; list and close buckets', async () => {
  const open = await L.ci(cos, srv.port, 'POST', '/asrbucket');
  assert.equal(open.Response.AsrBucket.BucketId, L.BUCKET);
  const q = await defaultQueue();
  assert.match(q.QueueId, /^p[0-9a-f]{32}$/);
  assert.equal(q.State, 'Active');
  assert.equal(q.MaxSize, '10000');
  assert.equal(q.MaxConcurrent, '10');
  assert.equal(q.Category, 'Speeching');
  assert.equal(q.BucketId, L.BUCKET);
  // opening again is idempotent: still one queue
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  assert.equal((await defaultQueue()).QueueId, q.QueueId);
  const list = await L.ci(cos, srv.port, 'GET', '/asrbucket', { query: { regions: L.REGION, pageNumber: '1', pageSize: '10' } });
  assert.equal(list.Response.TotalCount, '1');
  assert.equal(list.Response.AsrBucketList.BucketId, L.BUCKET);
  // empty parameters mean "not given" (the Python SDK sends them)
  const list2 = await L.ci(cos, srv.port, 'GET', '/asrbucket', { query: { regions: '', bucketNames: '', bucketName: '', pageNumber: '', pageSize: '' } });
  assert.equal(list2.Response.TotalCount, '1');
  // a second bucket on its own host name: open, list both, close it
  const other = 'second-1250000000';
  const host = `${other}.ci.${L.REGION}.myqcloud.com`;
  const r = await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host });
  assert.equal(r.status, 200, r.body);
  assert.equal(L.tag(r.body, 'BucketId'), other);
  const both = await L.ci(cos, srv.port, 'GET', '/asrbucket', { query: { pageSize: '10' } });
  assert.equal(both.Response.TotalCount, '2');
  // a submit first, so the server knows the bucket's queue when ASR is closed below
  assert.equal((await L.raw(srv.port, { method: 'PUT', pathname: '/in/jfk.wav', host, body: 'RIFF' })).status, 200);
  const first = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', host, body: L.submitXml() });
  assert.equal(first.status, 200, first.body);
  const del = await L.raw(srv.port, { method: 'DELETE', pathname: '/asrbucket', host });
  assert.equal(del.status, 200, del.body);
  const after = await L.ci(cos, srv.port, 'GET', '/asrbucket', { query: { pageSize: '10' } });
  assert.equal(after.Response.TotalCount, '1');
  // with ASR closed, the bucket takes no jobs
  const closed = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', host, body: L.submitXml() });
  assert.equal(closed.status, 404, closed.body);
  assert.equal(L.tag(closed.body, 'Code'), 'NoSuchBucket');
  // ... whatever else is wrong with the request: the closed bucket is named first
  const noInput = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', host,
    body: L.submitXml().replace('in/jfk.wav', 'in/missing.wav') });
  assert.equal(L.tag(noInput.body, 'Code'), 'NoSuchBucket', noInput.body);
  // reopened, it takes them again, on the same queue
  assert.equal((await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host })).status, 200);
  const again = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', host, body: L.submitXml() });
  assert.equal(again.status, 200, again.body);
  assert.equal(L.tag(again.body, 'QueueId'), L.tag(first.body, 'QueueId'));
});

// GET /asrbucket as the CI API defines it: bucketName a prefix search, bucketNames a comma list of
// full names, regions a comma list (or All); the three narrow together.
test('bucket list filters: a name prefix, a list of names, a list of regions', async () => {
  const names = ['qatest-1250000000', 'qaother-1250000000', 'prod-1250000000'];
  for (const b of names) {
    const r = await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host: `${b}.ci.${L.REGION}.myqcloud.com` });
    assert.equal(r.status, 200, r.body);
  }
  const ids = async (query) => {
    const r = await L.raw(srv.port, { pathname: '/asrbucket', query });
    assert.equal(r.status, 200, r.body);
    const got = [...r.body.matchAll(/<AsrBucketList><BucketId>([^<]*)</g)].map((m) => m[1]).sort();
    assert.equal(L.tag(r.body, 'TotalCount'), String(got.length), r.body);
    return got;
  };
  assert.deepEqual(await ids({ bucketName: 'qa' }), ['qaother-1250000000', 'qatest-1250000000']);
  assert.deepEqual(await ids({ bucketName: 'qatest-1250000000' }), ['qatest-1250000000']);
  assert.deepEqual(await ids({ bucketName: 'zz' }), []);
  assert.deepEqual(await ids({ bucketNames: 'qatest-1250000000,prod-1250000000' }), ['prod-1250000000', 'qatest-1250000000']);
  assert.deepEqual(await ids({ bucketNames: 'qatest-1250000000, prod-1250000000,' }), ['prod-1250000000', 'qatest-1250000000']);
  assert.deepEqual(await ids({ bucketNames: 'qa' }), [], 'bucketNames are whole names, not prefixes');
  assert.deepEqual(await ids({ bucketNames: 'qatest-1250000000,prod-1250000000', bucketName: 'qa' }), ['qatest-1250000000']);
  const all = await ids({});
  assert.ok(all.length >= 3);
  assert.deepEqual(await ids({ regions: `ap-guangzhou,${L.REGION}` }), all);
  assert.deepEqual(await ids({ regions: 'All' }), all);
  assert.deepEqual(await ids({ regions: 'ap-guangzhou,ap-beijing' }), []);
  assert.deepEqual(await ids({ regions: L.REGION, bucketName: 'prod' }), ['prod-1250000000']);
  for (const b of names)
    assert.equal((await L.raw(srv.port, { method: 'DELETE', pathname: '/asrbucket', host: `${b}.ci.${L.REGION}.myqcloud.com` })).status, 200);
});

// A client configured with an address only (Python IP=/Port=, Node Domain=) reaches the default
// bucket whatever Bucket= it names: closing ASR or deleting must name the bucket in the Host.
test('destructive calls never fall through to the default bucket', async () => {
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  for (const pathname of ['/asrbucket', '/in/never.wav', '/asrhotvocabtable/h0123', '/template/t1abc']) {
    const r = await L.raw(srv.port, { method: 'DELETE', pathname });
    assert.equal(r.status, 400, pathname + r.body);
    assert.equal(L.tag(r.body, 'Code'), 'InvalidRequest');
    assert.match(L.tag(r.body, 'Message'), /must name its bucket/);
    assert.match(L.tag(r.body, 'Message'), new RegExp(L.BUCKET));
  }
  // ASR is still open on the default bucket
  const list = await L.ci(cos, srv.port, 'GET', '/asrbucket', { query: { bucketNames: L.BUCKET } });
  assert.equal(list.Response.TotalCount, '1');
  // named in the Host, the same calls act (an unknown key is a 404 there, not a refusal)
  const gone = await L.raw(srv.port, { method: 'DELETE', pathname: '/in/never.wav', host: L.HOST });
  assert.notEqual(gone.status, 400, gone.body);
  // reads through the default bucket still work
  assert.equal((await L.raw(srv.port, { pathname: '/asrqueue' })).status, 200);
});

test('responses carry the headers clients rely on', async () => {
  const r = await L.raw(srv.port, { method: 'GET', pathname: '/asrqueue' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/xml');
  assert.ok(r.headers['content-length']);
  assert.match(r.headers['x-ci-request-id'], /^[0-9a-f]{32}$/);
  assert.ok(r.headers.server);
  assert.ok(r.headers.date);
});

test('queue update is stored and echoed exactly', async () => {
  const q = await defaultQueue();
  const body = `<Request><Name>queue-1</Name><QueueID>${q.QueueId}</QueueID><State>Active</State>` +
    '<NotifyConfig><Type>Url</Type><Url>http://hooks.example.com:9/cb</Url><Event>TaskFinish</Event><State>On</State>' +
    '<ResultFormat>JSON</ResultFormat></NotifyConfig></Request>';
  const d = await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body });
  const u = d.Response.Queue;
  assert.equal(u.Name, 'queue-1');
  assert.equal(u.State, 'Active');
  assert.deepEqual(u.NotifyConfig, { Url: 'http://hooks.example.com:9/cb', Event: 'TaskFinish', Type: 'Url', State: 'On', ResultFormat: 'JSON' });
  const again = await defaultQueue();
  assert.equal(again.Name, 'queue-1');
  assert.deepEqual(again.NotifyConfig, u.NotifyConfig);
  // QueueId spelling is accepted too; turn notifications back off
  const off = `<Request><Name>asr-queue</Name><QueueId>${q.QueueId}</QueueId><State>Active</State><NotifyConfig><State>Off</State></NotifyConfig></Request>`;
  const d2 = await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: off });
  assert.equal(d2.Response.Queue.NotifyConfig.State, 'Off');
  // filters: state and queueIds with an unknown id
  const paused = await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { state: 'Paused' } });
  assert.equal(paused.Response.TotalCount, '0');
  const byId = await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: `${q.QueueId},pdeadbeef` } });
  assert.equal(byId.Response.QueueList.QueueId, q.QueueId);
  assert.equal(byId.Response.NonExistPIDs.QueueID, 'pdeadbeef');
  // bad values are 400 and change nothing
  await expectError(L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><State>Sleeping</State></Request>' }), 400, 'InvalidArgument');
  await expectError(L.ci(cos, srv.port, 'PUT', '/asrqueue/pffffffffffffffffffffffffffffffff', { body: '<Request><State>Active</State></Request>' }), 400, 'InvalidArgument');
  assert.equal((await defaultQueue()).State, 'Active');
});

test('submit, describe (with unknown ids), list with filters and paging, cancel', async (t) => {
  L.skipUnless(fs.existsSync(wav), `no test audio at ${wav} (set CICADA_TESTDATA)`);
  await L.putFile(cos, 'in/jfk.wav', wav);
  const q = await defaultQueue();
  // pause the queue so jobs stay Submitted while we look at them
  await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: `<Request><Name>asr-queue</Name><State>Paused</State></Request>` });
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const d = await L.ci(cos, srv.port, 'POST', i % 2 ? '/jobs' : '/asr_jobs', {
      body: L.submitXml({ output: `out/${i}.txt`, extra: '<CallBack>no</CallBack>', sr: '<ResTextFormat>0</ResTextFormat>' })
        .replace('</Operation>', `<UserData>u${i}</UserData><JobLevel>${i % 3}</JobLevel></Operation>`),
    });
    const j = d.Response.JobsDetail;
    assert.match(j.JobId, /^s[0-9a-f]{32}$/);
    assert.equal(j.State, 'Submitted');
    assert.equal(j.Code, 'Success');
    assert.equal(j.QueueId, q.QueueId);
    assert.equal(j.StartTime, '-');
    assert.match(j.CreationTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/);
    assert.equal(j.Input.Object, 'in/jfk.wav');
    assert.equal(j.Input.BucketId, L.BUCKET);
    assert.equal(j.Operation.UserData, `u${i}`);
    assert.equal(j.Operation.JobLevel, String(i % 3));
    // parameters echoed with defaults filled in
    const sr = j.Operation.SpeechRecognition;
    assert.equal(sr.EngineModelType, '16k_en');
    assert.equal(sr.ChannelNum, '1');
    assert.equal(sr.FilterDirty, '0');
    assert.equal(sr.OutputFileType, 'txt');
    ids.push(j.JobId);
  }
  const desc = await L.ci(cos, srv.port, 'GET', `/asr_jobs/${ids[0]},${ids[1]},snotthere`);
  const jd = [].concat(desc.Response.JobsDetail);
  assert.deepEqual(jd.map((j) => j.JobId), [ids[0], ids[1]]);
  assert.equal(desc.Response.NonExistJobIds, 'snotthere');
  const alias = await L.ci(cos, srv.port, 'GET', `/jobs/${ids[2]}`);
  assert.equal(alias.Response.JobsDetail.JobId, ids[2]);
  const none = await L.ci(cos, srv.port, 'GET', '/asr_jobs/notfound');
  assert.equal(none.Response.NonExistJobIds, 'notfound');

  // paging, newest first, while jobs are being added between pages
  const seen = [];
  let token = '';
  let added = 0;
  do {
    const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { tag: 'SpeechRecognition', orderByTime: 'Desc', states: 'All', size: '3', nextToken: token, queueId: q.QueueId } });
    seen.push(...[].concat(d.Response.JobsDetail || []).map((j) => j.JobId));
    token = d.Response.NextToken || '';
    if (added < 2) {   // a concurrent insert must not shift the pages
      await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ output: 'out/extra.txt', extra: '<CallBack>no</CallBack>' }) });
      added++;
    }
  } while (token);
  assert.deepEqual(seen, [...ids].reverse());
  const asc = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { orderByTime: 'Asc', size: '2' } });
  assert.deepEqual([].concat(asc.Response.JobsDetail).map((j) => j.JobId), ids.slice(0, 2));
  assert.ok(asc.Response.NextToken);
  // states filter and time range
  const ok = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { states: 'Success,Failed', size: '10' } });
  assert.equal(ok.Response.JobsDetail, undefined);
  assert.equal(ok.Response.NextToken, '');
  const old = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { endCreationTime: '2020-08-21T00:00:00+0800' } });
  assert.equal(old.Response.JobsDetail, undefined);
  const recent = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { startCreationTime: '2020-08-20T00:00:00+0800', size: '100' } });
  assert.equal([].concat(recent.Response.JobsDetail).length, ids.length + added);

  // cancel a Submitted job (both paths and both spellings of the flag)
  await L.ci(cos, srv.port, 'PUT', `/jobs/${ids[0]}`, { query: { cancel: '' } });
  const r = await L.raw(srv.port, { method: 'PUT', pathname: `/asr_jobs/${ids[1]}`, query: { cancel: '' } });
  assert.equal(r.status, 200, r.body);
  const c = await L.ci(cos, srv.port, 'GET', `/asr_jobs/${ids[0]},${ids[1]}`);
  assert.deepEqual([].concat(c.Response.JobsDetail).map((j) => j.State), ['Cancel', 'Cancel']);
  const cancelled = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { states: 'Cancel', size: '10' } });
  assert.equal([].concat(cancelled.Response.JobsDetail).length, 2);
  // cancelling again is a client error
  await expectError(L.ci(cos, srv.port, 'PUT', `/jobs/${ids[0]}`, { query: { cancel: '' } }), 400, 'InvalidRequest');
  // resume the queue: jobs run again, highest JobLevel first (ids[2] and ids[5] have level 2)
  await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: `<Request><Name>asr-queue</Name><State>Active</State></Request>` });
  const done = await L.waitJob(cos, srv.port, ids[5]);
  assert.equal(done.State, 'Success', JSON.stringify(done));
  const first = await L.waitJob(cos, srv.port, ids[2]);
  assert.ok(first.StartTime <= done.StartTime || first.State === 'Success');
  const low = (await L.ci(cos, srv.port, 'GET', `/asr_jobs/${ids[3]}`)).Response.JobsDetail;
  assert.ok(low.State === 'Submitted' || low.StartTime >= done.StartTime, 'a level-0 job started before a level-2 one');
});

test('bad requests get the right 4xx with the full error body and create nothing', async () => {
  const before = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', states: 'All' } });
  const count = [].concat(before.Response.JobsDetail || []).length;
  const cases = [
    ['<Request><Tag>SpeechRecognition</Tag><Input>', 400, 'MalformedXML'],
    ['', 400, 'MalformedXML'],
    ['<Request><Tag>SpeechRecognition</Tag></Request>', 400, 'InvalidArgument'],
    [L.submitXml({ engine: '' }), 400, 'InvalidArgument'],
    [L.submitXml({ engine: '16k_klingon' }), 400, 'InvalidArgument'],
    [L.submitXml({ engine: '16k_ja' }), 400, 'InvalidArgument'],
    [L.submitXml({ object: 'in/missing.wav' }), 404, 'NoSuchKey'],
    [L.submitXml({ sr: '<ResTextFormat>9</ResTextFormat>' }), 400, 'InvalidArgument'],
    [L.submitXml({ sr: '<ChannelNum>x</ChannelNum>' }), 400, 'InvalidArgument'],
    [L.submitXml({ queueId: 'p00000000000000000000000000000000' }), 400, 'InvalidArgument'],
    [L.submitXml({ extra: '<CallBack>ftp://x/</CallBack>' }), 400, 'InvalidArgument'],
    [L.submitXml().replace('</Operation>', '<JobLevel>7</JobLevel></Operation>'), 400, 'InvalidArgument'],
    ['<!DOCTYPE r [<!ENTITY a "aaaa">]><Request>&a;</Request>', 400, 'MalformedXML'],
  ];
  for (const [body, status, code] of cases) {
    const r = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body, headers: { 'Content-Type': 'application/xml' } });
    assert.equal(r.status, status, `${body}\n${r.body}`);
    assert.equal(L.tag(r.body, 'Code'), code, r.body);
    for (const el of ['Message', 'Resource', 'RequestId', 'TraceId']) assert.ok(L.tag(r.body, el), `${el} in ${r.body}`);
    assert.equal(L.tag(r.body, 'Resource'), '/asr_jobs');
    assert.equal(r.headers['content-type'], 'application/xml');
  }
  // the missing engine says which one and how to install it
  const ja = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: L.submitXml({ engine: '16k_ja' }) });
  assert.match(L.tag(ja.body, 'Message'), /16k_ja/);
  assert.match(L.tag(ja.body, 'Message'), /install|CICADA_/);
  // oversize body
  const big = '<Request>' + 'x'.repeat(2 << 20) + '</Request>';
  const r = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: big });
  assert.equal(r.status, 400);
  assert.equal(L.tag(r.body, 'Code'), 'EntityTooLarge');
  const after = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', states: 'All' } });
  assert.equal([].concat(after.Response.JobsDetail || []).length, count);
  // bad list parameters
  for (const query of [{ size: '0' }, { size: '101' }, { nextToken: 'garbage!' }, { orderByTime: 'Sideways' }, { states: 'Sleeping' }, { startCreationTime: 'yesterday' }]) {
    const x = await L.raw(srv.port, { pathname: '/asr_jobs', query });
    assert.equal(x.status, 400, JSON.stringify(query) + x.body);
    assert.equal(L.tag(x.body, 'Code'), 'InvalidArgument');
  }
  const m = await L.raw(srv.port, { method: 'DELETE', pathname: '/asr_jobs', host: L.HOST });
  assert.equal(m.status, 405);
  assert.equal(L.tag(m.body, 'Code'), 'MethodNotAllowed');
});

test('signatures: unsigned, wrong key, wrong signature, expired, other appid are refused', async () => {
  const unsigned = await L.raw(srv.port, { pathname: '/asrqueue', signed: false });
  assert.equal(unsigned.status, 403);
  assert.equal(L.tag(unsigned.body, 'Code'), 'AccessDenied');
  const badKey = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { secretKey: 'WRONG' } });
  assert.equal(badKey.status, 403);
  assert.equal(L.tag(badKey.body, 'Code'), 'SignatureDoesNotMatch');
  const unknown = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { secretId: 'AKIDnobody' } });
  assert.equal(unknown.status, 403);
  assert.equal(L.tag(unknown.body, 'Code'), 'InvalidAccessKeyId');
  const old = Math.floor(Date.now() / 1000) - 7200;
  const expired = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { t0: old, t1: old + 600 } });
  assert.equal(expired.status, 403);
  // a tampered query parameter
  const auth = L.sign({ method: 'GET', pathname: '/asr_jobs', query: { size: '5' }, headers: { host: `127.0.0.1:${srv.port}` } });
  const tampered = await L.raw(srv.port, { pathname: '/asr_jobs', query: { size: '6' }, signed: false, headers: { Authorization: auth } });
  assert.equal(tampered.status, 403);
  assert.equal(L.tag(tampered.body, 'Code'), 'SignatureDoesNotMatch');
  // a key acts only on its own appid's buckets
  const foreign = await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host: 'other-1300000000.ci.ap-chongqing.myqcloud.com' });
  assert.equal(foreign.status, 403);
  assert.equal(L.tag(foreign.body, 'Code'), 'AccessDenied');
  // the Python SDK's habit: Host sent with a port, signed without it
  const pyAuth = L.sign({ method: 'GET', pathname: '/asrqueue', headers: { host: `${L.BUCKET}.ci.ap-chongqing.myqcloud.com` } });
  const py = await L.raw(srv.port, { pathname: '/asrqueue', host: `${L.BUCKET}.ci.ap-chongqing.myqcloud.com:${srv.port}`, signed: false, headers: { Authorization: pyAuth } });
  assert.equal(py.status, 200, py.body);
  // signature in the query string
  const qAuth = new URLSearchParams(L.sign({ method: 'GET', pathname: '/asrqueue', headers: { host: `127.0.0.1:${srv.port}` } }));
  const viaQuery = await L.raw(srv.port, { pathname: '/asrqueue', query: Object.fromEntries(qAuth), signed: false });
  assert.equal(viaQuery.status, 200, viaQuery.body);
});
