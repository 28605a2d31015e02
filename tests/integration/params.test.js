// params.test.js — nothing a job carries is accepted and then ignored. A table over every
// SpeechRecognition element (spec section 2) runs real jobs for each accepted value and compares
// the result with the same job without it: the value changes the result, or leaves it the same
// where the README says why (a default, or audio the option has nothing to act on); its echo is
// what was sent. Each invalid value, and each refused job element (UserData, JobLevel, Output,
// CallBackType, CallBackMqConfig), is a 400 whose Message names the element and that creates no
// job. Then every echoed field, with XML-special and non-ASCII characters, is read back byte for
// byte from the submit reply, describe, list and both callback formats; a ResTextFormat 0 result
// carries an empty ResultDetail; a job without Output keeps its result in JobsDetail only.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');
const { xml2json } = require('cos-nodejs-sdk-v5/sdk/util');

const jfkFull = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const other = path.join(L.TESTDATA, 'en', 'librispeech', '1089-134686-0000.flac');
L.skipUnless(fs.existsSync(jfkFull) && fs.existsSync(other), `no test audio under ${L.TESTDATA}`);

// the table runs some fifty jobs: on the first 4 s of jfk.wav ("and so my fellow Americans, ask
// not") they take a second or two each
const dir = L.tmpDir('cicada-params-');
const jfk = path.join(dir, 'jfk.wav');
let srv, cos, rx;

// A local receiver for callbacks (the server may reach loopback: CICADA_URL_ALLOW_PRIVATE=yes).
// It also serves jfk.wav to Input/Url jobs at any path.
function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.end(fs.readFileSync(jfk));
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => { got.push({ url: req.url, type: req.headers['content-type'], body }); res.end('ok'); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, got, server,
    waitFor: async (pred, ms = 60000) => {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        const hit = got.find(pred);
        if (hit) return hit;
      }
      throw new Error(`no such callback among ${got.length}`);
    },
  })));
}

