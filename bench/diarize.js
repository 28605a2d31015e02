// diarize.js — the speaker diarizer's accuracy, speed and memory (issue 13), for docs/benchmarks.md.
//
//   node bench/diarize.js BUILD_DIR [der|speed|all]
//
// der: conversations from tests/diarize/conversations.js on seeds 501-520 (none used in tuning),
//   `cicada diarize` on each, scored by md-eval.pl (Debian's sctk) at collar 0.25 s and at collar 0,
//   overlap scored: mean DER per conversation, DER pooled over the row (as NIST scores a corpus), the
//   share of speech the 0.25 s collar leaves scored, and how often the count was right.
// speed: a 30-minute AISHELL conversation diarized on one core (taskset): wall and CPU seconds, peak
//   memory, real-time factor; the same conversation ten times over (5 hours) for peak memory; and a
//   2-minute excerpt recognised by whisper of the base dimensions (random weights, real compute,
//   `cicada transcribe`), against the diarizer's time on it.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const conv = require('../tests/diarize/conversations');

const BUILD = path.resolve(process.argv[2] || 'build');
const WHAT = process.argv[3] || 'all';
const BIN = path.join(BUILD, 'cicada');
const MD_EVAL = '/usr/lib/sctk/bin/md-eval.pl';
const SHARED = process.env.CICADA_SHARED || path.join(__dirname, '../../shared');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'cicada-bench-diarize-'));

