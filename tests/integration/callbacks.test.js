// callbacks.test.js — when a job ends the server POSTs its JobsDetail to the job's CallBack (XML or
// JSON) or else to the queue's NotifyConfig, and a callback URL that never answers delays no job.
// The receivers listen on loopback, which callbacks may reach only when the operator allows private
// addresses (CICADA_URL_ALLOW_PRIVATE=yes); ssrf.test.js checks the default, which refuses them.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);

function receiver() {
  const got = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ url: req.url, type: req.headers['content-type'], body });
      res.end('ok');
      waiters.splice(0).forEach((w) => w());
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, got, server,
    waitFor: async (n, ms = 60000) => {
      const end = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > end) throw new Error(`only ${got.length} callbacks arrived`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
    },
  })));
}

test('job and queue callbacks, XML and JSON; a dead callback blocks nothing', async () => {
  const rx = await receiver();
  // a listener that accepts and never answers
  const black = net.createServer(() => {});
  await new Promise((r) => black.listen(0, '127.0.0.1', r));
  const srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  const cos = L.client(srv.port);
  try {
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', jfk);
    const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    const submit = async (extra) => (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ extra }) })).Response.JobsDetail.JobId;
    // the first job's callback hangs (accepted, never answered) while later jobs run and notify
    const dead = await submit(`<CallBack>http://127.0.0.1:${black.address().port}/never</CallBack>`);
    const d = await L.waitJob(cos, srv.port, dead);
    assert.equal(d.State, 'Success', 'a job with a dead callback still completes');
    const jsonJob = await submit(`<CallBack>http://127.0.0.1:${rx.port}/job</CallBack><CallBackFormat>JSON</CallBackFormat>`);
    await rx.waitFor(1);
    const j = rx.got.find((g) => g.url === '/job');
    assert.equal(j.type, 'application/json');
    const parsed = JSON.parse(j.body);
    assert.equal(parsed.EventName, 'TaskFinish');
    assert.equal(parsed.JobsDetail.JobId, jsonJob);
    assert.equal(parsed.JobsDetail.State, 'Success');
    assert.equal(parsed.JobsDetail.Progress, '1.000');   // a string leaf, like every other
    assert.ok(parsed.JobsDetail.Operation.SpeechRecognitionResult.Result.length > 0);

    // the queue's NotifyConfig, XML
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, {
      body: `<Request><Name>asr-queue</Name><State>Active</State><NotifyConfig><Url>http://127.0.0.1:${rx.port}/queue</Url>` +
        '<Event>TaskFinish</Event><Type>Url</Type><State>On</State><ResultFormat>XML</ResultFormat></NotifyConfig></Request>',
    });
    const xmlJob = await submit('');
    await rx.waitFor(2);
    const x = rx.got.find((g) => g.url === '/queue');
    assert.equal(x.type, 'application/xml');
    assert.match(x.body, /^<\?xml version="1.0" encoding="utf-8"\?><Response><EventName>TaskFinish<\/EventName><JobsDetail>/);
    assert.equal(L.tag(x.body, 'JobId'), xmlJob);
    assert.match(x.body, /<\/EndTime><Progress>1\.000<\/Progress><QueueId>/);
    // "no" suppresses the queue's callback; cancel also notifies
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, {
      body: `<Request><Name>asr-queue</Name><State>Paused</State><NotifyConfig><Url>http://127.0.0.1:${rx.port}/queue</Url>` +
        '<Event>TaskFinish</Event><Type>Url</Type><State>On</State><ResultFormat>XML</ResultFormat></NotifyConfig></Request>',
    });
    await submit('<CallBack>no</CallBack>');
    const cancelled = await submit('');
    await L.ci(cos, srv.port, 'PUT', `/jobs/${cancelled}`, { query: { cancel: '' } });
    await rx.waitFor(3);
    const c = rx.got.filter((g) => g.url === '/queue')[1];
    assert.equal(L.tag(c.body, 'JobId'), cancelled);
    assert.equal(L.tag(c.body, 'State'), 'Cancel');
    assert.equal(L.tag(c.body, 'Progress'), '0.000');   // cancelled before it ran
    assert.equal(rx.got.length, 3);
  } finally {
    await srv.stop();
    rx.server.close();
    black.close();
  }
});

// NotifyConfig/Event takes the event names CI queues use, as a comma list, and echoes it: the seed's
// own example sends TransCodingFinish. A job's end fires TaskFinish and TransCodingFinish queues;
// WorkflowFinish alone never fires (no workflows run here); anything else is a 400 that changes
// nothing.
test('queue NotifyConfig/Event: TaskFinish, TransCodingFinish, WorkflowFinish', async () => {
  const rx = await receiver();
  const srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  const cos = L.client(srv.port);
  try {
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', jfk);
    const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    const update = (event, url = `http://127.0.0.1:${rx.port}/${event}`) => L.raw(srv.port, {
      method: 'PUT', pathname: `/asrqueue/${q.QueueId}`, headers: { 'Content-Type': 'application/xml' },
      body: `<Request><Name>asr-queue</Name><QueueID>${q.QueueId}</QueueID><State>Active</State><NotifyConfig>` +
        `<Type>Url</Type><Url>${url}</Url><Event>${event}</Event><State>On</State></NotifyConfig></Request>`,
    });
    const run = async () => {
      const id = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml() })).Response.JobsDetail.JobId;
      assert.equal((await L.waitJob(cos, srv.port, id)).State, 'Success');
      return id;
    };
    // the seed's update, byte for byte apart from the URL
    const seed = await update('TransCodingFinish');
    assert.equal(seed.status, 200, seed.body);
    assert.equal(L.tag(seed.body, 'Event'), 'TransCodingFinish');
    const a = await run();
    await rx.waitFor(1);
    assert.equal(rx.got[0].url, '/TransCodingFinish');
    assert.equal(L.tag(rx.got[0].body, 'JobId'), a);
    assert.equal(L.tag(rx.got[0].body, 'EventName'), 'TaskFinish');
    // WorkflowFinish alone: accepted, echoed, and no callback for a job
    const wf = await update('WorkflowFinish');
    assert.equal(wf.status, 200, wf.body);
    const listed = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    assert.equal(listed.NotifyConfig.Event, 'WorkflowFinish');
    await run();
    // both: a job's end fires
    const both = await update('TaskFinish,WorkflowFinish', `http://127.0.0.1:${rx.port}/both`);
    assert.equal(L.tag(both.body, 'Event'), 'TaskFinish,WorkflowFinish');
    const c = await run();
    await rx.waitFor(2);
    assert.deepEqual(rx.got.map((g) => g.url), ['/TransCodingFinish', '/both'], 'the WorkflowFinish-only queue sent nothing');
    assert.equal(L.tag(rx.got[1].body, 'JobId'), c);
    // unknown names, empty items and an empty list while On are refused; the queue keeps its settings
    for (const bad of ['JobFinish', 'TaskFinish,,WorkflowFinish', 'taskfinish', '']) {
      const r = await update(bad);
      assert.equal(r.status, 400, `${bad}: ${r.body}`);
      assert.match(L.tag(r.body, 'Message'), /NotifyConfig\/Event/);
    }
    const kept = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    assert.equal(kept.NotifyConfig.Event, 'TaskFinish,WorkflowFinish');
  } finally {
    await srv.stop();
    rx.server.close();
  }
});
