// templates.test.js — speech-recognition templates (/template, spec section 9) against a real
// `cicada serve`: the Python SDK's captured requests replayed byte for byte with fresh signatures
// (create, list, update, delete), the same operations through the official Node SDK with its parsed
// answers, listing (ids with unknown ones, name prefix, paging, TotalCount, category and tag), jobs
// that name a template (the same Result as the same parameters inline; a template edited and deleted
// after submit changes nothing of the job), bucket isolation, every refusal (a 400 naming the field,
// and nothing created or changed), and templates surviving a restart.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

let srv, cos, named;
const wav = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const OTHER = 'second-1250000000';
const OTHER_HOST = `${OTHER}.ci.${L.REGION}.myqcloud.com`;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/;
const ID = /^t1[0-9a-f]{32}$/;

// What cos-python-sdk-v5 sends (spec/sdk-requests.txt), byte for byte.
const PY_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';
const PY_SR = (rtf) => '<SpeechRecognition><EngineModelType>16k_zh</EngineModelType><ChannelNum>1</ChannelNum>' +
  `<ResTextFormat>${rtf}</ResTextFormat><FilterDirty>0</FilterDirty><FilterModal>0</FilterModal><ConvertNumMode>0</ConvertNumMode>` +
  '<SpeakerDiarization>0</SpeakerDiarization><SpeakerNumber>0</SpeakerNumber><FilterPunc>0</FilterPunc>' +
  '<OutputFileType>txt</OutputFileType><FlashAsr>false</FlashAsr><FirstChannelOnly>1</FirstChannelOnly><WordInfo>0</WordInfo>' +
  '</SpeechRecognition>';
const PY_CREATE = `${PY_DECL}<Request><Name>tpl</Name><Tag>SpeechRecognition</Tag>${PY_SR(2)}</Request>`;
const PY_UPDATE = `${PY_DECL}<Request><Name>tpl2</Name><Tag>SpeechRecognition</Tag>${PY_SR(1)}</Request>`;
const PY_LIST = { category: 'Custom', ids: '', name: '', pageNumber: '1', pageSize: '10' };

test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
  named = L.client(srv.port, { named: true });
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  // an input object for submits that must be refused before any audio is read
  await new Promise((resolve, reject) => cos.putObject({ Bucket: L.BUCKET, Region: L.REGION, Key: 'in/stub.wav',
    Body: Buffer.from('stub') }, (err) => (err ? reject(err) : resolve())));
});
test.after(async () => { await srv.stop(); });

const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unesc = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A create/update body: name undefined, tag null and engine null leave the element out, sr null
// leaves out SpeechRecognition; rawName goes in unescaped.
function tplXml({ name, tag = 'SpeechRecognition', engine = '16k_en', sr = '', rawName } = {}) {
  let x = '<Request>';
  if (tag !== null) x += `<Tag>${xmlEsc(tag)}</Tag>`;
  if (rawName !== undefined) x += `<Name>${rawName}</Name>`;
  else if (name !== undefined) x += `<Name>${xmlEsc(name)}</Name>`;
  if (sr !== null) x += `<SpeechRecognition>${engine === null ? '' : `<EngineModelType>${xmlEsc(engine)}</EngineModelType>`}${sr}</SpeechRecognition>`;
  return x + '</Request>';
}

const req = (opts) => L.raw(srv.port, { headers: opts.body !== undefined ? { 'Content-Type': 'application/xml' } : {}, ...opts,
  host: opts.host || L.HOST });
const create = (body, host) => req({ method: 'POST', pathname: '/template', body, host });
const update = (id, body, host) => req({ method: 'PUT', pathname: `/template/${id}`, body, host });
const list = (query = {}, host) => req({ pathname: '/template', query, host });
const del = (id, host) => req({ method: 'DELETE', pathname: `/template/${id}`, host, headers: { 'Content-Length': '0' } });

async function createOk(fields, host) {
  const r = await create(tplXml(fields), host);
  assert.equal(r.status, 200, r.body);
  return L.tag(r.body, 'TemplateId');
}

