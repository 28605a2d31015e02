// window_memory.js [COPIES] [JOBS] — what a whisper recognition window costs in memory, and whether a
// server's peak creeps from job to job: one server with one worker (VAD on, the generated tiny test
// model), the same file of COPIES x jfk.wav (default 55: 605 s) recognised JOBS times in a row
// (default 3), printing the server's peak RSS (VmHWM) after each job. The window length is the
// build's (WHISPER_WINDOW_MS in src/engine/engine_whisper.c): rebuild with another to compare.
// Needs CICADA_BIN (default build/cicada), CICADA_TESTDATA, CICADA_SHARED and CICADA_TEST_MODELS
// (default build/test-models, which the whisper_models test fixture fills).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));

const COPIES = Number(process.argv[2] || 55);
const JOBS = Number(process.argv[3] || 3);
const models = process.env.CICADA_TEST_MODELS || path.join(L.ROOT, 'build', 'test-models');
const model = path.join(models, 'ggml-tiny.en-random.bin');
const vad = path.join(L.SHARED, 'models', 'vad', 'ggml-silero-v6.2.0.bin');
const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');

(async () => {
  for (const f of [model, vad, jfk]) if (!fs.existsSync(f)) throw new Error(`missing ${f}`);
  const dir = L.tmpDir('cicada-window-memory-');
  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, `file '${jfk}'\n`.repeat(COPIES));
  const file = path.join(dir, 'long.wav');
  L.execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', file]);
  const srv = await L.startServer({ env: { CICADA_ENGINES: `16k_en=whisper:${model}:en`, CICADA_VAD_MODEL: vad, CICADA_WORKERS: '1' } });
  try {
    const c = L.client(srv.port);
    await L.ci(c, srv.port, 'POST', '/asrbucket');
    await L.putFile(c, 'in/long.wav', file);
    const peaks = [];
    for (let i = 0; i < JOBS; i++) {
      const t0 = Date.now();
      const d = await L.ci(c, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/long.wav', output: `out/${i}.txt` }) });
      const j = await L.waitJob(c, srv.port, d.Response.JobsDetail.JobId, { timeoutMs: 900000 });
      if (j.State !== 'Success') throw new Error(JSON.stringify(j));
      peaks.push(`${(L.serverRssKb(srv.proc) / 1024).toFixed(1)} MB (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    console.log(`${COPIES * 11} s file, ${JOBS} jobs: peak RSS after each: ${peaks.join(' / ')}`);
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
