// ssrf.test.js — a job's CallBack and a queue's NotifyConfig/Url cannot make the server talk to its
// own network. With default settings, callback URLs naming loopback, private, link-local or
// unspecified addresses, localhost, another scheme or userinfo are a 400 that creates nothing; a
// public-looking name that resolves to loopback passes the submit but the delivery is refused (and
// logged with the policy), and so is a loopback URL accepted while the operator allowed private
// addresses and delivered after a restart without that permission. A listener on 127.0.0.1 never
// hears a thing.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const dns = require('node:dns').promises;
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');

// A TCP listener on loopback that counts every connection it is offered.
function listener() {
  const seen = [];
  const server = net.createServer((s) => {
    seen.push(Date.now());
    s.on('error', () => {});
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, seen, server })));
}

async function expect400(promise, field) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.statusCode, 400, JSON.stringify(err));
    assert.equal(err.code, 'InvalidArgument', JSON.stringify(err));
    assert.ok(JSON.stringify(err).includes(field), `the message names ${field}: ${JSON.stringify(err)}`);
    return true;
  });
}

async function jobCount(cos, port) {
  const d = await L.ci(cos, port, 'GET', '/asr_jobs', { query: { states: 'All', size: '100' } });
  return d.Response.JobsDetail ? [].concat(d.Response.JobsDetail).length : 0;
}

async function waitLog(srv, re, ms = 60000) {
  const end = Date.now() + ms;
  while (!re.test(srv.stderr())) {
    if (Date.now() > end) throw new Error(`no log line matching ${re}:\n${srv.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function badUrls(port) {
  return [
    `http://127.0.0.1:${port}/internal-admin?x=1`,
    `http://[::1]:${port}/`,
    `http://localhost:${port}/`,
    `http://LocalHost.:${port}/`,
    `http://api.localhost:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://2130706433:${port}/`,        // 127.0.0.1 as one number
    `http://[::ffff:127.0.0.1]:${port}/`,
    'http://10.1.2.3/hook',
    'http://192.168.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    `ftp://127.0.0.1:${port}/x`,
    'gopher://example.com/x',
    'http://user:pw@example.com/hook',
    'http:///no-host',
    'http://example.com/a\tb',
    `http://example.com/${'x'.repeat(2100)}`,
  ];
}

test('bad callback URLs are refused at submit and at queue update; loopback hears nothing', async () => {
  const rx = await listener();
  const srv = await L.startServer();
  const cos = L.client(srv.port);
  try {
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    const input = path.join(L.tmpDir('cicada-ssrf-'), 'in.wav');   // submit only checks that it exists
    fs.writeFileSync(input, 'RIFF');
    await L.putFile(cos, 'in/jfk.wav', input);
    const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    for (const url of badUrls(rx.port)) {
      const extra = `<CallBack>${url.replace(/&/g, '&amp;')}</CallBack>`;
      await expect400(L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ extra }) }), 'CallBack');
      const body = `<Request><Name>asr-queue</Name><State>Active</State><NotifyConfig><Url>${url.replace(/&/g, '&amp;')}</Url>` +
        '<Event>TaskFinish</Event><Type>Url</Type><State>On</State><ResultFormat>XML</ResultFormat></NotifyConfig></Request>';
      await expect400(L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body }), 'NotifyConfig/Url');
    }
    assert.equal(await jobCount(cos, srv.port), 0, 'no job was created');
    const after = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    assert.equal(after.NotifyConfig.Url || '', q.NotifyConfig.Url || '', 'the queue kept its NotifyConfig');
    // an ordinary public URL is still fine (the queue is paused so nothing runs and calls out)
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, {
      body: '<Request><Name>asr-queue</Name><State>Paused</State><NotifyConfig><Url>https://hooks.example.com/asr?x=1&amp;y=2</Url>' +
        '<Event>TaskFinish</Event><Type>Url</Type><State>On</State><ResultFormat>XML</ResultFormat></NotifyConfig></Request>',
    });
    await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ extra: '<CallBack>http://hooks.example.com/job</CallBack>' }) });
    assert.equal(await jobCount(cos, srv.port), 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.seen.length, 0, 'the loopback listener was never contacted');
  } finally {
    await srv.stop();
    rx.server.close();
  }
});

test('deliveries to internal addresses are refused when they happen, and not retried', async (t) => {
  if (!fs.existsSync(jfk)) return t.skip(`no test audio at ${jfk} (set CICADA_TESTDATA)`);
  const rx = await listener();
  // 1. accepted while the operator allowed private addresses, delivered after a restart without that
  let srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });
  const dataDir = srv.dataDir;
  let cos = L.client(srv.port);
  let jobId;
  try {
    await L.ci(cos, srv.port, 'POST', '/asrbucket');
    await L.putFile(cos, 'in/jfk.wav', jfk);
    const q = [].concat((await L.ci(cos, srv.port, 'GET', '/asrqueue')).Response.QueueList)[0];
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><Name>asr-queue</Name><State>Paused</State></Request>' });
    const extra = `<CallBack>http://127.0.0.1:${rx.port}/internal-admin?x=1</CallBack>`;
    jobId = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ extra }) })).Response.JobsDetail.JobId;
    await srv.stop();
    srv = await L.startServer({ dataDir });
    cos = L.client(srv.port);
    await L.ci(cos, srv.port, 'PUT', `/asrqueue/${q.QueueId}`, { body: '<Request><Name>asr-queue</Name><State>Active</State></Request>' });
    assert.equal((await L.waitJob(cos, srv.port, jobId)).State, 'Success');
    await waitLog(srv, /callback to http:\/\/127\.0\.0\.1:\d+\/internal-admin\?x=1 refused.*127\.0\.0\.1.*CICADA_URL_ALLOW_PRIVATE/);

    // 2. a public-looking name that resolves to loopback passes the submit, not the connect
    const host = os.hostname();
    const addrs = await dns.lookup(host, { all: true }).catch(() => []);
    if (addrs.length && addrs.every((a) => a.address.startsWith('127.'))) {
      const id2 = (await L.ci(cos, srv.port, 'POST', '/asr_jobs', {
        body: L.submitXml({ output: 'out/2.txt', extra: `<CallBack>http://${host}:${rx.port}/by-name</CallBack>` }),
      })).Response.JobsDetail.JobId;
      assert.equal((await L.waitJob(cos, srv.port, id2)).State, 'Success');
      await waitLog(srv, /callback to http:\/\/[^ ]*\/by-name refused.*127\.\d+\.\d+\.\d+.*CICADA_URL_ALLOW_PRIVATE/);
    } else {
      t.diagnostic(`${host} does not resolve to loopback only; the by-name case is not run`);
    }
    await new Promise((r) => setTimeout(r, 1500));   // room for a retry, had there been one
    assert.equal((srv.stderr().match(/callback to \S+ refused/g) || []).length, addrs.length && addrs.every((a) => a.address.startsWith('127.')) ? 2 : 1,
      'each refused callback is logged once and not retried');
    assert.equal(rx.seen.length, 0, 'the loopback listener was never contacted');
  } finally {
    await srv.stop();
    rx.server.close();
  }
});