const ffmpeg = (...args) => L.execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
test.before(async () => {
  ffmpeg('-i', jfkFull, '-t', '4', '-c:a', 'pcm_s16le', jfk);
  ffmpeg('-i', jfk, '-c:a', 'libmp3lame', '-b:a', '64k', path.join(dir, 'jfk.mp3'));
  // speech with a number and a word on the operator's list (ConvertNumMode, FilterDirty act on it)
  L.execFileSync('espeak-ng', ['-v', 'en-us', '-s', '140', '-w', path.join(dir, 'espeak.wav'),
    'um, I paid one hundred dollars. uh, it is a damn good day']);
  L.execFileSync('sox', [path.join(dir, 'espeak.wav'), '-r', '16000', '-c', '1', '-b', '16', path.join(dir, 'speech.wav')]);
  // two channels that say different things: channel 0 is jfk.wav's samples exactly
  ffmpeg('-i', jfk, '-i', other, '-filter_complex',
    '[1:a]aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono[b];[0:a][b]amerge=inputs=2[s]', '-map', '[s]',
    '-c:a', 'pcm_s16le', '-ar', '16000', path.join(dir, 'stereo.wav'));
  ffmpeg('-i', jfk, '-f', 's16le', '-ar', '16000', '-ac', '1', path.join(dir, 'jfk.pcm'));
  fs.writeFileSync(path.join(dir, 'dirty.txt'), 'dollars\n');
  rx = await receiver();
  srv = await L.startServer({ env: { CICADA_DIRTY_WORDS: path.join(dir, 'dirty.txt'), CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/jfk.wav', jfk);
  await L.putFile(cos, 'in/jfk.mp3', path.join(dir, 'jfk.mp3'));
  await L.putFile(cos, 'in/jfk.pcm', path.join(dir, 'jfk.pcm'));
  await L.putFile(cos, 'in/speech.wav', path.join(dir, 'speech.wav'));
  await L.putFile(cos, 'in/stereo.wav', path.join(dir, 'stereo.wav'));
});
test.after(async () => {
  await srv.stop();
  rx.server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let outputs = 0;
async function submit(opts) {
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ output: `out/p${outputs++}.txt`, ...opts }) });
  return d.Response.JobsDetail;
}
const finished = (id) => L.waitJob(cos, srv.port, id, { timeoutMs: 300000 });
const result = (j) => j.Operation.SpeechRecognitionResult || {};
const detail = (j) => [].concat(result(j).ResultDetail || []).filter((s) => s !== '');
const words = (j) => L.resultWords(result(j).Result).join(' ');
// What a job produced: state, code, Result lines and ResultDetail.
const outcome = (j) => JSON.stringify([j.State, j.Code, result(j).Result, result(j).ResultDetail]);

// Baselines: the same job without the element under test (one per object and companion setting).
const baselines = new Map();
function baseline(object, also) {
  const key = `${object}|${also}`;
  if (!baselines.has(key)) baselines.set(key, submit({ object, sr: also }).then((j) => finished(j.JobId)));
  return baselines.get(key);
}

// Every accepted value. A row sends `set` (elements under test) on top of `also` (a companion
// setting its baseline shares). effect: 'same' (the result is the baseline's: a default sent
// explicitly, a declaration the input already meets, or audio the option has nothing to act on —
// the README says which), or a function (job, baseline) checking what the values do.
const SPEECH = 'in/speech.wav', STEREO = 'in/stereo.wav';
const noPunct = (j) => detail(j).every((s) => !/[.,!?]/.test(s.FinalSentence));
const VALID = [
  { set: { EngineModelType: '16k_en', ChannelNum: '1', ResTextFormat: '0', FilterPunc: '0', SpeakerDiarization: '0',
    SpeakerNumber: '0', OutputFileType: 'txt', FlashAsr: 'false', Format: 'wav', FirstChannelOnly: '1', WordInfo: '0' },
  effect: 'same' },   // FlashAsr false is what every job here is (echo-only); a mono input's channel 0 is all of it
  // one voice: diarization keeps it whole, one speaker, the same text
  { set: { SpeakerDiarization: '1' }, object: SPEECH, also: '<ResTextFormat>2</ResTextFormat>', effect: (j, b) => {
    assert.equal(words(j), words(b));
    assert.ok(detail(j).length > 0 && detail(j).every((x) => Number(x.SpeakerId) === 0), JSON.stringify(detail(j)));
  } },
  // a count forced on one voice may cut it in two, never loses or mixes a word
  { set: { SpeakerDiarization: '1', SpeakerNumber: '2' }, object: SPEECH, also: '<ResTextFormat>2</ResTextFormat>',
    effect: (j, b) => {
      assert.equal(words(j), words(b));
      assert.ok(detail(j).every((x) => ['0', '1'].includes(String(x.SpeakerId))), JSON.stringify(detail(j)));
    } },
  // ChannelNum 2: each channel is its speaker, SpeakerDiarization changes nothing
  { set: { SpeakerDiarization: '1', ChannelNum: '2' }, object: STEREO, also: '<ChannelNum>2</ChannelNum>', effect: 'same' },
  { set: { ChannelNum: '2' }, object: STEREO, effect: (j) => {
    const lines = result(j).Result.split('\n');
    assert.ok(lines.some((l) => l.startsWith('0 [')) && lines.some((l) => l.startsWith('1 [')), result(j).Result);
  } },
  ...['1', '2', '3'].map((v) => ({ set: { ResTextFormat: v }, effect: (j, b) => {
    assert.equal(result(b).ResultDetail, '');
    assert.ok(detail(j).length > 0);
  } })),
  { set: { FilterDirty: '0', ConvertNumMode: '0', FilterModal: '0' }, object: SPEECH, effect: 'same' },
  { set: { FilterDirty: '1' }, object: SPEECH, effect: (j, b) => {
    assert.match(words(b), /dollars/);
    assert.doesNotMatch(words(j), /dollars|\*/);
  } },
  { set: { FilterDirty: '2' }, object: SPEECH, effect: (j) => assert.match(words(j), /\*{7}/) },
  // pocketsphinx hears this audio's fillers only now and then (its words vary with the decode:
  // "and will you", "and uh oh you"): the job's words are the baseline's with `cicada text`'s
  // FilterModal applied, whatever was heard; its rules are exercised in tests/text and text.test.js
  ...['1', '2'].map((v) => ({ set: { FilterModal: v }, object: SPEECH, effect: (j, b) => {
    const filtered = L.execFileSync(L.BIN, ['text', '--filter-modal', v, '--lang', 'en'], { input: words(b) + '\n' }).toString().trim();
    assert.equal(words(j), filtered);
  } })),
  { set: { FilterPunc: '1' }, object: SPEECH, also: '<ResTextFormat>2</ResTextFormat>', effect: (j, b) => {
    assert.ok(detail(b).some((s) => /[.,]$/.test(s.FinalSentence)), 'the baseline has marks from pauses');
    for (const s of detail(j)) assert.doesNotMatch(s.FinalSentence, /[.,!?]$/);
  } },
  { set: { FilterPunc: '2' }, object: SPEECH, also: '<ResTextFormat>2</ResTextFormat>', effect: (j) => assert.ok(noPunct(j)) },
  ...['1', '3'].map((v) => ({ set: { ConvertNumMode: v }, object: SPEECH, effect: (j, b) => {
    assert.doesNotMatch(words(b), /\d/);
    assert.match(words(j), /\d/);
  } })),
  ...[['srt', /^1\n\d\d:\d\d:\d\d,\d{3} --> /], ['vtt', /^WEBVTT\n/], ['json', /^\{\s*"Sentences"/]].map(([v, re]) => ({
    set: { OutputFileType: v }, effect: async (j, b) => {
      assert.equal(result(j).Result, result(b).Result);
      assert.match((await L.getObject(cos, result(j).ObjectName)).Body.toString(), re);
    },
  })),
  { set: { SentenceMaxLength: '0' }, also: '<ResTextFormat>3</ResTextFormat>', effect: 'same' },
  ...['6', '40'].map((v) => ({ set: { SentenceMaxLength: v }, also: '<ResTextFormat>3</ResTextFormat>', effect: (j, b) => {
    for (const s of detail(j)) assert.ok([...s.FinalSentence.replace(/\s/g, '')].length <= Number(v) || s.WordsNum === '1', s.FinalSentence);
    if (v === '6') assert.notEqual(detail(j).length, detail(b).length);
  } })),
  { set: { Format: 'pcm' }, object: 'in/jfk.pcm', effect: async (j, b) => {
    assert.equal(b.State, 'Failed', 'headerless PCM is not found from the content');
    assert.equal(j.State, 'Success', JSON.stringify(j));
    assert.equal(words(j), words(await baseline('in/jfk.wav', '')));
  } },
  { set: { Format: 'mp3' }, object: 'in/jfk.mp3', effect: 'same' },
  { set: { Format: 'mp3' }, effect: (j) => {
    assert.equal(j.State, 'Failed');
    assert.equal(j.Code, 'InputFormatMismatch');
    assert.match(j.Message, /WAV.*not the mp3 that Format declares/i);
  } },
  { set: { FirstChannelOnly: '0' }, object: STEREO, effect: 'same' },
  { set: { FirstChannelOnly: '1' }, object: STEREO, effect: async (j, b) => {
    const mono = words(await baseline('in/jfk.wav', ''));
    assert.equal(words(j), mono, 'channel 0 alone is jfk.wav');
    assert.notEqual(words(b), mono, 'the mix is not');
  } },
  ...['1', '2'].map((v) => ({ set: { WordInfo: v }, effect: (j, b) => {
    assert.equal(result(j).Result, result(b).Result, 'Result lines stay ResTextFormat 0');
    assert.equal(result(b).ResultDetail, '');
    assert.ok(detail(j).length > 0);
    for (const s of detail(j)) assert.ok([].concat(s.Words).length > 0);
    if (v === '1') assert.ok(noPunct(j));
    else assert.ok(detail(j).some((s) => /[.,]$/.test(s.FinalSentence)), 'marks from pauses');
  } })),
];

test('every accepted SpeechRecognition value is echoed and changes the result, or is documented as not', async () => {
  const hv = await L.ci(cos, srv.port, 'POST', '/asrhotvocabtable', {
    body: '<Request><TableName>t</TableName><VocabularyWeights><Vocabulary>country</Vocabulary><Weight>10</Weight>' +
      '</VocabularyWeights></Request>',
  });
  // the hot-vocabulary table's effect is hotvocab.test.js's subject; here: accepted, echoed, run
  const rows = [...VALID, { set: { HotVocabularyTableId: hv.Response.TableId }, effect: (j) => assert.equal(j.State, 'Success') }];
  const sets = (row) => Object.entries(row.set);
  const jobs = await Promise.all(rows.map(async (row) => {
    const object = row.object || 'in/jfk.wav', also = row.also || '';
    const sub = await submit({ object, sr: also + sets(row).map(([el, v]) => `<${el}>${v}</${el}>`).join('') });
    for (const [el, v] of sets(row)) assert.equal(sub.Operation.SpeechRecognition[el], v, `${el} ${v} echoed at submit`);
    return { row, id: sub.JobId, base: baseline(object, also) };
  }));
  const seen = new Set();
  for (const { row, id, base } of jobs) {
    const what = `${JSON.stringify(row.set)} (${row.object || 'in/jfk.wav'}${row.also || ''})`;
    const [j, b] = [await finished(id), await base];
    assert.ok(b.State === 'Success' || row.set.Format === 'pcm', `baseline for ${what}: ${JSON.stringify(b)}`);
    for (const [el, v] of sets(row)) {
      assert.equal(j.Operation.SpeechRecognition[el], v, `${what}: ${el} echoed`);
      seen.add(el);
    }
    if (row.effect === 'same') assert.equal(outcome(j), outcome(b), `${what} should change nothing here`);
    else await row.effect(j, b);
  }
  // the table covers the whole section 2 list
  for (const el of ['EngineModelType', 'ChannelNum', 'ResTextFormat', 'FilterDirty', 'FilterModal', 'FilterPunc',
    'ConvertNumMode', 'SpeakerDiarization', 'SpeakerNumber', 'OutputFileType', 'SentenceMaxLength', 'HotVocabularyTableId',
    'FlashAsr', 'Format', 'FirstChannelOnly', 'WordInfo']) assert.ok(seen.has(el), el);
});

// ---- refusals ----

async function jobCount() {
  let n = 0, token = '';
  do {
    const d = await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100', nextToken: token } });
    n += [].concat(d.Response.JobsDetail || []).length;
    token = d.Response.NextToken || '';
  } while (token);
  return n;
}

// Invalid SpeechRecognition contents (EngineModelType included), for jobs and templates alike.
const EN = '<EngineModelType>16k_en</EngineModelType>';
const SR_INVALID = [
  ['EngineModelType', ''],
  ['EngineModelType', '<EngineModelType></EngineModelType>'],
  ['EngineModelType', '<EngineModelType>16k_xx</EngineModelType>'],
  ...['0', '3', '01', '+1', 'one'].map((v) => ['ChannelNum', `${EN}<ChannelNum>${v}</ChannelNum>`]),
  ...['4', '1.5', '-1'].map((v) => ['ResTextFormat', `${EN}<ResTextFormat>${v}</ResTextFormat>`]),
  ['FilterDirty', `${EN}<FilterDirty>3</FilterDirty>`],
  ['FilterModal', `${EN}<FilterModal>3</FilterModal>`],
  ['FilterPunc', `${EN}<FilterPunc>3</FilterPunc>`],
  ...['2', '4'].map((v) => ['ConvertNumMode', `${EN}<ConvertNumMode>${v}</ConvertNumMode>`]),
  ...['2', '-1', 'yes'].map((v) => ['SpeakerDiarization', `${EN}<SpeakerDiarization>${v}</SpeakerDiarization>`]),
  ...['1', '10'].map((v) => ['SpeakerNumber', `${EN}<SpeakerNumber>${v}</SpeakerNumber>`]),   // without diarization
  ...['11', '-1'].map((v) => ['SpeakerNumber', `${EN}<SpeakerDiarization>1</SpeakerDiarization><SpeakerNumber>${v}</SpeakerNumber>`]),
  ['OutputFileType', `${EN}<OutputFileType>doc</OutputFileType>`],
  ...['5', '41', '06'].map((v) => ['SentenceMaxLength', `${EN}<SentenceMaxLength>${v}</SentenceMaxLength>`]),
  ['HotVocabularyTableId', `${EN}<HotVocabularyTableId>hnothere</HotVocabularyTableId>`],
  ...['true', 'yes', 'False'].map((v) => ['FlashAsr', `${EN}<FlashAsr>${v}</FlashAsr>`]),
  ...['speex', 'silk', 'flac', 'mp4'].map((v) => ['Format', `${EN}<Format>${v}</Format>`]),
  ...['2', 'true', '01'].map((v) => ['FirstChannelOnly', `${EN}<FirstChannelOnly>${v}</FirstChannelOnly>`]),
  ...['3', 'yes'].map((v) => ['WordInfo', `${EN}<WordInfo>${v}</WordInfo>`]),
  ['WordInfo', `${EN}<ResTextFormat>2</ResTextFormat><WordInfo>1</WordInfo>`],
];
const withSr = (inner) => L.submitXml().replace(/<SpeechRecognition>.*<\/SpeechRecognition>/, `<SpeechRecognition>${inner}</SpeechRecognition>`);
const withOp = (op) => L.submitXml().replace('</Operation>', `${op}</Operation>`);
const INVALID = [
  ...SR_INVALID.map(([el, inner]) => [el, withSr(inner)]),
  // the other elements of a job
  ...['a&#9;b', 'a&#10;b', 'a&#13;b', '&#127;', '&#133;', 'x'.repeat(1025), '中'.repeat(1025)].map((v) =>
    ['UserData', withOp(`<UserData>${v}</UserData>`)]),
  ...['01', '3', '+1', '-0', 'high'].map((v) => ['JobLevel', withOp(`<JobLevel>${v}</JobLevel>`)]),
  ['Output/Object', L.submitXml({ output: '' })],
  ['Output/Object', L.submitXml().replace(/<Object>out\/jfk.txt<\/Object>/, '')],
  ['CallBackType', L.submitXml({ extra: '<CallBackType>TDMQ</CallBackType>' })],
  ['CallBackMqConfig', L.submitXml({ extra: '<CallBackMqConfig><MqRegion>bj</MqRegion><MqMode>Queue</MqMode>' +
    '<MqName>q</MqName></CallBackMqConfig>' })],
];

function assertRefused(r, el, body) {
  assert.equal(r.status, 400, `${el}: ${body}\n${r.body}`);
  assert.equal(L.tag(r.body, 'Code'), 'InvalidArgument', r.body);
  assert.ok(L.tag(r.body, 'Message').includes(el), `the message names ${el}: ${r.body}`);
}

test('every invalid value is a 400 naming the element, and creates no job', async () => {
  const before = await jobCount();
  for (const [el, body] of INVALID) assertRefused(await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body }), el, body);
  // broken UTF-8 never reaches the validators: the XML layer refuses the body
  const bad = Buffer.concat([Buffer.from(withOp('<UserData>a')), Buffer.from([0xff, 0xfe]), Buffer.from('</UserData>')]);
  const r = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: bad });
  assert.equal(r.status, 400, r.body);
  assert.equal(L.tag(r.body, 'Code'), 'MalformedXML');
  assert.equal(await jobCount(), before, 'no refused submit created a job');
  // the limits themselves are accepted: 1024 characters of four bytes each, JobLevel 2
  const long = '😀'.repeat(1024);
  const ok = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: withOp(`<UserData>${long}</UserData><JobLevel>2</JobLevel>`) });
  assert.equal(ok.Response.JobsDetail.Operation.UserData, long);
  assert.equal(await jobCount(), before + 1);
});