function assertError(r, status, code, fieldRe) {
  assert.equal(r.status, status, r.body);
  assert.equal(L.tag(r.body, 'Code'), code, r.body);
  for (const el of ['Message', 'Resource', 'RequestId', 'TraceId']) assert.ok(L.tag(r.body, el), `${el} in ${r.body}`);
  if (fieldRe) assert.match(unesc(L.tag(r.body, 'Message')), fieldRe);
  assert.equal(r.headers['content-type'], 'application/xml');
}

// The <TemplateList> items of a list answer, in order, as XML strings.
const items = (xml) => [...xml.matchAll(/<TemplateList>([\s\S]*?)<\/TemplateList>/g)].map((m) => m[1]);
const namesOf = (xml) => items(xml).map((x) => unesc(L.tag(x, 'Name')));
const total = async (query = {}, host) => Number(L.tag((await list(query, host)).body, 'TotalCount'));

// The Node SDK's generic request on the bucket's own Host (Ip = the server), as a CI call goes out.
function sdk(method, urlPath, { query, body } = {}) {
  return new Promise((resolve, reject) => {
    named.request({
      Method: method, Url: `http://${L.HOST}${urlPath}`, Key: urlPath.slice(1), Query: query,
      Headers: body ? { 'Content-Type': 'application/xml' } : {}, Body: body,
    }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

async function jobCount() {
  const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', states: 'All' } });
  return [].concat(d.Response.JobsDetail || []).length;
}

function submitByTemplate(id, { output = 'out/tpl.txt', object = 'in/jfk.wav', sr = '' } = {}) {
  return `<Request><Input><Object>${object}</Object></Input><Tag>SpeechRecognition</Tag><Operation>` +
    `<Output><Bucket>${L.BUCKET}</Bucket><Region>${L.REGION}</Region><Object>${output}</Object></Output>` +
    `<TemplateId>${id}</TemplateId>${sr}</Operation></Request>`;
}

test('the Python SDK: create, list, update and delete as it sends them', async () => {
  const c = await create(PY_CREATE);
  assert.equal(c.status, 200, c.body);
  assert.equal(c.headers['content-type'], 'application/xml');
  assert.match(L.tag(c.body, 'RequestId'), /^[0-9a-f]{32}$/);
  const t = L.tag(c.body, 'Template');
  const id = L.tag(t, 'TemplateId');
  assert.match(id, ID);
  assert.equal(L.tag(t, 'Name'), 'tpl');
  assert.equal(L.tag(t, 'Tag'), 'SpeechRecognition');
  assert.equal(L.tag(t, 'State'), 'Normal');
  assert.equal(L.tag(t, 'BucketId'), L.BUCKET);
  assert.equal(L.tag(t, 'Category'), 'Custom');
  const created = L.tag(t, 'CreateTime');
  assert.match(created, TIME);
  assert.equal(L.tag(t, 'UpdateTime'), created);
  const sr = L.tag(t, 'SpeechRecognition');
  for (const [el, v] of [['EngineModelType', '16k_zh'], ['ChannelNum', '1'], ['ResTextFormat', '2'], ['FilterDirty', '0'],
    ['FilterModal', '0'], ['FilterPunc', '0'], ['ConvertNumMode', '0'], ['SpeakerDiarization', '0'], ['SpeakerNumber', '0'],
    ['OutputFileType', 'txt'], ['FlashAsr', 'false'], ['FirstChannelOnly', '1'], ['WordInfo', '0'], ['SentenceMaxLength', '0']])
    assert.equal(L.tag(sr, el), v, el);

  // the list request exactly as Python sends it (empty ids and name mean "not given")
  const l = await list(PY_LIST);
  assert.equal(l.status, 200, l.body);
  assert.equal(L.tag(l.body, 'TotalCount'), '1');
  assert.equal(L.tag(l.body, 'PageNumber'), '1');
  assert.equal(L.tag(l.body, 'PageSize'), '10');
  assert.equal(items(l.body).length, 1);
  assert.equal(items(l.body)[0], t);   // the same object as the create answer
  assert.equal(L.tag(l.body, 'NonExistTIDs'), null);

  // update: a full replace; the creation time stays, the update time moves (times are in seconds)
  await sleep(1100);
  const u = await update(id, PY_UPDATE);
  assert.equal(u.status, 200, u.body);
  const t2 = L.tag(u.body, 'Template');
  assert.equal(L.tag(t2, 'TemplateId'), id);
  assert.equal(L.tag(t2, 'Name'), 'tpl2');
  assert.equal(L.tag(L.tag(t2, 'SpeechRecognition'), 'ResTextFormat'), '1');
  assert.equal(L.tag(t2, 'CreateTime'), created);
  assert.notEqual(L.tag(t2, 'UpdateTime'), created);
  assert.ok(L.tag(t2, 'UpdateTime') > created);

  // delete: Content-Length 0 and no Content-Type; the answer is XML naming the template
  const d = await del(id);
  assert.equal(d.status, 200, d.body);
  assert.equal(d.headers['content-type'], 'application/xml');
  assert.match(d.body, new RegExp(`^<\\?xml[^>]*\\?><Response><RequestId>[0-9a-f]{32}</RequestId><TemplateId>${id}</TemplateId></Response>$`));
  // and it is gone
  const gone = await list({ ids: id });
  assert.equal(L.tag(gone.body, 'TotalCount'), '0');
  assert.equal(L.tag(gone.body, 'NonExistTIDs'), `<TemplateId>${id}</TemplateId>`);
  assertError(await update(id, PY_UPDATE), 400, 'InvalidArgument', new RegExp(`template ${id} names no template`));
  assertError(await del(id), 400, 'InvalidArgument', new RegExp(id));
  assert.equal(await total(), 0);

  // Python leaves ChannelNum and ResTextFormat out when they are 0: the defaults 1 and 0 apply
  const bare = PY_CREATE.replace('<ChannelNum>1</ChannelNum>', '').replace('<ResTextFormat>2</ResTextFormat>', '');
  const b = await create(bare);
  assert.equal(b.status, 200, b.body);
  assert.equal(L.tag(b.body, 'ChannelNum'), '1');
  assert.equal(L.tag(b.body, 'ResTextFormat'), '0');
  assert.equal((await del(L.tag(b.body, 'TemplateId'))).status, 200);
});

test('the Node SDK: its parsed answers for create, list, update and delete', async () => {
  const c = await sdk('POST', '/template', { body: tplXml({ name: '会议_minutes-1*', sr: '<ResTextFormat>1</ResTextFormat><OutputFileType>srt</OutputFileType>' }) });
  const t = c.Response.Template;
  assert.match(t.TemplateId, ID);
  assert.equal(t.Name, '会议_minutes-1*');
  assert.equal(t.Tag, 'SpeechRecognition');
  assert.equal(t.Category, 'Custom');
  assert.equal(t.BucketId, L.BUCKET);
  assert.equal(t.SpeechRecognition.EngineModelType, '16k_en');
  assert.equal(t.SpeechRecognition.ResTextFormat, '1');
  assert.equal(t.SpeechRecognition.OutputFileType, 'srt');
  assert.match(c.Response.RequestId, /^[0-9a-f]{32}$/);

  const unknown = ['t1ffffffffffffffffffffffffffffffff', 't1eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'];
  const l = await sdk('GET', '/template', { query: { ids: [t.TemplateId, ...unknown].join(','), pageSize: '10' } });
  assert.equal(l.Response.TotalCount, '1');
  assert.equal(l.Response.TemplateList.TemplateId, t.TemplateId);   // one item: an object
  assert.deepEqual(l.Response.NonExistTIDs.TemplateId, unknown);   // one child per unknown id

  const u = await sdk('PUT', `/template/${t.TemplateId}`, { body: tplXml({ name: 'minutes', sr: '<ChannelNum>2</ChannelNum>' }) });
  assert.equal(u.Response.Template.Name, 'minutes');
  assert.equal(u.Response.Template.SpeechRecognition.ChannelNum, '2');
  assert.equal(u.Response.Template.SpeechRecognition.ResTextFormat, '0');   // a full replace
  assert.equal(u.Response.Template.SpeechRecognition.OutputFileType, 'txt');
  assert.equal(u.Response.Template.CreateTime, t.CreateTime);

  const d = await sdk('DELETE', `/template/${t.TemplateId}`);
  assert.equal(d.statusCode, 200);
  assert.equal(d.Response.TemplateId, t.TemplateId);
  await assert.rejects(sdk('DELETE', `/template/${t.TemplateId}`), (e) => e.statusCode === 400 && e.code === 'InvalidArgument');
});

test('lists: newest first, name prefix, ids with unknown ones, paging, category and tag', async () => {
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push(await createOk({ name: `page-${String(i).padStart(2, '0')}` }));
  const other = await createOk({ name: '报表' });
  const all = ['报表', ...Array.from({ length: 12 }, (_, i) => `page-${String(11 - i).padStart(2, '0')}`)];

  const first = await list();
  assert.equal(L.tag(first.body, 'TotalCount'), '13');
  assert.equal(L.tag(first.body, 'PageSize'), '10');
  assert.deepEqual(namesOf(first.body), all.slice(0, 10));
  const seen = [];
  for (const n of [1, 2, 3]) {
    const p = await list({ name: 'page-', pageSize: '5', pageNumber: String(n) });
    assert.equal(L.tag(p.body, 'TotalCount'), '12');   // before paging
    assert.equal(L.tag(p.body, 'PageNumber'), String(n));
    assert.equal(L.tag(p.body, 'PageSize'), '5');
    seen.push(...namesOf(p.body));
  }
  assert.deepEqual(seen, all.slice(1));
  const past = await list({ pageNumber: '9' });
  assert.equal(L.tag(past.body, 'TotalCount'), '13');
  assert.equal(items(past.body).length, 0);
  assert.deepEqual(namesOf((await list({ name: '报' })).body), ['报表']);
  assert.equal(await total({ name: 'PAGE-' }), 0);   // prefixes are case-sensitive

  // ids: the known ones are listed (newest first), each unknown one once in NonExistTIDs
  const r = await list({ ids: ` ${ids[3]},t1nothere,${ids[7]},,${ids[3]},t1nothere , t1gone` });
  assert.equal(L.tag(r.body, 'TotalCount'), '2');
  assert.deepEqual(namesOf(r.body), ['page-07', 'page-03']);
  assert.equal(L.tag(r.body, 'NonExistTIDs'), '<TemplateId>t1nothere</TemplateId><TemplateId>t1gone</TemplateId>');
  // ids and name together
  assert.deepEqual(namesOf((await list({ ids: `${ids[3]},${other}`, name: '报' })).body), ['报表']);

  // category and tag: Official lists nothing; a tag of another kind of template lists nothing
  for (const q of [{ category: 'Official' }, { tag: 'Transcode' }, { tag: 'Animation', category: 'Custom' }]) {
    const e = await list(q);
    assert.equal(e.status, 200, e.body);
    assert.equal(L.tag(e.body, 'TotalCount'), '0', JSON.stringify(q));
    assert.equal(items(e.body).length, 0);
  }
  for (const q of [{ tag: 'All' }, { tag: 'SpeechRecognition' }, { category: 'Custom' }, { Category: 'Custom', PAGESIZE: '3' }])
    assert.equal(await total(q), 13, JSON.stringify(q));
  assert.equal(items((await list({ Category: 'Custom', PAGESIZE: '3' })).body).length, 3);   // names read ignoring case

  for (const id of [...ids, other]) assert.equal((await del(id)).status, 200);
  assert.equal(await total(), 0);
});

test('a job by template gives the Result of the same parameters inline', async () => {
  L.skipUnless(fs.existsSync(wav), `no test audio at ${wav} (set CICADA_TESTDATA)`);
  await L.putFile(cos, 'in/jfk.wav', wav);
  const params = '<ResTextFormat>2</ResTextFormat><FilterPunc>1</FilterPunc><OutputFileType>srt</OutputFileType>';
  const id = await createOk({ name: 'jfk_srt', sr: params });

  const a = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: submitByTemplate(id, { output: 'out/by-template.srt' }) });
  assert.equal(a.Response.JobsDetail.Operation.TemplateId, id);
  assert.equal(a.Response.JobsDetail.Operation.TemplateName, 'jfk_srt');
  const b = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ output: 'out/inline.srt', sr: params }) });
  const ja = await L.waitJob(cos, srv.port, a.Response.JobsDetail.JobId);
  const jb = await L.waitJob(cos, srv.port, b.Response.JobsDetail.JobId);
  assert.equal(ja.State, 'Success', JSON.stringify(ja));
  assert.equal(jb.State, 'Success', JSON.stringify(jb));
  assert.deepEqual(ja.Operation.SpeechRecognition, jb.Operation.SpeechRecognition);
  assert.equal(ja.Operation.SpeechRecognition.OutputFileType, 'srt');
  const ra = ja.Operation.SpeechRecognitionResult, rb = jb.Operation.SpeechRecognitionResult;
  assert.ok(ra.Result.length > 20, ra.Result);
  assert.equal(ra.Result, rb.Result);
  assert.equal(ra.AudioTime, rb.AudioTime);
  assert.deepEqual(ra.ResultDetail, rb.ResultDetail);
  const objA = (await L.getObject(cos, 'out/by-template.srt')).Body.toString();
  assert.equal(objA, (await L.getObject(cos, 'out/inline.srt')).Body.toString());
  assert.match(objA, /^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);

  // TemplateName appears only with a TemplateId; the inline job has an empty TemplateId
  const raw = await req({ pathname: `/asr_jobs/${jb.JobId}` });
  assert.match(raw.body, /<TemplateId><\/TemplateId>/);
  assert.doesNotMatch(raw.body, /TemplateName/);
  const rawA = await req({ pathname: `/asr_jobs/${ja.JobId}` });
  assert.match(rawA.body, new RegExp(`<TemplateId>${id}</TemplateId><TemplateName>jfk_srt</TemplateName>`));

  // TemplateId wins over an inline SpeechRecognition, which is not even read
  const c = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: submitByTemplate(id, { output: 'out/c.srt',
    sr: '<SpeechRecognition><EngineModelType>nonsense</EngineModelType><ChannelNum>9</ChannelNum></SpeechRecognition>' }) });
  assert.equal(c.Response.JobsDetail.Operation.SpeechRecognition.EngineModelType, '16k_en');
  assert.equal(c.Response.JobsDetail.Operation.SpeechRecognition.ChannelNum, '1');
  assert.equal((await L.waitJob(cos, srv.port, c.Response.JobsDetail.JobId)).State, 'Success');
  assert.equal((await del(id)).status, 200);
});

