// console_static.test.js — the web console's files as the server serves them: byte-identical to
// src/console/*, with their content types, a strict Content-Security-Policy and an ETag; /console
// redirects to /console/; unknown console paths are 404; a signed request for console/<key> is
// still an object request (the console never shadows the API).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const SRC = path.join(L.ROOT, 'src', 'console');
const FILES = { 'index.html': 'text/html', 'app.js': 'text/javascript', 'app.css': 'text/css', 'i18n.js': 'text/javascript',
  'icon.svg': 'image/svg+xml' };

test('console static files', async (t) => {
  const srv = await L.startServer();
  t.after(() => srv.stop());
  const get = (p, headers = {}) => L.raw(srv.port, { pathname: p, signed: false, headers });

  await t.test('every file is served byte for byte, with CSP and an ETag', async () => {
    for (const [name, type] of Object.entries(FILES)) {
      const r = await get(`/console/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.body, fs.readFileSync(path.join(SRC, name), 'utf8'), `${name} differs from src/console`);
      assert.ok(r.headers['content-type'].startsWith(type), `${name}: ${r.headers['content-type']}`);
      assert.match(r.headers['content-security-policy'], /default-src 'self'/);
      assert.doesNotMatch(r.headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['cache-control'], 'no-cache');
      const again = await get(`/console/${name}`, { 'If-None-Match': r.headers.etag });
      assert.equal(again.status, 304, `${name}: If-None-Match`);
    }
    // index.html also at /console/, and it loads no script inline nor from elsewhere
    const index = await get('/console/');
    assert.equal(index.body, fs.readFileSync(path.join(SRC, 'index.html'), 'utf8'));
    assert.doesNotMatch(index.body, /<script>|<script [^>]*src="(https?:)?\/\//);
  });

  await t.test('/console redirects, unknown paths are 404, HEAD works', async () => {
    const r = await get('/console');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/console/');
    for (const p of ['/console/nope.js', '/console/../README.md', '/console/app.js/x', '/console/sub/index.html']) {
      const n = await get(p);
      assert.equal(n.status, 404, p);
      assert.match(n.headers['content-security-policy'], /default-src 'self'/, p);
    }
    const head = await L.raw(srv.port, { method: 'HEAD', pathname: '/console/app.js', signed: false });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), fs.statSync(path.join(SRC, 'app.js')).size);
    const post = await L.raw(srv.port, { method: 'POST', pathname: '/console/', signed: false, body: '' });
    assert.equal(post.status, 403, 'only GET and HEAD are the console\'s; the rest is the API\'s (unsigned: refused)');
  });

  await t.test('a signed request for console/<key> is an object request', async () => {
    const put = await L.raw(srv.port, { method: 'PUT', pathname: '/console/app.js', body: 'mine' });
    assert.equal(put.status, 200);
    const got = await L.raw(srv.port, { pathname: '/console/app.js' });
    assert.equal(got.body, 'mine');
    const page = await get('/console/app.js');
    assert.equal(page.body, fs.readFileSync(path.join(SRC, 'app.js'), 'utf8'));
  });
});
