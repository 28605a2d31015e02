// crash.test.js — object overwrites survive kill -9 of the server: concurrent signed PUTs of bodies
// of different sizes to the same few keys, the server SIGKILLed at a random moment, restarted on
// the same data directory, several times over; after every restart each object's ETag is the MD5
// of its body, HEAD and GET agree on size and ETag, and no temporary or unreferenced object file
// is left in the store (<data dir>/objects: tmp/ and objects/<2 hex>/).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const KILLS = 6;              // server kills
const WRITERS = 8;            // concurrent PUT loops
const KEYS = ['crash/a', 'crash/b', 'crash/c'];
const MAX_BODY = 192 * 1024;

const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');

// Every file under dir, recursively.
function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

// A signed GET whose body comes back as bytes (L.raw decodes it as text).
function getBytes(port, pathname) {
  const host = `127.0.0.1:${port}`;
  const headers = { Host: host, Authorization: L.sign({ method: 'GET', pathname, headers: { host } }) };
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: encodeURI(pathname), headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // a Content-Length larger than the file makes the body never end: fail rather than hang
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${pathname} stalled`)));
    req.on('error', reject);
  });
}

// PUTs random bodies (every byte the size's low byte) to random keys until the server dies.
async function writer(port, stop) {
  while (!stop.done) {
    const n = Math.floor(Math.random() * MAX_BODY);
    const key = KEYS[Math.floor(Math.random() * KEYS.length)];
    try {
      const r = await L.raw(port, { method: 'PUT', pathname: '/' + key, body: Buffer.alloc(n, n & 0xff) });
      assert.equal(r.status, 200, r.body);
    } catch (e) {
      if (e.code === 'ERR_ASSERTION') throw e;
      return; // the connection died with the server
    }
  }
}

async function checkObjects(srv, round) {
  let present = 0;
  for (const key of KEYS) {
    const head = await L.raw(srv.port, { method: 'HEAD', pathname: '/' + key });
    if (head.status === 404) continue;
    assert.equal(head.status, 200, `round ${round} HEAD ${key}`);
    present++;
    const get = await getBytes(srv.port, '/' + key);
    assert.equal(get.status, 200, `round ${round} GET ${key}`);
    const body = get.body;
    const tag = (h) => String(h.etag).replace(/"/g, '');
    assert.equal(tag(get.headers), md5(body), `round ${round} ${key}: ETag is not the MD5 of the body`);
    assert.equal(tag(head.headers), tag(get.headers), `round ${round} ${key}: HEAD and GET ETags differ`);
    assert.equal(Number(head.headers['content-length']), body.length, `round ${round} ${key}: HEAD size`);
    assert.equal(Number(get.headers['content-length']), body.length, `round ${round} ${key}: GET size`);
    assert.ok(body.every((b) => b === (body.length & 0xff)), `round ${round} ${key}: mixed body`);
  }
  const store = path.join(srv.dataDir, 'objects');
  assert.deepEqual(filesUnder(path.join(store, 'tmp')), [], `round ${round}: temp files survived the restart`);
  const objectFiles = filesUnder(path.join(store, 'objects'));
  assert.equal(objectFiles.length, present, `round ${round}: object files ${objectFiles} for ${present} objects`);
}

test('overwrites killed with the server leave every object whole', { timeout: 60000 }, async () => {
  let srv = await L.startServer();
  const dataDir = srv.dataDir;
  try {
    for (let round = 0; round < KILLS; round++) {
      const stop = { done: false };
      const writers = Array.from({ length: WRITERS }, () => writer(srv.port, stop));
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 350));
      await srv.kill9();
      stop.done = true;
      await Promise.all(writers);
      srv = await L.startServer({ dataDir });
      await checkObjects(srv, round);
    }
  } finally {
    await srv.stop();
  }
});