test('a template edited and deleted after submit changes nothing of the job', async () => {
  L.skipUnless(fs.existsSync(wav), `no test audio at ${wav} (set CICADA_TESTDATA)`);
  await L.putFile(cos, 'in/jfk.wav', wav);
  const id = await createOk({ name: 'before', sr: '<ResTextFormat>1</ResTextFormat>' });
  const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue', {})).Response.QueueList)[0];
  const setState = (state) => L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: `<Request><Name>${q.Name}</Name><State>${state}</State></Request>` });
  await setState('Paused');
  try {
    const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: submitByTemplate(id, { output: 'out/later.txt' }) });
    const jobId = sub.Response.JobsDetail.JobId;
    assert.equal((await update(id, tplXml({ name: 'after', engine: '8k_en', sr: '<ResTextFormat>0</ResTextFormat>' }))).status, 200);
    assert.equal((await del(id)).status, 200);
    await setState('Active');
    const job = await L.waitJob(cos, srv.port, jobId);
    assert.equal(job.State, 'Success', JSON.stringify(job));
    assert.equal(job.Operation.TemplateId, id);
    assert.equal(job.Operation.TemplateName, 'before');
    assert.equal(job.Operation.SpeechRecognition.EngineModelType, '16k_en');
    assert.equal(job.Operation.SpeechRecognition.ResTextFormat, '1');
    assert.ok([].concat(job.Operation.SpeechRecognitionResult.ResultDetail).length >= 1);   // format 1 still applied
  } finally {
    await setState('Active');
  }
  // a job naming the deleted template is refused, and none is created
  const count = await jobCount();
  assertError(await req({ method: 'POST', pathname: '/asr_jobs', body: submitByTemplate(id, { object: 'in/stub.wav' }) }),
    400, 'InvalidArgument', new RegExp(`Operation/TemplateId ${id} names no template of bucket ${L.BUCKET}`));
  assert.equal(await jobCount(), count);
});