function mdEval(ref, hyp, collar) {
  return execFileSync('perl', [MD_EVAL, '-c', String(collar), '-r', ref, '-s', hyp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
const der = (ref, hyp, collar) => Number(mdEval(ref, hyp, collar).match(/OVERALL SPEAKER DIARIZATION ERROR = ([\d.]+) percent/)[1]);
const scoredSeconds = (out) => Number(out.match(/SCORED SPEAKER TIME =\s*([\d.]+) secs/)[1]);
const speakersIn = (rttm) => new Set(rttm.trim().split('\n').filter(Boolean).map((l) => l.split(/\s+/)[7])).size;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// One row of the DER table.
function row(label, set, seeds, { speakers = 0, overlap = false, nspk = 0, turns = 20 } = {}) {
  const d25 = [], d0 = [], refs = [], hyps = [];
  let right = 0;
  for (const seed of seeds) {
    const c = conv.build(set, seed, { overlap, speakers: nspk, turns });
    const { wav, rttm } = conv.write(c, TMP);
    const hyp = path.join(TMP, `${c.name}.hyp.rttm`);
    const out = execFileSync(BIN, ['diarize', wav, '--speakers', String(speakers)], { encoding: 'utf8' });
    fs.writeFileSync(hyp, out);
    refs.push(fs.readFileSync(rttm, 'utf8'));
    hyps.push(out);
    d25.push(der(rttm, hyp, 0.25));
    d0.push(der(rttm, hyp, 0));
    right += speakersIn(out) === speakersIn(fs.readFileSync(rttm, 'utf8'));
  }
  // pooled, as NIST scores a corpus: all conversations' error time over all their scored time
  const allRef = path.join(TMP, 'all.ref.rttm'), allHyp = path.join(TMP, 'all.hyp.rttm');
  fs.writeFileSync(allRef, refs.join(''));
  fs.writeFileSync(allHyp, hyps.join(''));
  const p25 = mdEval(allRef, allHyp, 0.25), p0 = mdEval(allRef, allHyp, 0);
  const pooled = Number(p25.match(/OVERALL SPEAKER DIARIZATION ERROR = ([\d.]+) percent/)[1]);
  const share = 100 * scoredSeconds(p25) / scoredSeconds(p0);
  console.log(`| ${label} | ${seeds.length} | ${mean(d25).toFixed(1)} (${Math.max(...d25).toFixed(1)}) | ` +
    `${pooled.toFixed(1)} | ${share.toFixed(0)} | ${mean(d0).toFixed(1)} | ${right}/${seeds.length} |`);
}

function derTable() {
  const s = (n) => Array.from({ length: n }, (_, i) => 501 + i);
  console.log('| conversations | n | DER % collar 0.25, mean (worst) | pooled | speech scored % | DER % collar 0 | count right |');
  console.log('|---|---|---|---|---|---|---|');
  row('AISHELL, 2 speakers, count given', 'aishell', s(20), { speakers: 2 });
  row('AISHELL, 2 speakers, count estimated', 'aishell', s(20));
  row('AISHELL with overlaps, count given', 'aishell', s(10), { speakers: 2, overlap: true });
  row('AISHELL with overlaps, count estimated', 'aishell', s(10), { overlap: true });
  row('Hi-Fi TTS + LibriSpeech, count given', 'en', s(10), { speakers: 2 });
  row('Hi-Fi TTS + LibriSpeech, count estimated', 'en', s(10));
  row('FSDD, 6 speakers (8 kHz digits, 40 turns), count given', 'fsdd', s(10), { speakers: 6, turns: 40 });
  row('AISHELL, 1 speaker, count estimated', 'aishell', s(10), { nspk: 1 });
  row('Hi-Fi TTS, 1 speaker, count estimated', 'en', s(10), { nspk: 1 });
}

// Wall seconds, CPU seconds and peak RSS (MB) of one command, from GNU time.
function measure(args, { oneCore = true } = {}) {
  const tf = path.join(TMP, 'time.txt');
  const cmd = oneCore ? ['taskset', '-c', '0', ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, ...cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  const [u, s, m] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: u + s, rssMb: m / 1024, out: r.stdout };
}

function speed() {
  // about 30 minutes: AISHELL utterances average ~4.5 s, turns 1-2 of them plus a gap
  const c = conv.build('aishell', 550, { turns: 330 });
  const { wav, rttm } = conv.write(c, TMP);
  const dur = c.samples.length / c.rate;
  const m = measure([BIN, 'diarize', wav]);
  const hyp = path.join(TMP, 'long.hyp.rttm');
  fs.writeFileSync(hyp, m.out);
  console.log(`30-minute conversation (${(dur / 60).toFixed(1)} min), one core: ${m.wall.toFixed(2)} s wall, ` +
    `${m.cpu.toFixed(2)} s CPU, RTF ${(m.wall / dur).toFixed(4)}, peak RSS ${m.rssMb.toFixed(0)} MB, ` +
    `DER ${der(rttm, hyp, 0.25)}% (collar 0.25), ${speakersIn(m.out)} speakers found`);
  const long = path.join(TMP, 'five-hours.flac');   // FLAC: a 5-hour WAV is over the 512 MiB input limit
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '9', '-i', wav, '-t', '17990', '-c:a', 'flac', long]);
  const m5 = measure([BIN, 'diarize', long]);
  console.log(`the same over and over for 5 hours (FLAC), one core: ${m5.wall.toFixed(1)} s wall, ` +
    `RTF ${(m5.wall / 17990).toFixed(4)}, peak RSS ${m5.rssMb.toFixed(0)} MB`);
  fs.rmSync(long);
  // against recognition: whisper of the base dimensions on a 2-minute excerpt, all cores
  const excerpt = path.join(TMP, 'excerpt.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-t', '120', excerpt]);
  const model = path.join(TMP, 'base-random.bin');
  execFileSync(path.join(BUILD, 'tests/engine/whisper_model_gen'),
    [path.join(SHARED, 'models/whisper-vocab/for-tests-ggml-base.bin'), model, '--real-dims', '--seed', '1']);
  const rec = measure([BIN, 'transcribe', excerpt, '--engine', '16k_zh', '--model', model], { oneCore: false });
  const both = measure([BIN, 'transcribe', excerpt, '--engine', '16k_zh', '--model', model, '--speaker-diarization', '1'],
    { oneCore: false });
  const dia = measure([BIN, 'diarize', excerpt]);
  console.log(`2-minute excerpt: whisper base-dims recognition ${rec.wall.toFixed(1)} s (${os.cpus().length} cores), ` +
    `with diarization ${both.wall.toFixed(1)} s; the diarizer alone ${dia.wall.toFixed(2)} s on one core = ` +
    `${(100 * dia.wall / rec.wall).toFixed(2)}% of recognition`);
}

try {
  if (WHAT === 'der' || WHAT === 'all') derTable();
  if (WHAT === 'speed' || WHAT === 'all') speed();
} finally {
  fs.rmSync(TMP, { recursive: true, force: true });
}
