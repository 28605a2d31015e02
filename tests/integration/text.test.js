// text.test.js — the text options through real jobs. Synthesized speech with a spoken number,
// fillers and words on the operator's list is recognised by pocketsphinx; ConvertNumMode (0, 1,
// 3), FilterModal, FilterDirty and FilterPunc (0-2 each) run as jobs, each option alone and every
// pair of values of any two options together (an orthogonal array, L9: 13 jobs where the full
// product was 81, a minute of CI), and each job's Result must equal `cicada text` run with the same
// options on the unfiltered job's Result text — one library, applied alike to the worker's timed words and to a line. The
// operator's word list (CICADA_DIRTY_WORDS) is the one used. FilterPunc is checked on the sentences
// it acts on (ResTextFormat 2 and 3: pocketsphinx's pause punctuation), and ResultDetail words keep
// their times.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');


const dir = L.tmpDir('cicada-text-');
const speech = path.join(dir, 'speech.wav');
const dirty = path.join(dir, 'dirty.txt');
let srv, cos, plain;

test.before(async () => {
  L.execFileSync('espeak-ng', ['-v', 'en-us', '-s', '140', '-w', path.join(dir, 'espeak.wav'),
    'um, I paid one hundred dollars. uh, it is a damn good day']);
  L.execFileSync('sox', [path.join(dir, 'espeak.wav'), '-r', '16000', '-c', '1', '-b', '16', speech]);
  fs.writeFileSync(dirty, '# the operator\'s list replaces the built-in one\ndollars\nthink\n');
  srv = await L.startServer({ env: { CICADA_DIRTY_WORDS: dirty, CICADA_WORKERS: '2' } });
  cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/speech.wav', speech);
});
test.after(async () => { await srv.stop(); });

async function submit(sr, output) {
  const d = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/speech.wav', sr, output }) });
  return d.Response.JobsDetail.JobId;
}
const finished = async (id) => {
  const j = await L.waitJob(cos, srv.port, id, { timeoutMs: 600000 });
  assert.equal(j.State, 'Success', JSON.stringify(j));
  return j;
};
const lineText = (l) => l.replace(/^\[[^\]]*\]  /, '');
function cicadaText(lines, o) {
  const args = ['text', '--lang', 'en', '--dirty-words', dirty, '--convert-num-mode', o.n, '--filter-modal', o.m,
    '--filter-dirty', o.d, '--filter-punc', o.p];
  return L.execFileSync(L.BIN, args, { input: lines.join('\n') + '\n', encoding: 'utf8' }).replace(/\n$/, '').split('\n');
}

// L9(3^4): any two columns hold each pair of levels once. Level i of each option: N[i], L[i].
const L9 = ['0000', '0111', '0222', '1012', '1120', '1201', '2021', '2102', '2210'];
const N = ['0', '1', '3'];
const LV = ['0', '1', '2'];

test('each text option alone, and every pair of values together, equals `cicada text` on the unfiltered Result', async () => {
  plain = await finished(await submit('', 'out/plain.txt'));
  const base = plain.Operation.SpeechRecognitionResult.Result.split('\n');
  console.log(`unfiltered: ${base.map(lineText).join(' | ')}`);
  const combos = L9.map((r) => ({ n: N[r[0]], m: LV[r[1]], d: LV[r[2]], p: LV[r[3]] }));
  // and alone, the values whose effect this audio shows (see below)
  for (const [n, d] of [['1', '0'], ['3', '0'], ['0', '1'], ['0', '2']]) combos.push({ n, m: '0', d, p: '0' });
  // every pair of values of every two options is there
  const keys = ['n', 'm', 'd', 'p'];
  for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) {
    const pairs = new Set(combos.map((o) => o[keys[a]] + o[keys[b]]));
    assert.equal(pairs.size, 9, `options ${keys[a]} and ${keys[b]}: ${[...pairs]}`);
  }
  const ids = [];
  for (const o of combos) {
    ids.push(await submit(`<ConvertNumMode>${o.n}</ConvertNumMode><FilterModal>${o.m}</FilterModal>` +
      `<FilterDirty>${o.d}</FilterDirty><FilterPunc>${o.p}</FilterPunc>`, `out/t${o.n}${o.m}${o.d}${o.p}.txt`));
  }
  const changed = new Set();
  for (let i = 0; i < combos.length; i++) {
    const o = combos[i];
    const job = await finished(ids[i]);
    const sr = job.Operation.SpeechRecognition;
    assert.deepEqual([sr.ConvertNumMode, sr.FilterModal, sr.FilterDirty, sr.FilterPunc], [o.n, o.m, o.d, o.p]);
    const got = job.Operation.SpeechRecognitionResult.Result.split('\n').map(lineText).filter(Boolean);
    const want = cicadaText(base.map(lineText), o).filter(Boolean);
    assert.deepEqual(got, want, `options ${JSON.stringify(o)}`);
    if (got.join() !== base.map(lineText).join()) changed.add(`${o.n}${o.m}${o.d}`);
  }
  // the audio exercises the options whose triggers pocketsphinx hears: a number (modes 1 and 3) and
  // the operator's words (1 and 2); it writes no um/uh and no punctuation, so FilterModal's rules
  // (tables in tests/text) have nothing to act on here beyond matching `cicada text`
  for (const k of ['100', '300', '001', '002']) assert.ok(changed.has(k), `options ${k} changed nothing`);
});

test('FilterPunc acts on the sentences built from pauses; words keep their times', async () => {
  const sr = (f, p, extra = '') => `<ResTextFormat>${f}</ResTextFormat><FilterPunc>${p}</FilterPunc>${extra}`;
  const [p0, p1, p2, s1] = await Promise.all([sr(2, 0), sr(2, 1), sr(2, 2), sr(3, 1, '<SentenceMaxLength>10</SentenceMaxLength>')]
    .map(async (x, i) => finished(await submit(x, `out/p${i}.txt`))));
  const sentences = (j) => [].concat(j.Operation.SpeechRecognitionResult.ResultDetail);
  assert.ok(sentences(p0).some((s) => /[.,]$/.test(s.FinalSentence)), 'pauses give marks to remove');
  for (const s of sentences(p1)) assert.doesNotMatch(s.FinalSentence, /[.,!?]$/);
  assert.ok(sentences(p1).some((s) => s.FinalSentence.includes(',')) === sentences(p0).some((s) => /,./.test(s.FinalSentence)));
  for (const s of sentences(p2)) assert.doesNotMatch(s.FinalSentence, /[.,!?]/);
  for (const s of sentences(s1)) assert.doesNotMatch(s.FinalSentence, /[.,!?]$/);
  const times = (j) => sentences(j).flatMap((s) => [].concat(s.Words).map((w) => Number(s.StartMs) + Number(w.OffsetStartMs)));
  assert.deepEqual(times(p2), times(p0));
});
