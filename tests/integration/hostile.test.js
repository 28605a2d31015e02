// hostile.test.js — requests an attacker would send, byte for byte over a raw socket where the SDK
// cannot express them: smuggled framing (Content-Length with Transfer-Encoding, two lengths, unknown
// codings), parameters that differ from the signed ones only by case, more headers or parameters
// than the server keeps, absolute-form targets, bodies past the limit and refusals that must not
// read the body, page tokens and request ids that would count other tenants' activity, secrets in
// the start-up banner, and signatures valid for centuries.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const L = require('./lib');

let srv, cos;
test.before(async () => {
  srv = await L.startServer();
  cos = L.client(srv.port);
});
test.after(async () => { await srv.stop(); });

// Sends bytes on a fresh connection; resolves with what came back and whether the server closed
// the connection (closed) or went quiet for idleMs with it open (closed: false).
function rawSocket(port, bytes, { idleMs = 1500, chunks } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '', done = false, sent = 0;
    const finish = (closed) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ data, closed, sent, statuses: [...data.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1])) });
    };
    let timer = setTimeout(() => finish(false), idleMs);
    s.on('data', (d) => {
      data += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), idleMs);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', async () => {
      s.write(bytes);
      // optional body chunks, written until the server stops reading or closes
      for (const c of chunks ? chunks() : []) {
        if (done) break;
        if (!s.write(c)) await new Promise((r) => { s.once('drain', r); setTimeout(r, 500); });
        sent += c.length;
      }
    });
  });
}

// Request line and headers, signed for the path/query/host given (a Host header is always sent).
function head({ method = 'GET', target, pathname = '/', query = {}, host, rawQuery, headers = [], signQuery, signOpts = {} }) {
  const h = host || `127.0.0.1:${srv.port}`;
  const auth = L.sign({ method, pathname, query: signQuery || query, headers: { host: h }, ...signOpts });
  const qs = rawQuery !== undefined ? rawQuery
    : Object.keys(query).length ? '?' + Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '';
  const lines = [`${method} ${target || pathname + qs} HTTP/1.1`, `Host: ${h}`, `Authorization: ${auth}`, ...headers];
  return lines.join('\r\n') + '\r\n\r\n';
}

async function put(key, body) {
  await new Promise((resolve, reject) => cos.putObject({ Bucket: L.BUCKET, Region: L.REGION, Key: key, Body: Buffer.from(body) },
    (e, d) => (e ? reject(e) : resolve(d))));
}

