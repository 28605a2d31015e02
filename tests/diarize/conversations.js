// conversations.js — builds multi-speaker conversations with ground-truth RTTM from the real
// recordings in ../shared/testdata (issue 13), deterministically from a seed, for the diarization
// tests and bench/. Speakers take turns of 1–2 of their utterances separated by random gaps (or, in
// the overlap variant, sometimes starting a little before the previous turn ends). Each utterance is
// trimmed of its leading and trailing silence first, so that the reference marks speech only.
//
//   node tests/diarize/conversations.js SET SEED OUT_DIR [--turns N] [--overlap] [--speakers K]
//
// SET: aishell (two Mandarin speakers, 16 kHz), fsdd (up to six digit speakers, 8 kHz), en (a Hi-Fi
// TTS voice and a LibriSpeech voice, 16 kHz). Writes OUT_DIR/<name>.wav and OUT_DIR/<name>.rttm
// (`SPEAKER <name> 1 <onset> <dur> <NA> <NA> <spk> <NA> <NA>`) and prints the name.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const TESTDATA = process.env.CICADA_TESTDATA || path.join(__dirname, '../../../shared/testdata');

// Speakers of a set: their name and their files, in a fixed order.
function speakersOf(set) {
  const list = (dir, re) => fs.readdirSync(path.join(TESTDATA, dir)).filter((f) => re.test(f)).sort()
    .map((f) => path.join(TESTDATA, dir, f));
  switch (set) {
    case 'aishell':
      return { rate: 16000, speakers: ['S0150', 'S0252'].map((s) => ({ name: s, files: list('zh/aishell', new RegExp(`^BAC009${s}W\\d+\\.wav$`)) })) };
    case 'fsdd':
      return { rate: 8000, speakers: ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'].map((s) => ({
        name: s, files: list('8k/fsdd', new RegExp(`^\\d_${s}_\\d+\\.wav$`)) })) };
    case 'en':
      return { rate: 16000, speakers: [
        { name: 'hifitts6097', files: list('en/hifitts', /\.wav$/) },
        { name: 'libri1089', files: list('en/librispeech', /\.flac$/) },
      ] };
    default:
      throw new Error(`unknown set ${set} (aishell, fsdd, en)`);
  }
}

// mulberry32: a small seeded generator, so that a seed always gives the same conversation
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Decoded recordings, kept for the process: a conversation uses each file once, a test run many times.
const decoded = new Map();
function pcmOf(file, rate) {
  const key = `${file}@${rate}`;
  if (!decoded.has(key)) decoded.set(key, decode(file, rate));
  return decoded.get(key);
}

function decode(file, rate) {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(rate), '-'],
    { maxBuffer: 1 << 28 });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2);
}

// Drops leading and trailing 10 ms frames quieter than 35 dB under the utterance's loudest frame.
function trimmed(pcm, rate) {
  const frame = rate / 100;
  const energy = [];
  for (let i = 0; i + frame <= pcm.length; i += frame) {
    let e = 0;
    for (let j = i; j < i + frame; j++) e += pcm[j] * pcm[j];
    energy.push(e / frame);
  }
  const floor = Math.max(...energy) * 10 ** (-35 / 10);
  let a = energy.findIndex((e) => e > floor);
  let b = energy.length - 1;
  while (b > a && energy[b] <= floor) b--;
  if (a < 0) return pcm.subarray(0, 0);
  return pcm.subarray(a * frame, (b + 1) * frame);
}

// A conversation: { name, rate, samples: Int16Array, turns: [{ speaker, start, end }] } (seconds).
function build(set, seed, { turns = 20, overlap = false, speakers: nspk = 0 } = {}) {
  const { rate, speakers: all } = speakersOf(set);
  const speakers = all.slice(0, nspk > 0 ? nspk : all.length);
  const rand = rng(seed);
  const pick = (n) => Math.floor(rand() * n);
  const used = speakers.map(() => new Set());
  const segs = [];
  let t = 0.3 + rand() * 0.5;   // a little silence first
  let cur = pick(speakers.length);
  for (let k = 0; k < turns; k++) {
    if (k > 0 && speakers.length > 1) {   // the next speaker is never the current one
      const others = speakers.map((_, i) => i).filter((i) => i !== cur);
      cur = others[pick(others.length)];
    }
    const s = speakers[cur];
    const n = 1 + pick(2);
    for (let u = 0; u < n; u++) {
      let f = pick(s.files.length);
      while (used[cur].has(f) && used[cur].size < s.files.length) f = (f + 1) % s.files.length;
      used[cur].add(f);
      const pcm = trimmed(pcmOf(s.files[f], rate), rate);
      segs.push({ speaker: cur, start: t, pcm });
      t += pcm.length / rate + (u + 1 < n ? 0.1 + rand() * 0.3 : 0);
    }
    const gap = overlap && rand() < 0.3 ? -(0.2 + rand() * 0.5) : 0.2 + rand() * 1.3;
    t = Math.max(segs[segs.length - 1].start + 0.5, t + gap);
  }
  const total = Math.ceil((t + 0.5) * rate);
  const mix = new Float64Array(total);
  for (const g of segs) {
    const at = Math.round(g.start * rate);
    for (let i = 0; i < g.pcm.length; i++) mix[at + i] += g.pcm[i];
  }
  const samples = Int16Array.from(mix, (x) => Math.max(-32768, Math.min(32767, Math.round(x))));
  const name = `${set}${nspk > 0 ? nspk : ''}-${overlap ? 'ov' : 'clean'}-${seed}`;
  return {
    name, rate, samples,
    turns: segs.map((g) => ({ speaker: speakers[g.speaker].name, start: g.start, end: g.start + g.pcm.length / rate })),
  };
}

function rttmOf(c) {
  return c.turns.map((x) => `SPEAKER ${c.name} 1 ${x.start.toFixed(3)} ${(x.end - x.start).toFixed(3)} <NA> <NA> ` +
    `${x.speaker} <NA> <NA>\n`).join('');
}

// Writes <dir>/<name>.wav and <dir>/<name>.rttm; returns their paths.
function write(c, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const wav = path.join(dir, `${c.name}.wav`), rttm = path.join(dir, `${c.name}.rttm`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', String(c.rate), '-ac', '1', '-i', '-', '-bitexact',
    '-map_metadata', '-1', wav], { input: Buffer.from(c.samples.buffer, c.samples.byteOffset, c.samples.byteLength) });
  fs.writeFileSync(rttm, rttmOf(c));
  return { wav, rttm };
}

module.exports = { build, write, rttmOf, speakersOf };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args.splice(i, 2)[1]; };
  const turns = Number(opt('--turns') || 20), nspk = Number(opt('--speakers') || 0);
  const ov = args.indexOf('--overlap');
  if (ov >= 0) args.splice(ov, 1);
  const [set, seed, out] = args;
  if (!set || !seed || !out) {
    console.error('usage: conversations.js SET SEED OUT_DIR [--turns N] [--overlap] [--speakers K]');
    process.exit(2);
  }
  const c = build(set, Number(seed), { turns, overlap: ov >= 0, speakers: nspk });
  write(c, out);
  console.log(c.name);
}
