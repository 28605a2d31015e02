// client.test.js — `cicada` as a client of a running server (jobs, queues, buckets): a batch of
// 20 real recordings submitted with --wait on a pseudo-terminal (progress bars drawn in place, every
// result written), a batch interrupted with Ctrl-C while its jobs wait and resumed without
// submitting anything twice, Ctrl-C during an upload, every subcommand's table and --json,
// configuration from flags, environment and the client INI file, wrong credentials and an
// unreachable server (clear message, documented exit code).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const L = require('./lib');

const HIFI = path.join(L.TESTDATA, 'en', 'hifitts');
const JFK = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
const haveData = fs.existsSync(HIFI) && fs.existsSync(JFK);
const haveScript = (() => { try { execFileSync('script', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const SLOW = process.env.CICADA_SANITIZED === 'true' || process.env.CICADA_SANITIZED === '1' ? 4 : 1;

let srv, env, home;

test.before(async () => {
  if (!haveData) return;
  srv = await L.startServer();
  home = L.tmpDir('cicada-client-home-');
  // a clean environment: no client INI file of the machine's user, no CICADA_* of the caller's
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CICADA_')));
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'),
    CICADA_ENDPOINT: `http://127.0.0.1:${srv.port}`, CICADA_SECRET_ID: L.SECRET_ID, CICADA_SECRET_KEY: L.SECRET_KEY });
});
test.after(async () => { if (srv) await srv.stop(); });

// Runs the client; resolves with { code, stdout, stderr }. onStderr sees stderr as it comes;
// killAfterMs sends Ctrl-C's signal (SIGINT) after that long.
function cicada(args, { extraEnv = {}, onStderr, killAfterMs } = {}) {
  return new Promise((resolve) => {
    const p = spawn(L.BIN, args, { env: { ...env, ...extraEnv }, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    if (killAfterMs) setTimeout(() => p.kill('SIGINT'), killAfterMs);
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; if (onStderr) onStderr(stderr, p); });
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

// The server's jobs, through the client itself.
async function jobIds() {
  const r = await cicada(['jobs', 'list', '--all', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).JobsDetail.map((j) => j.JobId);
}

async function defaultQueue() {
  const r = await cicada(['queues', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).QueueList[0].QueueId;
}

const hifiFiles = () => fs.readdirSync(HIFI).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(HIFI, f));

test('a batch of 20 files with --wait on a terminal: one bar per job drawn in place, every result written', { skip: !haveData || !haveScript }, async () => {
  const files = hifiFiles().slice(0, 20);
  assert.equal(files.length, 20);
  const out = L.tmpDir('cicada-client-out-');
  const before = (await jobIds()).length;
  const cols = 100, rows = 12;
  const cmd = `stty rows ${rows} cols ${cols}; exec ${L.BIN} jobs submit ${files.join(' ')} --engine 16k_en --format srt --wait --out ${out}`;
  const res = await new Promise((resolve) => {
    const p = spawn('script', ['-qefc', cmd, '/dev/null'], { env: { ...env, TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let all = '';
    p.stdout.on('data', (d) => { all += d; });
    p.stderr.on('data', (d) => { all += d; });
    p.on('close', (code) => resolve({ code, all }));
  });
  assert.equal(res.code, 0, res.all.slice(-2000));
  // every result is there, a real subtitle file named after its input
  for (const f of files) {
    const srt = fs.readFileSync(path.join(out, path.basename(f, '.wav') + '.srt'), 'utf8');
    assert.match(srt, /^1\r?\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\r?\n\S/, f);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(out, '.cicada-jobs.json'), 'utf8'));
  assert.equal(manifest.jobs.length, 20);
  assert.ok(manifest.jobs.every((j) => j.state === 'Success' && /^s[0-9a-f]{32}$/.test(j.job_id)));
  assert.equal((await jobIds()).length, before + 20);
  // the bars: drawn with the cursor moved back over them, never wider than the terminal; each job's
  // final line printed exactly once, and the table at the end
  assert.match(res.all, /\x1b\[\d+A/);
  const drawing = res.all.slice(0, res.all.lastIndexOf('INPUT'));   // what came before the final table
  const frames = drawing.split(/\x1b\[\d+A|\r?\n|\r/).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, ''));
  const bars = frames.filter((l) => /\[[#.]{24}\]\s+\d+%/.test(l));
  assert.ok(bars.length >= 20, `${bars.length} bar lines`);
  for (const l of frames) assert.ok(l.length <= cols || /  Success  -> /.test(l), `a line wider than the terminal: ${l}`);
  for (const b of bars) {
    assert.ok(b.length <= cols, `bar line wider than the terminal: ${b}`);
    const pct = Number(b.match(/\]\s+(\d+)%/)[1]);
    assert.ok(pct >= 0 && pct <= 100);
  }
  for (const f of files) {
    const finals = frames.filter((l) => l.startsWith(`${f}  Success  -> `));
    assert.equal(finals.length, 1, `${f}: ${finals.length} final lines`);
  }
  const plain = res.all.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '');
  assert.match(plain, /INPUT\s+JOB ID\s+STATE\s+RESULT/);
  assert.equal((plain.match(/ Success {2}\S+\.srt\n/g) || []).length, 20);
});

test('Ctrl-C while the batch waits, then the same command again: nothing submitted twice, every result written', { skip: !haveData }, async () => {
  const files = hifiFiles().slice(20, 25);
  const out = L.tmpDir('cicada-client-resume-');
  const queue = await defaultQueue();
  const paused = await cicada(['queues', 'pause', queue]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, new RegExp(`${queue}\\s+Paused`));
  try {
    const before = new Set(await jobIds());
    const args = ['jobs', 'submit', ...files, '--engine', '16k_en', '--wait', '--out', out];
    let sent = false;
    const first = await cicada(args, { onStderr: (s, p) => {
      if (!sent && (s.match(/submitted: s[0-9a-f]{32}/g) || []).length === files.length) { sent = true; p.kill('SIGINT'); }
    } });
    assert.equal(first.code, 130, first.stderr);
    assert.match(first.stderr, /interrupted; 5 job\(s\) go on on the server: run the same command again/);
    const mine = (await jobIds()).filter((id) => !before.has(id));
    assert.equal(mine.length, 5);
    const m = JSON.parse(fs.readFileSync(path.join(out, '.cicada-jobs.json'), 'utf8'));
    assert.deepEqual(m.jobs.map((j) => j.job_id).sort(), [...mine].sort());
    assert.ok(m.jobs.every((j) => j.state === 'Submitted'));

    const resumed = await cicada(['queues', 'resume', queue, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).State, 'Active');
    const second = await cicada(args);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /submitted:/);
    for (const f of files) assert.ok(fs.statSync(path.join(out, path.basename(f, '.wav') + '.txt')).size > 0, f);
    assert.equal((await jobIds()).filter((id) => !before.has(id)).length, 5);
    // a third run finds everything done and sends nothing
    const third = await cicada(args);
    assert.equal(third.code, 0, third.stderr);
    assert.equal((third.stderr.match(/done before: /g) || []).length, 5);
    assert.equal((await jobIds()).filter((id) => !before.has(id)).length, 5);
    // a changed file is submitted again
    const copy = path.join(out, 'copy.wav');
    fs.copyFileSync(files[0], copy);
    const once = await cicada(['jobs', 'submit', copy, '--engine', '16k_en', '--wait', '--out', out]);
    assert.equal(once.code, 0, once.stderr);
    fs.appendFileSync(copy, Buffer.alloc(3200));
    const again = await cicada(['jobs', 'submit', copy, '--engine', '16k_en', '--wait', '--out', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /submitted: s[0-9a-f]{32}/);
  } finally {
    await cicada(['queues', 'resume', queue]);
  }
});

test('Ctrl-C during an upload: the client stops at once, no job is submitted', { skip: !haveData }, async () => {
  const big = path.join(L.tmpDir('cicada-client-big-'), 'long.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '20', '-i', JFK, '-c', 'copy', big]);
  const size = fs.statSync(big).size;
  assert.ok(size > 4e6);
  const before = (await jobIds()).length;
  const t0 = Date.now();
  // at 500 kB/s the upload takes over 8 s; Ctrl-C comes after one
  const r = await cicada(['jobs', 'submit', big, '--engine', '16k_en', '--limit-rate', '500000'], { killAfterMs: 1000 });
  const took = Date.now() - t0;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted; nothing more is uploaded or submitted\. Run the same command again to go on/);
  assert.ok(took < 4000, `took ${took} ms to stop`);
  assert.equal((await jobIds()).length, before);
  // the half-sent object was not kept
  const objs = await L.raw(srv.port, { pathname: '/', query: { prefix: 'cli/' } });
  assert.equal(objs.status, 200);
  assert.doesNotMatch(objs.body, /long\.wav/);
});

test('every subcommand: a readable table, and --json', { skip: !haveData }, async () => {
  const sub = await cicada(['jobs', 'submit', JFK, '--engine', '16k_en', '--res-text-format', '1', '--json']);
  assert.equal(sub.code, 0, sub.stderr);
  const [job] = JSON.parse(sub.stdout);
  assert.match(job.job_id, /^s[0-9a-f]{32}$/);
  assert.equal(job.input, JFK);
  const w = await cicada(['jobs', 'watch', job.job_id, '--out', path.join(home, 'watched')]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, new RegExp(`${job.job_id}\\s+${job.job_id}\\s+Success\\s+\\S+watched/jfk\\.txt`));
  assert.match(fs.readFileSync(path.join(home, 'watched', 'jfk.txt'), 'utf8'), /country/);
  const wj = JSON.parse((await cicada(['jobs', 'watch', job.job_id, '--json'])).stdout);
  assert.deepEqual(wj, [{ input: job.job_id, job_id: job.job_id, state: 'Success' }]);

  const get = await cicada(['jobs', 'get', job.job_id]);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /^JobId\s+s[0-9a-f]{32}\nState\s+Success\n/);
  assert.match(get.stdout, /Engine\s+16k_en/);
  assert.match(get.stdout, /Result\n {2}\[\d+:\d+\.\d{3},\d+:\d+\.\d{3}\] {2}[\s\S]*country/);
  const gj = JSON.parse((await cicada(['jobs', 'get', job.job_id, '--json'])).stdout);
  assert.equal(gj.JobsDetail.length, 1);
  assert.equal(gj.JobsDetail[0].Operation.SpeechRecognition.ResTextFormat, '1');
  assert.ok(gj.JobsDetail[0].Operation.SpeechRecognitionResult.ResultDetail.length >= 1);

  const list = await cicada(['jobs', 'list', '--size', '2']);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split('\n');
  assert.match(rows[0], /^JOB ID\s+STATE\s+PROGRESS\s+CREATED\s+ENGINE\s+INPUT$/);
  assert.match(rows[1], new RegExp(`^${job.job_id}\\s+Success\\s+`));
  if ((await jobIds()).length > 2) assert.match(rows[rows.length - 1], /^\(more: --next-token \S+, or --all\)$/);
  else assert.equal(rows.length, 1 + (await jobIds()).length);
  const lj = JSON.parse((await cicada(['jobs', 'list', '--states', 'Success', '--json'])).stdout);
  assert.ok(lj.JobsDetail.some((j) => j.JobId === job.job_id));
  assert.ok(lj.JobsDetail.every((j) => j.State === 'Success'));

  // cancel: a waiting job (its queue paused) is cancelled; an ended one is refused with the server's reason
  const queue = await defaultQueue();
  assert.equal((await cicada(['queues', 'pause', queue])).code, 0);
  try {
    const waiting = JSON.parse((await cicada(['jobs', 'submit', JFK, '--engine', '16k_en', '--json'])).stdout)[0];
    const pj = JSON.parse((await cicada(['queues', 'pause', queue, '--json'])).stdout);
    assert.equal(pj.QueueId, queue);
    assert.equal(pj.State, 'Paused');
    const c = await cicada(['jobs', 'cancel', waiting.job_id]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, `${waiting.job_id}  cancelled\n`);
    const st = JSON.parse((await cicada(['jobs', 'get', waiting.job_id, '--json'])).stdout);
    assert.equal(st.JobsDetail[0].State, 'Cancel');
    const ended = await cicada(['jobs', 'cancel', job.job_id, '--json']);
    assert.equal(ended.code, 3);
    assert.match(ended.stderr, new RegExp(`${job.job_id}: \\w+: `));
    // watch on a cancelled job ends at once with exit code 1
    const wc = await cicada(['jobs', 'watch', waiting.job_id]);
    assert.equal(wc.code, 1);
    assert.match(wc.stderr, new RegExp(`${waiting.job_id}  Cancel`));
  } finally {
    assert.equal((await cicada(['queues', 'resume', queue])).code, 0);
  }
  const missing = await cicada(['jobs', 'get', 's' + '0'.repeat(32)]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /no job s0{32}/);

  const ql = await cicada(['queues', 'list']);
  assert.equal(ql.code, 0, ql.stderr);
  assert.match(ql.stdout, new RegExp(`^QUEUE ID\\s+NAME\\s+STATE\\s+MAX CONCURRENT\\s+CALLBACK\\s+UPDATED\\n${queue}\\s+\\S+\\s+Active\\s+10\\s+off\\s+`));

  const other = `second-${L.APPID}`;
  const open = await cicada(['buckets', 'open', other]);
  assert.equal(open.code, 0, open.stderr);
  assert.match(open.stdout, new RegExp(`^${other}  open \\(${L.REGION}\\)\\n$`));
  const oj = JSON.parse((await cicada(['buckets', 'open', other, '--json'])).stdout);
  assert.equal(oj.AsrBucket.BucketId, other);
  const bl = await cicada(['buckets', 'list']);
  assert.match(bl.stdout, /^BUCKET\s+REGION\s+CREATED\n/);
  assert.match(bl.stdout, new RegExp(`\\n${other}\\s+${L.REGION}\\s+\\d{4}-`));
  const bj = JSON.parse((await cicada(['buckets', 'list', '--json'])).stdout);
  assert.ok(bj.AsrBucketList.some((b) => b.BucketId === L.BUCKET));
  // the named bucket is a separate tenant: its queue is its own, its job list empty
  const oq = JSON.parse((await cicada(['queues', 'list', '--json', '--bucket', other])).stdout);
  assert.equal(oq.QueueList.length, 1);
  assert.notEqual(oq.QueueList[0].QueueId, queue);
  assert.deepEqual(JSON.parse((await cicada(['jobs', 'list', '--json', '--bucket', other])).stdout).JobsDetail, []);
});

test('settings: flags beat the environment, which beats the client INI file', { skip: !haveData }, async () => {
  const dir = path.join(home, '.config', 'cicada');
  fs.mkdirSync(dir, { recursive: true });
  const ini = path.join(dir, 'client.ini');
  fs.writeFileSync(ini, `[client]\nendpoint = http://127.0.0.1:${srv.port}\nsecret_id = ${L.SECRET_ID}\nsecret_key = ${L.SECRET_KEY}\n`, { mode: 0o600 });
  const bare = { CICADA_ENDPOINT: '', CICADA_SECRET_ID: '', CICADA_SECRET_KEY: '' };
  try {
    const fromIni = await cicada(['buckets', 'list'], { extraEnv: bare });
    assert.equal(fromIni.code, 0, fromIni.stderr);
    assert.equal(fromIni.stderr, '');
    // the environment beats the file
    const envWins = await cicada(['buckets', 'list'], { extraEnv: { ...bare, CICADA_SECRET_KEY: 'not-the-key' } });
    assert.equal(envWins.code, 3);
    // the flag beats the environment
    const flagWins = await cicada(['buckets', 'list', '--secret-key', L.SECRET_KEY], { extraEnv: { ...bare, CICADA_SECRET_KEY: 'not-the-key' } });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    // a readable secret is warned about; a malformed file is refused, naming it
    fs.chmodSync(ini, 0o644);
    assert.match((await cicada(['buckets', 'list'], { extraEnv: bare })).stderr, /others can read it \(chmod 600/);
    fs.writeFileSync(ini, 'endpont = http://x\n', { mode: 0o600 });
    const bad = await cicada(['buckets', 'list'], { extraEnv: bare });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /client\.ini: unknown key "endpont"/);
    const missing = await cicada(['buckets', 'list', '--config', path.join(home, 'nope.ini')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.ini/);
  } finally {
    fs.rmSync(ini);
  }
  const none = await cicada(['jobs', 'list'], { extraEnv: { CICADA_SECRET_ID: '', CICADA_SECRET_KEY: '' } });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no credentials: give --secret-id and --secret-key/);
});

test('wrong credentials and an unreachable server: a clear message and the documented exit code', { skip: !haveData }, async () => {
  const wrongKey = await cicada(['jobs', 'list', '--secret-key', 'SK_WRONG']);
  assert.equal(wrongKey.code, 3);
  assert.match(wrongKey.stderr, /^cicada jobs list: SignatureDoesNotMatch: .*\(check --secret-id and --secret-key/);
  const wrongId = await cicada(['queues', 'list', '--secret-id', 'AKIDnobody']);
  assert.equal(wrongId.code, 3);
  assert.match(wrongId.stderr, /InvalidAccessKeyId/);
  const upload = await cicada(['jobs', 'submit', JFK, '--engine', '16k_en', '--secret-key', 'SK_WRONG']);
  assert.equal(upload.code, 3);
  assert.match(upload.stderr, /uploading .*jfk\.wav: SignatureDoesNotMatch/);
  const badEngine = await cicada(['jobs', 'submit', JFK, '--engine', '16k_xx']);
  assert.equal(badEngine.code, 3);
  assert.match(badEngine.stderr, /submitting .*jfk\.wav: InvalidArgument: .*16k_xx/);

  // a port nobody listens on
  const port = await new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
  const t0 = Date.now();
  const down = await cicada(['jobs', 'list', '--endpoint', `http://127.0.0.1:${port}`]);
  assert.equal(down.code, 4);
  assert.match(down.stderr, new RegExp(`^cicada jobs list: cannot reach http://127\\.0\\.0\\.1:${port}: .*`));
  assert.ok(Date.now() - t0 < 15000);
  const badUrl = await cicada(['jobs', 'list', '--endpoint', 'ftp://x']);
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /endpoint "ftp:\/\/x" is not http\(s\):\/\/host\[:port\]/);
  const notFile = await cicada(['jobs', 'submit', path.join(home, 'missing.wav'), '--engine', '16k_en']);
  assert.equal(notFile.code, 2);
  assert.match(notFile.stderr, /cannot read .*missing\.wav: No such file/);
});
