// prepare.js PORT NBUCKETS — readies a running `cicada serve` for the HTTP benchmarks: opens ASR on
// NBUCKETS buckets (each has a default queue, so the submit benchmark has NBUCKETS x MaxSize room),
// uploads an input object to each, submits one job, pauses the queues (so benchmark jobs wait
// instead of running) and prints shell assignments: signed Authorization headers, hosts, bodies.
'use strict';
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));

async function main() {
  const port = Number(process.argv[2]);
  const n = Number(process.argv[3] || 4);
  const out = [];
  for (let i = 0; i < n; i++) {
    const bucket = `bench${i}-${L.APPID}`;
    const host = `${bucket}.ci.${L.REGION}.myqcloud.com`;
    let r = await L.raw(port, { method: 'POST', pathname: '/asrbucket', host });
    if (r.status !== 200) throw new Error(r.body);
    r = await L.raw(port, { method: 'PUT', pathname: '/in/a.wav', host, body: 'RIFF-not-really-audio' });
    r = await L.raw(port, { pathname: '/asrqueue', host });
    const qid = L.tag(r.body, 'QueueId');
    r = await L.raw(port, { method: 'PUT', pathname: `/asrqueue/${qid}`, host,
      body: '<Request><Name>bench</Name><State>Paused</State></Request>' });
    const body = L.submitXml({ output: 'out/a.txt' }).replace(/examplebucket-1250000000/g, bucket).replace('in/jfk.wav', 'in/a.wav');
    r = await L.raw(port, { method: 'POST', pathname: '/asr_jobs', host, body });
    if (r.status !== 200) throw new Error(r.body);
    const job = L.tag(r.body, 'JobId');
    const t0 = Math.floor(Date.now() / 1000) - 60;
    out.push(`HOST_${i}='${host}'`);
    out.push(`GET_PATH_${i}='/asr_jobs/${job}'`);
    out.push(`GET_AUTH_${i}='${L.sign({ method: 'GET', pathname: `/asr_jobs/${job}`, headers: { host }, t0, t1: t0 + 7200 })}'`);
    out.push(`POST_AUTH_${i}='${L.sign({ method: 'POST', pathname: '/asr_jobs', headers: { host }, t0, t1: t0 + 7200 })}'`);
    out.push(`POST_BODY_${i}='${body}'`);
  }
  console.log(out.join('\n'));
}
main().catch((e) => { console.error(e); process.exit(1); });
