// hotvocab.test.js — hot-vocabulary tables (issue 3) against a real `cicada serve`: every operation
// with raw signed requests (create, get, update by the body's TableId, the Python SDK's list request
// with offset/limit, delete), the same answers parsed by the official Node SDK, every validation
// error (a 4xx naming the field, and nothing changed), bucket isolation, and jobs: an unknown table
// is refused at submit, a table's words reach the engine in weight order (the server's debug log
// shows the hot words it passes), and a table deleted before its job runs fails the job with
// HotVocabularyTableNotFound.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

let srv, cos;
const wav = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const OTHER = 'second-1250000000';
const OTHER_HOST = `${OTHER}.ci.${L.REGION}.myqcloud.com`;

test.before(async () => {
  srv = await L.startServer({ env: { CICADA_LOG: 'debug' } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  // an input object for submits that must be refused before any audio is read
  await new Promise((resolve, reject) => cos.putObject({ Bucket: L.BUCKET, Region: L.REGION, Key: 'in/stub.wav',
    Body: Buffer.from('stub') }, (err) => (err ? reject(err) : resolve())));
});
test.after(async () => { await srv.stop(); });

const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unesc = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

// A <Request> body: fields in order, words as repeated VocabularyWeights (as the Python SDK sends).
function tableXml({ id, name, desc, words, str } = {}) {
  let x = '<Request>';
  if (id !== undefined) x += `<TableId>${xmlEsc(id)}</TableId>`;
  if (name !== undefined) x += `<TableName>${xmlEsc(name)}</TableName>`;
  if (desc !== undefined) x += `<TableDescription>${xmlEsc(desc)}</TableDescription>`;
  for (const w of words || []) {
    x += '<VocabularyWeights>';
    if (w[0] !== undefined) x += `<Vocabulary>${xmlEsc(w[0])}</Vocabulary>`;
    if (w[1] !== undefined) x += `<Weight>${w[1]}</Weight>`;
    x += '</VocabularyWeights>';
  }
  if (str !== undefined) x += `<VocabularyWeightStr>${str}</VocabularyWeightStr>`;
  return x + '</Request>';
}

// The VocabularyWeights of one table's XML, as [word, weight] pairs.
function wordsOf(xml) {
  return [...xml.matchAll(/<VocabularyWeights><Vocabulary>([\s\S]*?)<\/Vocabulary><Weight>(\d+)<\/Weight><\/VocabularyWeights>/g)]
    .map((m) => [unesc(m[1]), Number(m[2])]);
}

const req = (opts) => L.raw(srv.port, { headers: opts.body !== undefined ? { 'Content-Type': 'application/xml' } : {}, ...opts });
const create = (body, host) => req({ method: 'POST', pathname: '/asrhotvocabtable', body, host });
const update = (body, host, pathname = '/asrhotvocabtable') => req({ method: 'PUT', pathname, body, host });
const get = (id, host) => req({ pathname: `/asrhotvocabtable/${id}`, host });
const del = (id, host = L.HOST) => req({ method: 'DELETE', pathname: `/asrhotvocabtable/${id}`, host });
const list = (query = {}, host) => req({ pathname: '/asrhotvocabtable', query, host });

async function createOk(fields, host) {
  const r = await create(tableXml(fields), host);
  assert.equal(r.status, 200, r.body);
  return L.tag(r.body, 'TableId');
}

function assertError(r, status, code, fieldRe) {
  assert.equal(r.status, status, r.body);
  assert.equal(L.tag(r.body, 'Code'), code, r.body);
  for (const el of ['Message', 'Resource', 'RequestId', 'TraceId']) assert.ok(L.tag(r.body, el), `${el} in ${r.body}`);
  if (fieldRe) assert.match(unesc(L.tag(r.body, 'Message')), fieldRe);
  assert.equal(r.headers['content-type'], 'application/xml');
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/;

test('create, get, update, list (Python SDK shape) and delete', async () => {
  const words = [['Cicada', 5], ['腾讯云', 100], ['AT&T', 11], ['speech recognition', 1]];
  const r = await create(tableXml({ name: 'names', desc: 'people & places', words }));
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['content-type'], 'application/xml');
  assert.match(L.tag(r.body, 'RequestId'), /^[0-9a-f]{32}$/);
  const id = L.tag(r.body, 'TableId');
  assert.match(id, /^h[0-9a-f]{32}$/);
  assert.equal(L.tag(r.body, 'TableName'), 'names');
  assert.equal(unesc(L.tag(r.body, 'TableDescription')), 'people & places');
  assert.deepEqual(wordsOf(r.body), words);
  assert.match(L.tag(r.body, 'CreateTime'), TIME);
  assert.equal(L.tag(r.body, 'UpdateTime'), L.tag(r.body, 'CreateTime'));

  const g = await get(id);
  assert.equal(g.status, 200, g.body);
  assert.equal(L.tag(g.body, 'TableId'), id);
  assert.deepEqual(wordsOf(g.body), words);
  // the official SDK parses the same answer: repeated elements become an array
  const sdk = await L.ci(cos, srv.port, 'GET', `/asrhotvocabtable/${id}`);
  assert.equal(sdk.Response.TableName, 'names');
  assert.deepEqual(sdk.Response.VocabularyWeights.map((w) => [w.Vocabulary, Number(w.Weight)]), words);

  // update: only the name given, the rest stays
  await new Promise((res) => setTimeout(res, 1100));   // UpdateTime has second resolution
  const u1 = await update(tableXml({ id, name: 'renamed' }));
  assert.equal(u1.status, 200, u1.body);
  assert.equal(L.tag(u1.body, 'TableName'), 'renamed');
  assert.equal(unesc(L.tag(u1.body, 'TableDescription')), 'people & places');
  assert.deepEqual(wordsOf(u1.body), words);
  assert.equal(L.tag(u1.body, 'CreateTime'), L.tag(r.body, 'CreateTime'));
  assert.notEqual(L.tag(u1.body, 'UpdateTime'), L.tag(r.body, 'UpdateTime'));
  // VocabularyWeightStr (base64 "word|weight" lines, CRLF tolerated) wins over VocabularyWeights
  const str = Buffer.from('alpha|5\r\n  beta gamma | 100 \r\n\r\nδέλτα|11\n').toString('base64');
  const u2 = await update(tableXml({ id, desc: '', words: [['ignored', 3]], str }));
  assert.equal(u2.status, 200, u2.body);
  assert.deepEqual(wordsOf(u2.body), [['alpha', 5], ['beta gamma', 100], ['δέλτα', 11]]);
  assert.equal(L.tag(u2.body, 'TableDescription'), '');
  assert.equal(L.tag(u2.body, 'TableName'), 'renamed');
  // an empty VocabularyWeightStr is "not given": VocabularyWeights then count
  const u3 = await update(tableXml({ id, words: [['one', 1], ['two', 2]], str: '' }));
  assert.deepEqual(wordsOf(u3.body), [['one', 1], ['two', 2]]);
  // the id may also come in the path
  const u4 = await update(tableXml({ name: 'by-path' }), undefined, `/asrhotvocabtable/${id}`);
  assert.equal(u4.status, 200, u4.body);
  assert.equal(L.tag((await get(id)).body, 'TableName'), 'by-path');
  // through the SDK too
  const u5 = await L.ci(cos, srv.port, 'PUT', '/asrhotvocabtable', { body: tableXml({ id, name: 'sdk' }) });
  assert.equal(u5.Response.TableName, 'sdk');

  // list: the Python SDK's request (offset=0&limit=10, both signed)
  const id2 = await createOk({ name: 'second', words: [['x', 1]] });
  const l = await list({ offset: '0', limit: '10' });
  assert.equal(l.status, 200, l.body);
  assert.equal(L.tag(l.body, 'TotalCount'), '2');
  const items = [...l.body.matchAll(/<HotVocabularyTable>([\s\S]*?)<\/HotVocabularyTable>/g)].map((m) => m[1]);
  assert.deepEqual(items.map((x) => L.tag(x, 'TableId')), [id, id2]);   // oldest first
  assert.deepEqual(wordsOf(items[0]), [['one', 1], ['two', 2]]);
  assert.deepEqual(wordsOf(items[1]), [['x', 1]]);
  const page = await list({ offset: '1', limit: '1' });
  assert.equal(L.tag(page.body, 'TotalCount'), '2');
  assert.deepEqual([...page.body.matchAll(/<TableId>(\w+)<\/TableId>/g)].map((m) => m[1]), [id2]);
  const past = await list({ offset: '5' });
  assert.equal(L.tag(past.body, 'TotalCount'), '2');
  assert.equal(L.tag(past.body, 'HotVocabularyTable'), null);
  const empty = await list({ offset: '', limit: '' });   // empty parameters mean "not given"
  assert.equal(L.tag(empty.body, 'TotalCount'), '2');
  const viaSdk = await L.ci(cos, srv.port, 'GET', '/asrhotvocabtable', { query: { offset: '0', limit: '10' } });
  assert.deepEqual([].concat(viaSdk.Response.HotVocabularyTable).map((t) => t.TableId), [id, id2]);

  // delete: 200 with an empty body, then it is gone
  const d = await del(id2);
  assert.equal(d.status, 200, d.body);
  assert.equal(d.body, '');
  assertError(await get(id2), 404, 'NoSuchHotVocabularyTable', new RegExp(id2));
  assertError(await del(id2), 404, 'NoSuchHotVocabularyTable');
  assert.equal(L.tag((await list()).body, 'TotalCount'), '1');
  await del(id);
  assert.equal(L.tag((await list()).body, 'TotalCount'), '0');
});

test('the limits: 10 Chinese or 30 other characters, weights 1-11 and 100, 1000 words', async () => {
  const edge = [['腾讯云语音识别测试一', 1], ['a'.repeat(30), 11], ['é'.repeat(30), 100], ['ゆ'.repeat(30), 7]];
  const id = await createOk({ name: 'n'.repeat(255), desc: 'd'.repeat(1000), words: edge });
  assert.deepEqual(wordsOf((await get(id)).body), edge);
  const many = Array.from({ length: 1000 }, (_, i) => [`w${i}`, (i % 11) + 1]);
  const big = await createOk({ name: 'big', words: many });
  assert.deepEqual(wordsOf((await get(big)).body), many);
  await del(id);
  await del(big);
});

test('bad requests get a 4xx naming the field and change nothing', async () => {
  const id = await createOk({ name: 'keep', desc: 'kept', words: [['stay', 5]] });
  const before = (await get(id)).body.replace(/<RequestId>\w+<\/RequestId>/, '');
  const b64 = (s) => Buffer.from(s).toString('base64');
  const badTables = [
    [{ words: [['a', 1]] }, /TableName/],
    [{ name: '', words: [['a', 1]] }, /TableName/],
    [{ name: 'n'.repeat(256), words: [['a', 1]] }, /TableName/],
    [{ name: 'n', desc: 'd'.repeat(1001), words: [['a', 1]] }, /TableDescription/],
    [{ name: 'n' }, /VocabularyWeights/],
    [{ name: 'n', words: [['', 1]] }, /VocabularyWeights\[1\]\/Vocabulary/],
    [{ name: 'n', words: [[undefined, 1]] }, /VocabularyWeights\[1\]\/Vocabulary/],
    [{ name: 'n', words: [['ok', 1], ['腾讯云语音识别测试一二', 1]] }, /VocabularyWeights\[2\]\/Vocabulary.*10/],
    [{ name: 'n', words: [['a'.repeat(31), 1]] }, /VocabularyWeights\[1\]\/Vocabulary.*30/],
    [{ name: 'n', words: [['GPT模型', 1], ['模型GPT模型GPT模型', 1]] }, /VocabularyWeights\[2\].*10/],
    [{ name: 'n', words: [['a', 0]] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', 12]] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', 50]] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', '5.5']] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', '-1']] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', 'ten']] }, /VocabularyWeights\[1\]\/Weight/],
    [{ name: 'n', words: [['a', undefined]] }, /VocabularyWeights\[1\]\/Weight is required/],
    [{ name: 'n', words: [['a', 1], ['b', 2], ['a', 3]] }, /VocabularyWeights\[3\]\/Vocabulary "a" appears more than once/],
    [{ name: 'n', words: Array.from({ length: 1001 }, (_, i) => [`w${i}`, 1]) }, /1000/],
    [{ name: 'n', str: 'not*base64!' }, /VocabularyWeightStr.*base64/],
    [{ name: 'n', str: 'YWJj=ZGVm' }, /VocabularyWeightStr.*base64/],
    [{ name: 'n', str: b64('a|1\nno-bar\n') }, /VocabularyWeightStr line 2/],
    [{ name: 'n', str: b64('a|1\nb|13\n') }, /VocabularyWeightStr line 2\/Weight/],
    [{ name: 'n', str: b64('a|1\r\na|2\r\n') }, /VocabularyWeightStr line 2\/Vocabulary "a" appears more than once/],
    [{ name: 'n', str: b64('\n\r\n') }, /1 to 1000/],
    [{ name: 'n', str: Buffer.from([0x61, 0xff, 0x7c, 0x31]).toString('base64') }, /line 1\/Vocabulary.*UTF-8/],
    [{ name: 'n', str: b64('a\tb|1') }, /line 1\/Vocabulary.*control/],
  ];
  for (const [fields, re] of badTables) {
    assertError(await create(tableXml(fields)), 400, 'InvalidArgument', re);
    // as an update of an existing table the same fields are refused just the same (an update needs
    // neither a name nor words, so those two create-only cases are left out)
    const createOnly = /TableName/.test(String(re)) || (!fields.words && !fields.str);
    if (!createOnly) assertError(await update(tableXml({ ...fields, id })), 400, 'InvalidArgument', re);
  }
  assertError(await create('<Request><TableName>x'), 400, 'MalformedXML');
  assertError(await create(''), 400, 'MalformedXML');
  // updates: no id, unknown id, ids that disagree
  assertError(await update(tableXml({ name: 'x' })), 400, 'InvalidArgument', /TableId is required/);
  assertError(await update(tableXml({ id: 'h00000000000000000000000000000000', name: 'x' })), 404, 'NoSuchHotVocabularyTable');
  assertError(await update(tableXml({ id, name: 'x' }), undefined, '/asrhotvocabtable/hffff'), 400, 'InvalidArgument', /differs/);
  assertError(await update(tableXml({ id, name: '' })), 400, 'InvalidArgument', /TableName/);
  // reads of unknown ids, bad list parameters, wrong methods
  assertError(await get('hnothere'), 404, 'NoSuchHotVocabularyTable', /hnothere/);
  assertError(await del('hnothere'), 404, 'NoSuchHotVocabularyTable');
  for (const query of [{ limit: '0' }, { limit: '101' }, { offset: '-1' }, { offset: 'x' }, { limit: '5x' }]) {
    assertError(await list(query), 400, 'InvalidArgument', new RegExp(Object.keys(query)[0]));
  }
  assertError(await req({ method: 'POST', pathname: `/asrhotvocabtable/${id}`, body: tableXml({ name: 'x', words: [['a', 1]] }) }), 405, 'MethodNotAllowed');
  assertError(await req({ method: 'DELETE', pathname: '/asrhotvocabtable', host: L.HOST }), 405, 'MethodNotAllowed');

  // nothing changed
  assert.equal((await get(id)).body.replace(/<RequestId>\w+<\/RequestId>/, ''), before);
  assert.equal(L.tag((await list()).body, 'TotalCount'), '1');
  await del(id);
});