test('a parameter that differs from the signed one only by case is refused; one alone is read as signed', async () => {
  await put('in/a.txt', 'a');
  await put('range/b.txt', 'b');
  // signed prefix=range, sent PREFIX=range&prefix=in/ : the old server listed in/
  let r = await rawSocket(srv.port, head({ pathname: '/', rawQuery: '?PREFIX=range&prefix=in%2F', signQuery: { prefix: 'range' } }));
  assert.deepEqual(r.statuses, [400], r.data);
  assert.match(r.data, /prefix is given more than once/i);
  assert.doesNotMatch(r.data, /in\/a\.txt/);
  r = await rawSocket(srv.port, head({ pathname: '/asr_jobs', rawQuery: '?SIZE=1&size=100', signQuery: { size: '1' } }));
  assert.deepEqual(r.statuses, [400], r.data);
  r = await rawSocket(srv.port, head({ pathname: '/', rawQuery: '?prefix=in%2F&prefix=range', signQuery: { prefix: 'in/' } }));
  assert.deepEqual(r.statuses, [400], r.data);
  // the signed entry under another case is the one the handler reads
  r = await rawSocket(srv.port, head({ pathname: '/', rawQuery: '?PREFIX=range', signQuery: { prefix: 'range' } }));
  assert.deepEqual(r.statuses, [200], r.data);
  assert.match(r.data, /range\/b\.txt/);
  assert.doesNotMatch(r.data, /in\/a\.txt/);
  // a presigned URL (signature in the query) cannot be widened the same way
  const auth = L.sign({ method: 'GET', pathname: '/', query: { prefix: 'range' }, headers: { host: `127.0.0.1:${srv.port}` } });
  const target = `/?prefix=range&${auth}&PREFIX=in%2F`;
  r = await rawSocket(srv.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
  assert.deepEqual(r.statuses, [400], r.data);
  r = await rawSocket(srv.port, `GET /?prefix=range&${auth} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
  assert.deepEqual(r.statuses, [200], r.data);
});

test('ambiguous framing is refused and the connection closed: nothing is smuggled', async () => {
  const smuggled = `GET /asrqueue HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const cases = [
    ['Content-Length: 5', 'Transfer-Encoding: chunked'],
    ['Content-Length: 5', 'Transfer-Encoding: CHUNKED'],
    ['Content-Length: 5', 'Transfer-Encoding:  chunked'],
    ['Content-Length: 5', 'Transfer-Encoding : chunked'],
    ['Transfer-Encoding: chunked', 'Content-Length: 5'],
  ];
  for (const hs of cases) {
    const r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: hs }) + '0\r\n\r\n' + smuggled);
    assert.equal(r.statuses.length, 1, `${hs}: exactly one answer, got ${r.data}`);
    assert.equal(r.statuses[0], 400, `${hs}: ${r.data}`);
    assert.ok(r.closed, `${hs}: the connection must be closed`);
  }
  // two different lengths, or two equal ones
  for (const hs of [['Content-Length: 5', 'Content-Length: 7'], ['Content-Length: 5', 'Content-Length: 5'], ['Content-Length: 5x']]) {
    const r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: hs }) + 'abcdefg' + smuggled);
    // (libmicrohttpd answers "5x" itself, writing its status line twice: still one refusal)
    assert.ok(r.statuses.length >= 1 && r.statuses.every((s) => s === 400), `${hs}: ${r.data}`);
    assert.ok(r.closed, `${hs}: closed`);
  }
  // unknown codings: 501 at once, not a hang until the idle timeout
  for (const te of ['xchunked', 'gzip, chunked', 'chunked, gzip', 'identity']) {
    const t0 = Date.now();
    const r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: [`Transfer-Encoding: ${te}`] }) + '0\r\n\r\n', { idleMs: 5000 });
    assert.deepEqual(r.statuses, [501], `${te}: ${r.data}`);
    assert.ok(r.closed && Date.now() - t0 < 4000, `${te}: answered and closed at once`);
  }
  // two Host headers, or none in HTTP/1.1
  let r = await rawSocket(srv.port, head({ pathname: '/asrqueue', headers: ['Host: other-1250000000.ci.ap-chongqing.myqcloud.com'] }));
  assert.deepEqual(r.statuses, [400], r.data);
  r = await rawSocket(srv.port, 'GET /asrqueue HTTP/1.1\r\n\r\n');
  assert.deepEqual(r.statuses, [400], r.data);
  // whitespace between a header name and its colon, even without a Content-Length
  r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: ['Transfer-Encoding : chunked'] }) + '0\r\n\r\n' + smuggled);
  assert.deepEqual(r.statuses, [400], r.data);
  assert.ok(r.closed);
  // a sound chunked request still works, and keeps its connection
  const ok = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: ['Transfer-Encoding: chunked'] }) + '0\r\n\r\n');
  assert.deepEqual(ok.statuses, [400], ok.data);   /* an empty body: MalformedXML, but framed right */
  assert.match(ok.data, /MalformedXML/);
  assert.ok(!ok.closed, 'a well-framed request keeps the connection');
});

test('more headers or parameters than are kept: 431 / 414, never a shortened list', async () => {
  const filler = Array.from({ length: 131 }, (_, i) => `X-Filler-${i}: ${i}`);
  // a Host placed after the 128th header used to be dropped, acting on the default bucket
  let r = await rawSocket(srv.port, [`GET /asrqueue HTTP/1.1`, ...filler, `Host: other-1250000000.ci.ap-chongqing.myqcloud.com`,
    `Authorization: ${L.sign({ method: 'GET', pathname: '/asrqueue', headers: { host: 'other-1250000000.ci.ap-chongqing.myqcloud.com' } })}`].join('\r\n') + '\r\n\r\n');
  assert.deepEqual(r.statuses, [431], r.data);
  const query = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`p${i}`, `${i}`]));
  r = await rawSocket(srv.port, head({ pathname: '/asrqueue', query }));
  assert.deepEqual(r.statuses, [414], r.data);
  // 120 signed parameters are fine
  const fewer = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`p${i}`, `${i}`]));
  r = await rawSocket(srv.port, head({ pathname: '/asrqueue', query: fewer }));
  assert.deepEqual(r.statuses, [200], r.data);
});

