// diarize.test.js — `cicada diarize FILE` on conversations built from the real recordings
// (tests/diarize/conversations.js, fixed seeds that took no part in tuning), scored by the standard
// scorer, md-eval.pl from Debian's sctk (collar 0.25 s, overlap scored). The targets:
// AISHELL two speakers, count given, DER <= 8%; count estimated, DER <= 12% with the count right
// on >= 90% of conversations; one speaker is never split. And the command's refusals, and
// `cicada transcribe --speaker-diarization 1`.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');
const conv = require('../diarize/conversations');

const MD_EVAL = ['/usr/lib/sctk/bin/md-eval.pl', '/usr/bin/md-eval.pl'].find((p) => fs.existsSync(p));
L.skipUnless(fs.existsSync(path.join(L.TESTDATA, 'zh/aishell')), `no AISHELL recordings under ${L.TESTDATA}`);
L.skipUnless(MD_EVAL, 'md-eval.pl (Debian package sctk) is not installed: scripts/deps.sh installs it');

const dir = L.tmpDir('cicada-diarize-');
const diarize = (args) => spawnSync(L.BIN, ['diarize', ...args], { encoding: 'utf8' });

// Builds one conversation, diarizes it, scores it: { der, ref, hyp } (DER in %, speaker counts).
function score(set, seed, { speakers = 0, nspk = 0, turns = 20 } = {}) {
  const c = conv.build(set, seed, { speakers: nspk, turns });
  const { wav, rttm } = conv.write(c, dir);
  const r = diarize([wav, '--speakers', String(speakers)]);
  assert.equal(r.status, 0, r.stderr);
  const hyp = path.join(dir, `${c.name}.hyp.rttm`);
  fs.writeFileSync(hyp, r.stdout);
  const m = spawnSync('perl', [MD_EVAL, '-c', '0.25', '-r', rttm, '-s', hyp], { encoding: 'utf8' });
  const der = Number((m.stdout.match(/OVERALL SPEAKER DIARIZATION ERROR = ([\d.]+) percent/) || [])[1]);
  assert.ok(Number.isFinite(der), `md-eval.pl printed no DER:\n${m.stdout}${m.stderr}`);
  const count = (text) => new Set(text.trim().split('\n').filter(Boolean).map((l) => l.split(/\s+/)[7])).size;
  return { der, ref: count(fs.readFileSync(rttm, 'utf8')), hyp: count(r.stdout), out: r.stdout, name: c.name };
}

const SEEDS = [201, 202, 203, 204, 205, 206, 207, 208, 209, 210];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('AISHELL, two speakers, count given: DER <= 8%', () => {
  const ders = SEEDS.map((s) => score('aishell', s, { speakers: 2 }).der);
  console.log(`DER per conversation: ${ders.join(' ')}; mean ${mean(ders).toFixed(2)}%`);
  assert.ok(mean(ders) <= 8, `mean DER ${mean(ders)}%`);
});

test('AISHELL, two speakers, count estimated: DER <= 12%, count right on >= 90%', () => {
  const runs = SEEDS.map((s) => score('aishell', s));
  const right = runs.filter((r) => r.hyp === r.ref).length;
  console.log(`DER per conversation: ${runs.map((r) => r.der).join(' ')}; mean ${mean(runs.map((r) => r.der)).toFixed(2)}%;` +
    ` count right on ${right}/${runs.length}`);
  assert.ok(mean(runs.map((r) => r.der)) <= 12);
  assert.ok(right >= 0.9 * runs.length);
});

test('one speaker is never split', () => {
  for (const set of ['aishell', 'en']) {
    for (const s of SEEDS.slice(0, 5)) {
      const r = score(set, s, { nspk: 1 });
      assert.equal(r.ref, 1);
      assert.equal(r.hyp, 1, `${r.name} was split into ${r.hyp} speakers`);
    }
  }
});

// Short turns (spoken digits, 8 kHz): the short-turn mode keeps one voice whole and finds two.
test('short turns: one voice stays one, two voices are found as two', () => {
  for (const s of [221, 222, 223]) {
    const one = score('fsdd', s, { nspk: 1, turns: 40 });
    assert.equal(one.hyp, 1, `${one.name} was split into ${one.hyp} speakers`);
    const two = score('fsdd', s, { nspk: 2, turns: 40 });
    assert.equal(two.hyp, 2, `${two.name}: ${two.hyp} speakers`);
  }
});

test('the RTTM lines, and the same answer every time', () => {
  const c = conv.build('aishell', 211, { turns: 6 });
  const { wav } = conv.write(c, dir);
  const a = diarize([wav, '--speakers', '2', '--file-id', 'my call']);
  assert.equal(a.status, 0, a.stderr);
  const lines = a.stdout.trim().split('\n');
  assert.ok(lines.length >= 6);
  let last = 0;
  for (const l of lines) {
    const m = l.match(/^SPEAKER my_call 1 (\d+\.\d{3}) (\d+\.\d{3}) <NA> <NA> spk([01]) <NA> <NA>$/);
    assert.ok(m, `not an RTTM line: ${l}`);
    assert.ok(Number(m[1]) >= last - 1e-9 && Number(m[2]) > 0);
    last = Number(m[1]) + Number(m[2]);
  }
  assert.match(lines[0], / spk0 /);   // numbered by first appearance
  assert.equal(diarize([wav, '--speakers', '2', '--file-id', 'my call']).stdout, a.stdout);
  const named = diarize([wav, '--speakers', '2']);
  assert.match(named.stdout, new RegExp(`^SPEAKER ${c.name} 1 `));
});

test('refusals: bad options exit 2, unreadable input exits 1, each with a reason', () => {
  for (const args of [[], ['a.wav', '--speakers', '11'], ['a.wav', '--speakers', 'two'], ['a.wav', '--max-speakers', '0'],
    ['a.wav', '--bogus'], ['a.wav', 'b.wav'], ['a.wav', '--speakers']]) {
    const r = diarize(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /cicada diarize: /);
  }
  const missing = diarize([path.join(dir, 'no-such.wav')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such\.wav/);
  const junk = path.join(dir, 'junk.wav');
  fs.writeFileSync(junk, 'RIFF this is not audio at all');
  const bad = diarize([junk]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /junk\.wav: .*\(InputNotAudio\)/);
  const help = diarize(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /RTTM/);
});

test('cicada transcribe --speaker-diarization 1 names the speakers; its refusals', () => {
  const c = conv.build('en', 212, { turns: 6 });
  const { wav } = conv.write(c, dir);
  const t = spawnSync(L.BIN, ['transcribe', wav, '--engine', '16k_en', '--speaker-diarization', '1', '--speaker-number', '2',
    '--format', 'srt'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /\n\[SPEAKER_0\] \S/);
  assert.match(t.stdout, /\n\[SPEAKER_1\] \S/);
  for (const args of [['--speaker-number', '2'], ['--speaker-diarization', '2'], ['--speaker-diarization', '1', '--speaker-number', '11']]) {
    const r = spawnSync(L.BIN, ['transcribe', wav, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /speaker/);
  }
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