test('a template that names a hot-vocabulary table passes it on while the table exists', async () => {
  const hv = await req({ method: 'POST', pathname: '/asrhotvocabtable',
    body: '<Request><TableName>t</TableName><VocabularyWeights><Vocabulary>Kennedy</Vocabulary><Weight>11</Weight></VocabularyWeights></Request>' });
  assert.equal(hv.status, 200, hv.body);
  const table = L.tag(hv.body, 'TableId');
  assertError(await create(tplXml({ name: 'hot', sr: '<HotVocabularyTableId>h0123456789abcdef0123456789abcdef</HotVocabularyTableId>' })),
    400, 'InvalidArgument', /HotVocabularyTableId/);
  const id = await createOk({ name: 'hot', sr: `<HotVocabularyTableId>${table}</HotVocabularyTableId>` });
  const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue', {})).Response.QueueList)[0];
  const setState = (state) => L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: `<Request><Name>${q.Name}</Name><State>${state}</State></Request>` });
  await setState('Paused');   // the job is only submitted here, never run
  try {
    const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: submitByTemplate(id, { object: 'in/stub.wav' }) });
    assert.equal(sub.Response.JobsDetail.Operation.SpeechRecognition.HotVocabularyTableId, table);
    await L.ci(cos, srv.port, 'PUT', `/jobs/${sub.Response.JobsDetail.JobId}`, { query: { cancel: '' } });
    assert.equal((await req({ method: 'DELETE', pathname: `/asrhotvocabtable/${table}` })).status, 200);
    const count = await jobCount();
    assertError(await req({ method: 'POST', pathname: '/asr_jobs', body: submitByTemplate(id, { object: 'in/stub.wav' }) }),
      400, 'InvalidArgument', new RegExp(`HotVocabularyTableId ${table}`));
    assert.equal(await jobCount(), count);
  } finally {
    await setState('Active');
  }
  assert.equal((await del(id)).status, 200);
});

