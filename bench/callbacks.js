// callbacks.js — a loopback receiver for job callbacks, shared by the benches that time a job from
// its submit to its callback. arrival(id) resolves with the moment (process.hrtime, in seconds) the
// job's callback came, whether it came before or after the bench asked.
'use strict';
const http = require('node:http');
const path = require('node:path');
const L = require(path.join(__dirname, '../tests/integration/lib.js'));

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function callbackReceiver() {
  const waiting = new Map();   // job id -> resolve
  const arrived = new Map();   // job id -> time its callback came (if before anyone waited)
  const rx = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      res.end();
      const id = L.tag(body, 'JobId');
      if (waiting.has(id)) waiting.get(id)(now());
      else arrived.set(id, now());
    });
  });
  await new Promise((r) => rx.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${rx.address().port}/cb`,
    arrival: (id) => (arrived.has(id) ? Promise.resolve(arrived.get(id)) : new Promise((r) => waiting.set(id, r))),
    close: () => rx.close(),
  };
}

module.exports = { callbackReceiver, now };
