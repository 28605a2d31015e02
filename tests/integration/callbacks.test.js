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
    assert.equal(rx.got.length, 3);
  } finally {
    await srv.stop();
    rx.server.close();
    black.close();
  }
});