test('tables belong to their bucket, which must have ASR open', async () => {
  // ASR not open on the other bucket yet: every operation says so
  assertError(await create(tableXml({ name: 'n', words: [['a', 1]] }), OTHER_HOST), 404, 'NoSuchBucket', /asrbucket/);
  assertError(await list({}, OTHER_HOST), 404, 'NoSuchBucket');
  const open = await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host: OTHER_HOST });
  assert.equal(open.status, 200, open.body);
  const theirs = await createOk({ name: 'theirs', words: [['a', 1]] }, OTHER_HOST);
  const ours = await createOk({ name: 'ours', words: [['b', 2]] });
  assertError(await get(theirs), 404, 'NoSuchHotVocabularyTable');
  assertError(await update(tableXml({ id: theirs, name: 'stolen' })), 404, 'NoSuchHotVocabularyTable');
  assertError(await del(theirs), 404, 'NoSuchHotVocabularyTable');
  assert.equal(L.tag((await get(theirs, OTHER_HOST)).body, 'TableName'), 'theirs');
  assert.equal(L.tag((await list({}, OTHER_HOST)).body, 'TotalCount'), '1');
  assert.equal(L.tag((await list()).body, 'TotalCount'), '1');
  // a job may name only its own bucket's tables
  const r = await req({ method: 'POST', pathname: '/asr_jobs', body: L.submitXml({ object: 'in/stub.wav', sr: `<HotVocabularyTableId>${theirs}</HotVocabularyTableId>` }) });
  assertError(r, 400, 'InvalidArgument', /HotVocabularyTableId/);
  await del(theirs, OTHER_HOST);
  await del(ours);
  await L.raw(srv.port, { method: 'DELETE', pathname: '/asrbucket', host: OTHER_HOST });
});