test('templates belong to their bucket, which must have ASR open', async () => {
  assertError(await create(tplXml({ name: 'n' }), OTHER_HOST), 404, 'NoSuchBucket', /asrbucket/);
  assertError(await list({}, OTHER_HOST), 404, 'NoSuchBucket');
  assertError(await update('t1abc', tplXml({ name: 'n' }), OTHER_HOST), 404, 'NoSuchBucket');
  assertError(await del('t1abc', OTHER_HOST), 404, 'NoSuchBucket');
  assert.equal((await req({ method: 'POST', pathname: '/asrbucket', host: OTHER_HOST })).status, 200);
  const theirs = await createOk({ name: 'shared-name' }, OTHER_HOST);
  const ours = await createOk({ name: 'shared-name' });   // names are unique per bucket only
  assert.notEqual(theirs, ours);
  const count = await jobCount();
  assertError(await update(theirs, tplXml({ name: 'stolen' })), 400, 'InvalidArgument', new RegExp(theirs));
  assertError(await del(theirs), 400, 'InvalidArgument', new RegExp(theirs));
  assertError(await req({ method: 'POST', pathname: '/asr_jobs', body: submitByTemplate(theirs, { object: 'in/stub.wav' }) }),
    400, 'InvalidArgument', /Operation\/TemplateId/);
  assert.equal(await jobCount(), count);
  const r = await list({ ids: `${theirs},${ours}` });
  assert.equal(L.tag(r.body, 'TotalCount'), '1');
  assert.equal(L.tag(L.tag(r.body, 'TemplateList'), 'TemplateId'), ours);
  assert.equal(L.tag(r.body, 'NonExistTIDs'), `<TemplateId>${theirs}</TemplateId>`);
  const mine = await list({}, OTHER_HOST);
  assert.equal(L.tag(mine.body, 'TotalCount'), '1');
  assert.equal(L.tag(L.tag(mine.body, 'TemplateList'), 'Name'), 'shared-name');
  assert.equal(L.tag(L.tag(mine.body, 'TemplateList'), 'BucketId'), OTHER);
  assert.equal((await del(theirs, OTHER_HOST)).status, 200);
  assert.equal((await del(ours)).status, 200);
  await req({ method: 'DELETE', pathname: '/asrbucket', host: OTHER_HOST });
});