test('templates are held to the same SpeechRecognition rules (one validator)', async () => {
  const templates = async () => Number(L.tag((await L.raw(srv.port, { pathname: '/template' })).body, 'TotalCount'));
  const before = await templates();
  for (const [el, inner] of SR_INVALID) {
    const body = `<Request><Tag>SpeechRecognition</Tag><Name>t</Name><SpeechRecognition>${inner}</SpeechRecognition></Request>`;
    assertRefused(await L.raw(srv.port, { method: 'POST', pathname: '/template', body }), el, body);
  }
  assert.equal(await templates(), before);
});

// ---- echoes, byte for byte ----

const SPECIAL = `&<>"' 中文 😀 ü &amp;`;
const UD = `  ${SPECIAL} `;   // UserData keeps even the spaces around it
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

test('every echoed field round-trips byte for byte: submit, describe, list, XML and JSON callbacks', async () => {
  const inKey = `in/${SPECIAL}.wav`, outKey = `out/${SPECIAL}.txt`;
  await L.putFile(cos, inKey, jfk);
  const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
  const cb = (name) => `http://127.0.0.1:${rx.port}/${name}?a=1&b='x'&c=%E4%B8%AD`;
  const url = `http://127.0.0.1:${rx.port}/audio/a&b'c%20%E4%B8%AD.wav?x=1&y="2"`;
  const body = (input, name, format) => '<Request><Tag>SpeechRecognition</Tag>' + input +
    '<Operation><SpeechRecognition><EngineModelType>16k_en</EngineModelType></SpeechRecognition>' +
    `<Output><Region>${L.REGION}</Region><Bucket>${L.BUCKET}</Bucket><Object>${esc(outKey)}</Object></Output>` +
    `<UserData>${esc(UD)}</UserData><JobLevel>2</JobLevel></Operation><QueueId>${q.QueueId}</QueueId>` +
    `<CallBack>${esc(cb(name))}</CallBack><CallBackFormat>${format}</CallBackFormat><CallBackType>Url</CallBackType></Request>`;
  const jobs = [
    { name: 'xml', format: 'XML', input: `<Input><Object>${esc(inKey)}</Object></Input>`, field: ['Object', inKey] },
    { name: 'json', format: 'JSON', input: `<Input><Url>${esc(url)}</Url></Input>`, field: ['Url', url] },
  ];
  const check = (j, job, where) => {
    const m = `${job.name} job, ${where}`;
    assert.equal(j.Input[job.field[0]], job.field[1], m);
    assert.equal(j.QueueId, q.QueueId, m);
    assert.equal(j.Operation.Output.Object, outKey, m);
    assert.equal(j.Operation.Output.Bucket, L.BUCKET, m);
    assert.equal(j.Operation.UserData, UD, m);
    assert.equal(j.Operation.JobLevel, '2', m);
    assert.equal(j.Operation.SpeechRecognition.EngineModelType, '16k_en', m);
    assert.equal(j.CallBack, cb(job.name), m);
    assert.equal(j.CallBackFormat, job.format, m);
    assert.equal(j.CallBackType, 'Url', m);
  };
  for (const job of jobs) {
    // the raw reply, parsed as the SDK parses it, and through the SDK itself
    const r = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: body(job.input, job.name, job.format) });
    assert.equal(r.status, 200, r.body);
    job.id = L.tag(r.body, 'JobId');
    check(xml2json(r.body).Response.JobsDetail, job, 'submit reply');
  }
  for (const job of jobs) {
    const done = await finished(job.id);
    assert.equal(done.State, 'Success', JSON.stringify(done));
    check(done, job, 'describe');
    assert.equal(result(done).ObjectName, outKey);
    assert.equal(result(done).ResultDetail, '', 'ResTextFormat 0: an empty ResultDetail');
    assert.equal((await L.getObject(cos, outKey)).Body.toString(), result(done).Result);
  }
  const list = [].concat((await L.ci(cos, srv.port, 'GET', '/asr_jobs', { query: { size: '100' } })).Response.JobsDetail);
  for (const job of jobs) check(list.find((j) => j.JobId === job.id), job, 'list');

  const x = await rx.waitFor((g) => g.url.startsWith('/xml?'));
  assert.equal(x.url, `/xml?a=1&b='x'&c=%E4%B8%AD`);
  assert.equal(x.type, 'application/xml');
  assert.match(x.body, /<ResultDetail><\/ResultDetail>|<ResultDetail\/>/);
  check(xml2json(x.body).Response.JobsDetail, jobs[0], 'XML callback');
  const js = await rx.waitFor((g) => g.url.startsWith('/json?'));
  assert.equal(js.type, 'application/json');
  const parsed = JSON.parse(js.body);
  check(parsed.JobsDetail, jobs[1], 'JSON callback');
  assert.equal(parsed.JobsDetail.Operation.SpeechRecognitionResult.ResultDetail, '');
});

test('a job without Output keeps its result in JobsDetail only', async () => {
  const xml = L.submitXml().replace(/<Output>.*<\/Output>/, '');
  assert.doesNotMatch(xml, /Output/);
  const j = await finished((await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: xml })).Response.JobsDetail.JobId);
  assert.equal(j.State, 'Success', JSON.stringify(j));
  assert.equal(j.Operation.Output.Object, '');
  assert.equal(result(j).ObjectName, '');
  assert.equal(result(j).DetailObjectName, '');
  assert.equal(words(j), words(await baseline('in/jfk.wav', '')));
});
