// objects.test.js — the embedded object store through the official SDK: put/get/range/head/delete/
// list, a 500 MB streamed upload that the server never holds in memory, and keys that try to escape
// the data directory.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');
const L = require('./lib');

let srv, cos, named, parent;
test.before(async () => {
  // the data directory sits alone in a parent of its own, so anything escaping it is visible
  parent = L.tmpDir('cicada-objects-');
  srv = await L.startServer({ dataDir: path.join(parent, 'data') });
  cos = L.client(srv.port);
  named = L.client(srv.port, { named: true });
});
test.after(async () => { await srv.stop(); });

const call = (fn, params, via = cos) => new Promise((resolve, reject) =>
  via[fn]({ Bucket: L.BUCKET, Region: L.REGION, ...params }, (e, d) => (e ? reject(e) : resolve(d))));

test('put, get, ranged get, head, list, delete', async () => {
  const body = Buffer.from('hello, cicada object store\n');
  const put = await call('putObject', { Key: 'dir/a.txt', Body: body, ContentType: 'text/plain' });
  assert.equal(put.ETag, `"${crypto.createHash('md5').update(body).digest('hex')}"`);
  const got = await call('getObject', { Key: 'dir/a.txt' });
  assert.equal(got.Body.toString(), body.toString());
  assert.equal(got.headers['content-type'], 'text/plain');
  const part = await call('getObject', { Key: 'dir/a.txt', Range: 'bytes=7-12' });
  assert.equal(part.statusCode, 206);
  assert.equal(part.Body.toString(), 'cicada');
  assert.equal(part.headers['content-range'], `bytes 7-12/${body.length}`);
  const tail = await call('getObject', { Key: 'dir/a.txt', Range: 'bytes=-6' });
  assert.equal(tail.Body.toString(), 'store\n');
  const head = await call('headObject', { Key: 'dir/a.txt' });
  assert.equal(head.headers['content-length'], String(body.length));
  await call('putObject', { Key: 'dir/b.txt', Body: Buffer.from('b') });
  await call('putObject', { Key: 'other/c.txt', Body: Buffer.from('c') });
  const list = await call('getBucket', { Prefix: 'dir/' });
  assert.deepEqual(list.Contents.map((c) => c.Key), ['dir/a.txt', 'dir/b.txt']);
  const page = await call('getBucket', { MaxKeys: 1 });
  assert.equal(page.IsTruncated, 'true');
  assert.equal(page.Contents.length, 1);
  const delim = await call('getBucket', { Delimiter: '/' });
  assert.deepEqual(delim.CommonPrefixes.map((p) => p.Prefix), ['dir/', 'other/']);
  // a delete must name its bucket: through the default bucket it is refused and deletes nothing
  await assert.rejects(call('deleteObject', { Key: 'dir/a.txt' }), (e) => e.statusCode === 400 && e.code === 'InvalidRequest');
  assert.equal((await call('headObject', { Key: 'dir/a.txt' })).statusCode, 200);
  await call('deleteObject', { Key: 'dir/a.txt' }, named);
  await assert.rejects(call('getObject', { Key: 'dir/a.txt' }), (e) => e.statusCode === 404 && e.code === 'NoSuchKey');
  await assert.rejects(call('headObject', { Key: 'dir/a.txt' }), (e) => e.statusCode === 404);
  const bad = await L.raw(srv.port, { pathname: '/dir/b.txt', headers: { Range: 'bytes=50-60' } });
  assert.equal(bad.status, 416);
});

test('keys never escape the data directory', async () => {
  const hostile = ['../../escape.txt', '..', 'a/../../b', '/abs/path', 'a//b', '%2e%2e/x', 'dir/./../y'];
  const before = new Set(fs.readdirSync(parent));
  for (const k of hostile) {
    const r = await L.raw(srv.port, { method: 'PUT', pathname: '/' + k, body: `data for ${k}` });
    assert.ok(r.status === 200 || r.status === 400, `${k}: ${r.status} ${r.body}`);
    if (r.status === 200) {
      const g = await L.raw(srv.port, { pathname: '/' + k });
      assert.equal(g.body, `data for ${k}`);
    }
  }
  assert.deepEqual(fs.readdirSync(parent), [...before]);
  for (const f of ['escape.txt', 'b', 'y']) assert.equal(fs.existsSync(path.join(srv.dataDir, f)), false);
  // a key that percent-decodes to a NUL byte is refused before anything is written
  const nul = await L.raw(srv.port, { method: 'PUT', rawPath: '/a%00b', body: 'x' });
  assert.equal(nul.status, 400, nul.body);
});

test('a 500 MB upload is streamed to disk, not held in memory', async () => {
  const size = 500 * 1024 * 1024;
  const chunk = Buffer.alloc(1 << 20, 7);
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  const rssBefore = L.serverRssKb(srv.proc, 'VmRSS');
  await call('putObject', { Key: 'big.bin', Body: stream, ContentLength: size });
  const peak = L.serverRssKb(srv.proc, 'VmHWM');
  const head = await call('headObject', { Key: 'big.bin' });
  assert.equal(head.headers['content-length'], String(size));
  const growthMb = (peak - rssBefore) / 1024;
  console.log(`server RSS before ${Math.round(rssBefore / 1024)} MB, peak ${Math.round(peak / 1024)} MB during a 500 MB upload`);
  assert.ok(growthMb < 64, `server memory grew by ${growthMb} MB during the upload`);
  const part = await call('getObject', { Key: 'big.bin', Range: `bytes=${size - 4}-` });
  assert.deepEqual([...part.Body], [7, 7, 7, 7]);
  await call('deleteObject', { Key: 'big.bin' }, named);
});