async function defaultQueue() {
  const d = await L.ci(cos, srv.port, 'GET', '/asrqueue', {});
  return [].concat(d.Response.QueueList)[0];
}

async function jobCount() {
  const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', states: 'All' } });
  return [].concat(d.Response.JobsDetail || []).length;
}

test('jobs: unknown tables are refused, the words reach the engine in weight order, a deleted table fails the job', async () => {
  L.skipUnless(fs.existsSync(wav), `no test audio at ${wav} (set CICADA_TESTDATA)`);
  await L.putFile(cos, 'in/jfk.wav', wav);
  const count = await jobCount();
  const unknown = await req({ method: 'POST', pathname: '/asr_jobs', body: L.submitXml({ object: 'in/stub.wav', sr: '<HotVocabularyTableId>h0123456789abcdef0123456789abcdef</HotVocabularyTableId>' }) });
  assertError(unknown, 400, 'InvalidArgument', /HotVocabularyTableId h0123456789abcdef0123456789abcdef/);
  assert.equal(await jobCount(), count);

  const words = [['country', 3], ['Americans', 100], ['fellow', 11], ['ask', 3], ['Kennedy', 100], ['torch', 1]];
  const id = await createOk({ name: 'jfk', words });
  const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ output: 'out/hot.txt', sr: `<HotVocabularyTableId>${id}</HotVocabularyTableId>` }) });
  const job = await L.waitJob(cos, srv.port, sub.Response.JobsDetail.JobId);
  assert.equal(job.State, 'Success', JSON.stringify(job));
  assert.equal(job.Operation.SpeechRecognition.HotVocabularyTableId, id);
  const line = `job ${job.JobId}: hot words from table ${id} (6 of 6 words): Americans, Kennedy, fellow, country, ask, torch\n`;
  for (let i = 0; i < 50 && !srv.stderr().includes(line); i++) await new Promise((res) => setTimeout(res, 100));   // the pipe may lag the HTTP answer
  assert.ok(srv.stderr().includes(line), `the server log lacks "${line}":\n${srv.stderr()}`);

  // deleted between submit and run: the job fails and says which table
  const q = await defaultQueue();
  const setState = (state) => L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: `<Request><Name>${q.Name}</Name><State>${state}</State></Request>` });
  await setState('Paused');
  const sub2 = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ output: 'out/gone.txt', sr: `<HotVocabularyTableId>${id}</HotVocabularyTableId>` }) });
  assert.equal((await del(id)).status, 200);
  await setState('Active');
  const failed = await L.waitJob(cos, srv.port, sub2.Response.JobsDetail.JobId);
  assert.equal(failed.State, 'Failed', JSON.stringify(failed));
  assert.equal(failed.Code, 'HotVocabularyTableNotFound');
  assert.match(failed.Message, new RegExp(id));
});