test('absolute-form targets: the path and host come from the URL and are what is signed', async () => {
  const authority = `127.0.0.1:${srv.port}`;
  const body = 'absolute';
  let r = await rawSocket(srv.port, head({ method: 'PUT', target: `http://${authority}/abs/x.txt`, pathname: '/abs/x.txt', host: authority,
    headers: [`Content-Length: ${body.length}`] }) + body);
  assert.deepEqual(r.statuses, [200], r.data);
  r = await rawSocket(srv.port, head({ target: `HTTP://${authority}/abs/x.txt`, pathname: '/abs/x.txt', host: authority }));
  assert.deepEqual(r.statuses, [200], r.data);
  assert.ok(r.data.endsWith(body), r.data);
  // the old server stored "ttp://..." as the key
  r = await rawSocket(srv.port, head({ pathname: '/', query: { prefix: 'ttp' } }));
  assert.doesNotMatch(r.data, /<Key>/);
  // the authority replaces the Host header: a signature for another host does not cover it
  r = await rawSocket(srv.port, head({ target: `http://other-1250000000.cos.ap-chongqing.myqcloud.com/abs/x.txt`, pathname: '/abs/x.txt', host: authority }));
  assert.deepEqual(r.statuses, [403], r.data);
  // a target that is neither a path nor an http(s) URL
  for (const t of ['abs/x.txt', 'ftp://x/abs', 'http:///abs', 'http://user@x/abs']) {
    r = await rawSocket(srv.port, `GET ${t} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    assert.deepEqual(r.statuses, [400], `${t}: ${r.data}`);
  }
});

test('a refused request is answered before its body is read', async () => {
  // a bad signature with Expect: 100-continue gets the 403, never "100 Continue"
  let r = await rawSocket(srv.port, head({ method: 'PUT', pathname: '/obj', headers: ['Content-Length: 1000', 'Expect: 100-continue'],
    signOpts: { secretKey: 'wrong' } }));
  assert.deepEqual(r.statuses, [403], r.data);
  assert.ok(r.closed, 'closed: the body was never read');
  // the same without Expect: answered at once although the 1000 bytes never come
  r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: ['Content-Length: 1000'], signOpts: { secretKey: 'wrong' } }), { idleMs: 3000 });
  assert.deepEqual(r.statuses, [403], r.data);
  // an authenticated chunked body past the 1 MiB limit: cut off near the limit, answered, closed
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const frame = Buffer.concat([Buffer.from(chunk.length.toString(16) + '\r\n'), chunk, Buffer.from('\r\n')]);
  r = await rawSocket(srv.port, head({ method: 'POST', pathname: '/asr_jobs', headers: ['Transfer-Encoding: chunked'] }), {
    idleMs: 3000,
    chunks: function* () { for (let i = 0; i < 4096; i++) yield frame; },   /* 256 MiB offered */
  });
  assert.deepEqual(r.statuses, [400], r.data.slice(0, 400));
  assert.match(r.data, /EntityTooLarge/);
  assert.ok(r.closed, 'closed');
  assert.ok(r.sent < 64 * 1024 * 1024, `the server stopped reading early (${r.sent} bytes were written)`);
});

test('a client still sending a refused body reads the answer, not a reset (lingering close)', async () => {
  // without lingering, closing on unread data resets the connection and the client sees EPIPE or
  // ECONNRESET instead of the answer, depending on timing: try it many times
  const big = '<Request>' + 'x'.repeat(4 << 20) + '</Request>';
  for (let i = 0; i < 12; i++) {
    const tooLarge = await L.raw(srv.port, { method: 'POST', pathname: '/asr_jobs', body: big });
    assert.equal(tooLarge.status, 400);
    assert.equal(L.tag(tooLarge.body, 'Code'), 'EntityTooLarge');
    const badKey = await L.raw(srv.port, { method: 'PUT', pathname: '/linger.bin', body: big, signOpts: { secretKey: 'wrong' } });
    assert.equal(badKey.status, 403);
    assert.equal(L.tag(badKey.body, 'Code'), 'SignatureDoesNotMatch');
  }
});

test('page tokens are opaque, tamper-proof and bound to their bucket; request ids are random', async () => {
  await put('in/not-audio.wav', 'not audio');
  for (let i = 0; i < 3; i++) {
    await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/not-audio.wav', output: `out/${i}.txt` }) });
  }
  const list = async (query, host) => {
    const r = await L.raw(srv.port, { pathname: '/asr_jobs', query, host });
    return r;
  };
  const a = await list({ size: '1' });
  assert.equal(a.status, 200, a.body);
  const tok = L.tag(a.body, 'NextToken');
  assert.match(tok, /^[0-9a-f]{72}$/, 'an opaque token, not a sequence number');
  const b = await list({ size: '1' });
  assert.notEqual(L.tag(b.body, 'NextToken'), tok, 'the same position seals differently each time');
  const next = await list({ size: '1', nextToken: tok });
  assert.equal(next.status, 200, next.body);
  assert.notEqual(L.tag(next.body, 'JobId'), L.tag(a.body, 'JobId'));
  const flipped = tok.slice(0, 30) + (tok[30] === '0' ? '1' : '0') + tok.slice(31);
  for (const bad of [flipped, '1', '123456', tok.slice(0, 70)]) {
    const r = await list({ size: '1', nextToken: bad });
    assert.equal(r.status, 400, `${bad}: ${r.body}`);
  }
  // a token from this bucket does not open another bucket's list
  const other = 'other-1250000000';
  const host = `${other}.ci.${L.REGION}.myqcloud.com`;
  assert.equal((await L.raw(srv.port, { method: 'PUT', pathname: '/', host: `${other}.cos.${L.REGION}.myqcloud.com` })).status, 200);
  assert.equal((await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host })).status, 200);
  const cross = await list({ size: '1', nextToken: tok }, host);
  assert.equal(cross.status, 400, cross.body);
  // request ids: no shared prefix or counter between consecutive requests
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await list({ size: '1' })).headers['x-cos-request-id']);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  for (let i = 1; i < ids.length; i++) assert.notEqual(ids[i].slice(0, 16), ids[i - 1].slice(0, 16), ids.join(' '));
});

test('page tokens outlive a restart: the sealing key is kept in the data directory', async () => {
  const dataDir = L.tmpDir('cicada-token-');
  let s = await L.startServer({ dataDir });
  const c = L.client(s.port);
  await new Promise((resolve, reject) => c.putObject({ Bucket: L.BUCKET, Region: L.REGION, Key: 'in/x.wav', Body: Buffer.from('x') },
    (e, d) => (e ? reject(e) : resolve(d))));
  for (let i = 0; i < 2; i++) await L.ci(c, s.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/x.wav', output: `o/${i}.txt` }) });
  const first = await L.raw(s.port, { pathname: '/asr_jobs', query: { size: '1' } });
  const tok = L.tag(first.body, 'NextToken');
  assert.match(tok, /^[0-9a-f]{72}$/);
  assert.equal(fs.statSync(path.join(dataDir, 'token.key')).mode & 0o777, 0o600);
  await s.stop();
  s = await L.startServer({ dataDir });
  const next = await L.raw(s.port, { pathname: '/asr_jobs', query: { size: '1', nextToken: tok } });
  assert.equal(next.status, 200, next.body);
  assert.notEqual(L.tag(next.body, 'JobId'), L.tag(first.body, 'JobId'));
  await s.stop();
  fs.writeFileSync(path.join(dataDir, 'token.key'), 'not hex\n');
  await assert.rejects(L.startServer({ dataDir }), /token\.key is not 64 hex digits/);
});

test('signatures valid for centuries are refused; the limit is the operator\'s', async () => {
  const now = Math.floor(Date.now() / 1000);
  let r = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { t0: 0, t1: 999999999999999 } });
  assert.equal(r.status, 403, r.body);
  assert.match(r.body, /longer than this server accepts\. Windows of at most 604800 seconds/);
  r = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { t0: now - 60, t1: now + 6 * 86400 } });
  assert.equal(r.status, 200, r.body);
  const short = await L.startServer({ env: { CICADA_MAX_SIGN_LIFETIME: '1h' } });
  try {
    r = await L.raw(short.port, { pathname: '/asrqueue', signOpts: { t0: now - 60, t1: now + 7200 } });
    assert.equal(r.status, 403, r.body);
    r = await L.raw(short.port, { pathname: '/asrqueue', signOpts: { t0: now - 60, t1: now + 3000 } });
    assert.equal(r.status, 200, r.body);
  } finally {
    await short.stop();
  }
  await assert.rejects(L.startServer({ env: { CICADA_MAX_SIGN_LIFETIME: 'forever' } }), /max_sign_lifetime/);
});

test('the banner prints a SecretKey only when the server generated it', async () => {
  const dataDir = L.tmpDir('cicada-banner-');
  const keys = path.join(dataDir, 'keys');
  fs.writeFileSync(keys, 'AKIDone SKsecretone 1250000000\nAKIDtwo SKsecrettwo 1300000000\n');
  const env = { CICADA_SECRET_ID: '', CICADA_SECRET_KEY: '' };
  let s = await L.startServer({ dataDir, env: { ...env, CICADA_KEYS_FILE: keys } });
  assert.doesNotMatch(s.banner, /SKsecret/);
  assert.match(s.banner, /Keys:\s+2 from/);
  await s.stop();
  s = await L.startServer({ env: { CICADA_SECRET_ID: 'AKIDenv', CICADA_SECRET_KEY: 'SKfromenv' } });
  assert.doesNotMatch(s.banner, /SKfromenv/);
  assert.match(s.banner, /SecretId:\s+AKIDenv/);
  await s.stop();
  s = await L.startServer({ env });
  const key = (s.banner.match(/SecretKey:\s+(\S+)/) || [])[1];
  assert.match(key, /^[0-9a-f]{32}$/, 'a generated key is shown once it exists');
  assert.ok(fs.readFileSync(path.join(s.dataDir, 'credentials'), 'utf8').includes(key));
  await s.stop();
});
