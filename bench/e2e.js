// e2e.js BIN [RUNS] — one job's end-to-end time through `cicada serve` (submit -> callback received)
// versus the engine's own CLI (pocketsphinx_batch, whole-utterance, same model) and `cicada
// transcribe` on the same file. Prints medians in seconds.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));

const RUNS = Number(process.argv[3] || 5);
const FILE = process.env.E2E_FILE || path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;

function timeIt(fn) {
  const t = now();
  fn();
  return now() - t;
}

async function main() {
  // the engine's own CLI, reading the same wav (44-byte header skipped)
  const dir = L.tmpDir('cicada-e2e-');
  fs.copyFileSync(FILE, path.join(dir, 'utt.wav'));
  fs.writeFileSync(path.join(dir, 'ctl'), 'utt\n');
  const m = { hmm: '/usr/share/pocketsphinx/model/en-us/en-us', lm: '/usr/share/pocketsphinx/model/en-us/en-us.lm.bin',
    dict: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict' };
  const batch = [];
  for (let i = 0; i < RUNS; i++) {
    batch.push(timeIt(() => execFileSync('pocketsphinx_batch', ['-adcin', 'yes', '-adchdr', '44', '-cepdir', dir,
      '-cepext', '.wav', '-ctl', path.join(dir, 'ctl'), '-hyp', path.join(dir, 'hyp'), '-hmm', m.hmm, '-lm', m.lm,
      '-dict', m.dict, '-logfn', '/dev/null'])));
  }
  const cli = [];
  for (let i = 0; i < RUNS; i++) cli.push(timeIt(() => execFileSync(L.BIN, ['transcribe', FILE])));

  // through the service: submit, then wait for the job's callback
  let resolveCb;
  const rx = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.end(); resolveCb(now()); }); });
  await new Promise((r) => rx.listen(0, '127.0.0.1', r));
  const srv = await L.startServer({ env: { CICADA_LOG: 'warn', CICADA_WORKERS: '1', CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  const cos = L.client(srv.port);
  await L.ci(cos, srv.port, 'POST', '/asrbucket');
  await L.putFile(cos, 'in/e2e.wav', FILE);
  const service = [];
  for (let i = 0; i < RUNS; i++) {
    const done = new Promise((r) => { resolveCb = r; });
    const t0 = now();
    await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/e2e.wav', output: `out/e2e${i}.txt`,
      extra: `<CallBack>http://127.0.0.1:${rx.address().port}/cb</CallBack>` }) });
    service.push((await done) - t0);
  }
  await srv.stop();
  rx.close();
  const b = median(batch), c = median(cli), s = median(service);
  console.log(`file ${path.basename(FILE)}, ${RUNS} runs each, medians:`);
  console.log(`  pocketsphinx_batch (engine CLI): ${b.toFixed(3)} s`);
  console.log(`  cicada transcribe:               ${c.toFixed(3)} s`);
  console.log(`  cicada serve job (submit->callback): ${s.toFixed(3)} s  (${((s / b - 1) * 100).toFixed(1)}% vs engine CLI)`);
}
main().catch((e) => { console.error(e); process.exit(1); });
