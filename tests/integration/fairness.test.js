// fairness.test.js — one tenant cannot starve another: with a single worker busy, tenant A floods
// its queue with JobLevel 2 jobs and tenant B (another appid, from a keys file, with a bucket of its
// own) then submits one JobLevel 0 job. JobLevel orders jobs within a queue only; the queues take
// turns, so B's job is among the first to finish after it is submitted, not the last.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

// about a second of speech: each job keeps the single worker busy for a moment, no longer
const clip = path.join(L.TESTDATA, 'en', 'sphinx', '001.wav');
L.skipUnless(fs.existsSync(clip), `no test audio at ${clip} (set CICADA_TESTDATA)`);

const FLOOD = 6;
const B_APPID = '1300000000';
const B_BUCKET = `tenantb-${B_APPID}`;
const B_KEY = { secretId: 'AKIDtenantB', secretKey: 'SKtenantB' };
const B_CI = `${B_BUCKET}.ci.${L.REGION}.myqcloud.com`;
const B_COS = `${B_BUCKET}.cos.${L.REGION}.myqcloud.com`;

function jobXml(bucket, output, level) {
  return `<Request><Tag>SpeechRecognition</Tag><Input><Object>in/clip.wav</Object></Input><Operation>` +
    `<SpeechRecognition><EngineModelType>16k_en</EngineModelType></SpeechRecognition>` +
    `<Output><Region>${L.REGION}</Region><Bucket>${bucket}</Bucket><Object>${output}</Object></Output>` +
    `<JobLevel>${level}</JobLevel></Operation></Request>`;
}

// Tenant B speaks raw signed HTTP: its bucket is named by the Host header, as on the real service.
async function asB(port, opts) {
  const r = await L.raw(port, { ...opts, signOpts: B_KEY });
  assert.ok(r.status === 200, `${opts.method || 'GET'} ${opts.pathname}: ${r.status} ${r.body}`);
  return r;
}

test('a flood of level-2 jobs from one tenant does not starve another tenant\'s level-0 job', async () => {
  const dataDir = L.tmpDir('cicada-fair-');
  const keys = path.join(dataDir, 'keys');
  fs.writeFileSync(keys, `# tenant B\n${B_KEY.secretId} ${B_KEY.secretKey} ${B_APPID}\n`);
  const srv = await L.startServer({ dataDir, env: { CICADA_WORKERS: '1', CICADA_KEYS_FILE: keys } });
  try {
    // tenant A: the default key and bucket, through the SDK
    const cos = L.client(srv.port);
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/clip.wav', clip);
    // tenant B: its own appid and bucket
    await asB(srv.port, { method: 'POST', pathname: '/asrbucket', host: B_CI });
    await asB(srv.port, { method: 'PUT', pathname: '/in/clip.wav', host: B_COS, body: fs.readFileSync(clip) });

    const submitA = async (i) => (await L.ci(cos, srv.port, 'POST', '/asr_jobs',
      { body: jobXml(L.BUCKET, `out/a${i}.txt`, 2) })).Response.JobsDetail.JobId;
    const aIds = [];
    for (let i = 0; i < FLOOD; i++) aIds.push(await submitA(i));
    const rb = await asB(srv.port, { method: 'POST', pathname: '/asr_jobs', host: B_CI,
      body: jobXml(B_BUCKET, 'out/b.txt', 0) });
    const bId = L.tag(rb.body, 'JobId');
    assert.ok(bId, rb.body);

    // which jobs were still waiting when B's arrived: only those compete with it
    const waiting = new Set();
    const a0 = await L.ci(cos, srv.port, 'GET', `/asr_jobs/${aIds.join(',')}`);
    for (const j of [].concat(a0.Response.JobsDetail)) if (j.State === 'Submitted') waiting.add(j.JobId);
    assert.ok(waiting.size >= 3, `the single worker should still have A's jobs waiting (${waiting.size})`);

    // poll until all are done, noting the order in which they finish
    const order = [];
    const deadline = Date.now() + 50000;
    while (order.length < FLOOD + 1) {
      assert.ok(Date.now() < deadline, `only ${order.length} of ${FLOOD + 1} jobs finished: ${order}`);
      const a = await L.ci(cos, srv.port, 'GET', `/asr_jobs/${aIds.join(',')}`);
      const b = await asB(srv.port, { pathname: `/asr_jobs/${bId}`, host: B_CI });
      const states = [].concat(a.Response.JobsDetail).map((j) => [j.JobId, j.State]);
      states.push([bId, L.tag(b.body, 'State')]);
      for (const [id, state] of states) {
        if (order.includes(id) || state === 'Submitted' || state === 'Running') continue;
        assert.equal(state, 'Success', `job ${id} ended ${state}`);
        order.push(id);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // B's job runs as soon as the worker is free: at most one of A's waiting jobs ends before it
    const competitors = order.filter((id) => id === bId || waiting.has(id));
    const rank = competitors.indexOf(bId);
    assert.ok(rank <= 1, `B's level-0 job finished after ${rank} of A's ${waiting.size} waiting jobs (order ${order})`);
  } finally {
    await srv.stop();
  }
});