test('hostile names and values: a 400 naming the field, and nothing created or changed', async () => {
  const id = await createOk({ name: 'keep', sr: '<ResTextFormat>3</ResTextFormat><SentenceMaxLength>20</SentenceMaxLength>' });
  const before = (await list()).body.replace(/<RequestId>\w+<\/RequestId>/, '');
  const long = (c, n) => c.repeat(n);
  // names at the limits are fine (characters, not bytes: 64 four-byte ideographs are 256 bytes)
  for (const name of [long('a', 64), long('模', 64), long('\u{20000}', 64), '*', '-_-', '0']) {
    const ok = await create(tplXml({ name }));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(unesc(L.tag(ok.body, 'Name')), name);
    assert.equal((await del(L.tag(ok.body, 'TemplateId'))).status, 200);
  }
  const bad = [
    [{ name: undefined }, /Name is required/],
    [{ name: '' }, /Name is required/],
    [{ name: long('a', 65) }, /Name must be 1 to 64 characters \(got 65\)/],
    [{ name: long('模', 65) }, /Name must be 1 to 64 characters/],
    [{ name: 'a<b>' }, /Name may hold only/],
    [{ name: 'a&b' }, /Name may hold only/],
    [{ name: '"q"' }, /Name may hold only/],
    [{ name: "it's" }, /Name may hold only/],
    [{ name: 'a b' }, /Name may hold only.*U\+0020/],
    [{ rawName: 'a&#9;b' }, /Name may hold only.*U\+0009/],
    [{ rawName: 'a&#10;b' }, /Name may hold only.*U\+000A/],
    [{ name: 'a\u007fb' }, /Name may hold only.*U\+007F/],
    [{ name: 'caf\u00e9' }, /Name may hold only/],
    [{ name: 'ｆｕｌｌ' }, /Name may hold only/],
    [{ name: 'smile😀' }, /Name may hold only/],
    [{ name: 'x', tag: null }, /Tag must be SpeechRecognition/],
    [{ name: 'x', tag: 'Transcode' }, /Tag must be SpeechRecognition \(got "Transcode"\)/],
    [{ name: 'x', tag: 'speechrecognition' }, /Tag/],
    [{ name: 'x', sr: null }, /SpeechRecognition is required/],
    [{ name: 'x', engine: null }, /EngineModelType is required/],
    [{ name: 'x', engine: 'xx_<b>' }, /EngineModelType/],
    [{ name: 'x', sr: '<ChannelNum>3</ChannelNum>' }, /ChannelNum/],
    [{ name: 'x', sr: '<ChannelNum>1x</ChannelNum>' }, /ChannelNum/],
    [{ name: 'x', sr: '<ResTextFormat>4</ResTextFormat>' }, /ResTextFormat/],
    [{ name: 'x', sr: '<FilterDirty>-1</FilterDirty>' }, /FilterDirty/],
    [{ name: 'x', sr: '<ConvertNumMode>2</ConvertNumMode>' }, /ConvertNumMode/],
    [{ name: 'x', sr: '<SentenceMaxLength>5</SentenceMaxLength>' }, /SentenceMaxLength/],
    [{ name: 'x', sr: '<OutputFileType>pdf</OutputFileType>' }, /OutputFileType/],
    [{ name: 'x', sr: '<HotVocabularyTableId>hnothere</HotVocabularyTableId>' }, /HotVocabularyTableId/],
    [{ name: 'keep' }, /template name "keep" already exists/],
  ];
  for (const [fields, re] of bad) {
    assertError(await create(tplXml(fields)), 400, 'InvalidArgument', re);
    if (!/already exists/.test(String(re))) assertError(await update(id, tplXml(fields)), 400, 'InvalidArgument', re);
  }
  // renaming onto another template's name is refused too
  const other = await createOk({ name: 'other' });
  assertError(await update(other, tplXml({ name: 'keep' })), 400, 'InvalidArgument', /"keep" already exists/);
  assert.equal((await update(other, tplXml({ name: 'other' }))).status, 200);   // its own name is fine
  assert.equal((await del(other)).status, 200);
  // control bytes and broken UTF-8 are not XML at all; nor are these
  for (const body of ['<Request><Tag>SpeechRecognition</Tag><Name>a\u0001b</Name></Request>', '<Request><Name>a&#1;</Name></Request>',
    Buffer.concat([Buffer.from('<Request><Tag>SpeechRecognition</Tag><Name>a'), Buffer.from([0xff, 0xfe]), Buffer.from('</Name></Request>')]),
    '<Request><Name>x', '', '<Template><Name>x</Name></Template>']) {
    assertError(await create(body), 400, 'MalformedXML');
    assertError(await update(id, body), 400, 'MalformedXML');
  }
  // unknown and over-long ids on update and delete; wrong methods
  for (const bogus of ['t1ffffffffffffffffffffffffffffffff', 'x'.repeat(300), 'a%2Fb']) {
    assertError(await update(bogus, tplXml({ name: 'x' })), 400, 'InvalidArgument', /names no template/);
    assertError(await del(bogus), 400, 'InvalidArgument', /names no template/);
  }
  assertError(await req({ method: 'POST', pathname: `/template/${id}`, body: tplXml({ name: 'x' }) }), 405, 'MethodNotAllowed');
  assertError(await req({ pathname: `/template/${id}` }), 405, 'MethodNotAllowed');
  assertError(await req({ method: 'PUT', pathname: '/template', body: tplXml({ name: 'x' }) }), 405, 'MethodNotAllowed');
  assertError(await req({ method: 'DELETE', pathname: '/template' }), 405, 'MethodNotAllowed');
  // list parameters
  for (const query of [{ pageSize: '0' }, { pageSize: '101' }, { pageNumber: '0' }, { pageNumber: 'x' }, { pageSize: '5x' }])
    assertError(await list(query), 400, 'InvalidArgument', new RegExp(Object.keys(query)[0]));
  assertError(await list({ category: 'Mine' }), 400, 'InvalidArgument', /category must be Custom or Official/);
  assertError(await list({ ids: 'a b' }), 400, 'InvalidArgument', /ids/);
  assertError(await list({ ids: 't1\u0001' }), 400, 'InvalidArgument', /ids/);
  assertError(await list({ ids: 'y'.repeat(64) }), 400, 'InvalidArgument', /ids/);
  assertError(await list({ ids: Array.from({ length: 101 }, (_, i) => `t1${i}`).join(',') }), 400, 'InvalidArgument', /ids names more than 100/);
  assert.equal((await list({ ids: Array.from({ length: 100 }, (_, i) => `t1${i}`).join(',') })).status, 200);

  // nothing changed
  assert.equal((await list()).body.replace(/<RequestId>\w+<\/RequestId>/, ''), before);
  assert.equal((await del(id)).status, 200);
});

test('templates survive a restart', async () => {
  const dataDir = L.tmpDir('cicada-tpl-');
  let s = await L.startServer({ dataDir });
  const r = (opts) => L.raw(s.port, { host: L.HOST, headers: opts.body !== undefined ? { 'Content-Type': 'application/xml' } : {}, ...opts });
  assert.equal((await r({ method: 'POST', pathname: '/asrbucket' })).status, 200);
  const c = await r({ method: 'POST', pathname: '/template', body: tplXml({ name: '持久_durable', sr: '<ConvertNumMode>3</ConvertNumMode>' }) });
  assert.equal(c.status, 200, c.body);
  const t = L.tag(c.body, 'Template');
  await s.stop();
  s = await L.startServer({ dataDir });
  try {
    const l = await r({ pathname: '/template' });
    assert.equal(L.tag(l.body, 'TotalCount'), '1');
    assert.equal(items(l.body)[0], t);
  } finally {
    await s.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
