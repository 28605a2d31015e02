// cli.test.js — the `cicada` command as scripts use it: subcommands and --help, configuration
// precedence (flags > environment > INI file > defaults), the SecretId/SecretKey generated on first
// start and kept across restarts, a keys file with several triples, and clear refusals: one option
// rule for every subcommand (an unknown option is called unknown), `transcribe --help` showing only
// what applies to it, and the --pcm hint for a headerless PCM file. (Start-up: startup.test.js.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const run = (args, env = {}) => spawnSync(L.BIN, args, { encoding: 'utf8', env: { ...process.env, ...env } });
const line = (banner, label) => (banner.match(new RegExp(`${label}:\\s+(\\S+)`)) || [])[1];

test('subcommands, --help and version', () => {
  assert.equal(run(['--help']).status, 0);
  assert.match(run(['--help']).stdout, /serve[\s\S]*transcribe[\s\S]*diarize[\s\S]*jobs[\s\S]*queues[\s\S]*buckets[\s\S]*version/);
  const bad = run(['frobnicate']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command/);
  const sh = run(['serve', '--help']);
  assert.equal(sh.status, 0);
  for (const name of ['CICADA_LISTEN', 'CICADA_DATA_DIR', 'CICADA_SECRET_ID', 'CICADA_SECRET_KEY', 'CICADA_APPID',
    'CICADA_REGION', 'CICADA_DEFAULT_BUCKET', 'CICADA_WORKERS', 'CICADA_KEYS_FILE', 'CICADA_SPHINX_ZH_MODEL']) {
    assert.match(sh.stdout, new RegExp(name));
  }
  assert.equal(run(['transcribe', '--help']).status, 0);
  assert.match(run(['version']).stdout, /^cicada \d+\.\d+\.\d+/);
  assert.equal(run(['serve', '--no-such-flag']).status, 2);
  const w = run(['serve', '--workers', 'many']);
  assert.equal(w.status, 2);
  assert.match(w.stderr, /workers must be a number/);
  const t = run(['transcribe']);
  assert.equal(t.status, 2);
});

test('every subcommand follows one option rule', () => {
  for (const args of [['text'], ['serve'], ['transcribe', 'x.wav'], ['models', 'list'], ['models', 'pull', 'base']]) {
    for (const frob of [['--frob'], ['--frob', '1'], ['--frob=1']]) {
      const r = run([...args, ...frob]);
      assert.equal(r.status, 2, `${args} ${frob}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^cicada ${args[0]}: unknown option --frob \\(see cicada ${args[0]} --help\\)\n$`));
    }
  }
  // the client's subcommands: the same rule, named with their own two words
  for (const args of [['jobs', 'list'], ['jobs', 'submit', 'x.wav'], ['jobs', 'get', 's1'], ['queues', 'list'], ['buckets', 'open']]) {
    const r = run([...args, '--frob']);
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    const name = `cicada ${args[0]} ${args[1]}`;
    assert.equal(r.stderr, `${name}: unknown option --frob (see ${name} --help)\n`);
  }
  assert.match(run(['jobs', 'list', '--endpoint']).stderr, /: --endpoint needs a value\n$/);
  assert.match(run(['jobs', 'submit', 'x.wav', '--wait=1']).stderr, /--wait takes no value/);
  for (const [cmd, subs] of [['jobs', /submit[\s\S]*list[\s\S]*get[\s\S]*cancel[\s\S]*watch/], ['queues', /list[\s\S]*pause[\s\S]*resume/], ['buckets', /open[\s\S]*list/]]) {
    const h = run([cmd, '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, subs);
    assert.match(h.stdout, /CICADA_ENDPOINT[\s\S]*exit codes: 0 done; 1 a job ended Failed/);
    assert.equal(run([cmd]).status, 2);
    const unknown = run([cmd, 'frob']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, new RegExp(`^cicada ${cmd}: unknown subcommand "frob"`));
  }
  assert.match(run(['jobs', 'submit', '--help']).stdout, /--engine TYPE[\s\S]*--limit-rate N[\s\S]*example:/);
  assert.match(run(['jobs', 'get', 'not-an-id']).stderr, /"not-an-id" is not a job id/);
  assert.match(run(['jobs', 'submit', 'x.wav']).stderr, /--engine is required/);
  assert.match(run(['jobs', 'submit', 'x.wav', '--engine', '16k_en', '--format', 'doc']).stderr, /--format must be txt, srt, vtt or json/);
  const missing = [[['text', '--filter-punc'], '--filter-punc'], [['serve', '--listen'], '--listen'],
    [['transcribe', 'x.wav', '--engine'], '--engine'], [['models', 'pull', 'x', '--url'], '--url']];
  for (const [args, name] of missing) {
    const r = run(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`: ${name} needs a value\n$`));
  }
  const flag = run(['transcribe', 'x.wav', '--pcm=yes']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /--pcm takes no value/);
  // serve's settings are no options of the one-file commands
  const serveOnly = [['transcribe', 'x.wav', '--listen', ':1'], ['models', 'list', '--workers', '2'], ['text', '--log', 'x']];
  for (const args of serveOnly) {
    const r = run(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`unknown option ${args[args.length - 2]}`));
  }
  // an option's value may begin with '-', and "--" ends the options
  assert.match(run(['text', '--filter-dirty', '-1']).stderr, /--filter-dirty must be 0, 1 or 2, not "-1"/);
  const file = run(['transcribe', '--', '--frob']);   // a file named --frob, which does not exist
  assert.equal(file.status, 1);
  assert.match(file.stderr, /InputOpenFailed/);
});

test('transcribe --help shows what applies to transcribe, with examples', () => {
  const h = run(['transcribe', '--help']);
  assert.equal(h.status, 0);
  for (const opt of ['--engine TYPE', '--model PATH', '--format F', '--pcm', '--channel-num', '--res-text-format',
    '--sentence-max-length', '--convert-num-mode', '--filter-modal', '--filter-dirty', '--filter-punc',
    '--speaker-diarization 0|1', '--speaker-number 0-10', 'CICADA_MODEL_DIR', 'CICADA_ENGINES', 'CICADA_SPHINX_ZH_MODEL', 'CICADA_VAD_MODEL', 'CICADA_DIRTY_WORDS', '--config']) {
    assert.ok(h.stdout.includes(opt), `transcribe --help lacks ${opt}`);
  }
  for (const serveOnly of ['CICADA_LISTEN', 'CICADA_SECRET_KEY', 'CICADA_WORKERS', 'CICADA_KEYS_FILE', 'CICADA_REGION',
    'CICADA_HTTP_THREADS', 'CICADA_URL_ALLOW_PRIVATE', 'CICADA_MAX_SIGN_LIFETIME']) {
    assert.ok(!h.stdout.includes(serveOnly), `transcribe --help shows ${serveOnly}`);
  }
  const examples = h.stdout.split('examples:\n')[1].split('\n\n')[0].split('\n');
  assert.equal(examples.length, 3, h.stdout);
  for (const e of examples) assert.match(e, /^ {2}cicada transcribe \S+\.\w+ --/);
  const m = run(['models', '--help']).stdout;
  assert.match(m, /CICADA_MODEL_DIR/);
  assert.doesNotMatch(m, /CICADA_LISTEN|CICADA_SECRET_KEY/);
});

test('raw PCM without --pcm gets a hint to add it', () => {
  const wav = fs.readFileSync(path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav'));   // 16 kHz mono s16le
  const data = wav.indexOf('data');
  assert.ok(data > 0 && wav.readUInt16LE(22) === 1 && wav.readUInt32LE(24) === 16000);
  const dir = L.tmpDir('cicada-pcm-');
  const pcm = path.join(dir, 'jfk.pcm');
  fs.writeFileSync(pcm, wav.subarray(data + 8));
  const r = run(['transcribe', pcm]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /: (InputNotAudio|AudioDecodeFailed): /);
  assert.match(r.stderr,
    /hint: \S+jfk\.pcm looks like headerless PCM; add --pcm to read it as signed 16-bit little-endian samples at 16000 Hz/);
  const ok = run(['transcribe', pcm, '--pcm']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /country/);
  const raw = path.join(dir, 'JFK.RAW');
  fs.copyFileSync(pcm, raw);
  assert.match(run(['transcribe', raw]).stderr, /hint: .*JFK\.RAW looks like headerless PCM/);
});

test('transcribe reports a failure with its code and a non-zero exit', () => {
  const dir = L.tmpDir('cicada-cli-');
  const junk = path.join(dir, 'junk.mp3');
  fs.writeFileSync(junk, 'not audio\n'.repeat(100));
  const r = run(['transcribe', junk]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Input|Audio/);
  assert.doesNotMatch(r.stderr, /--pcm/, 'an .mp3 is no headerless PCM');
  const ja = run(['transcribe', junk, '--engine', '16k_ja']);
  assert.equal(ja.status, 1);
  assert.match(ja.stderr, /EngineNotInstalled: .*16k_ja/);
});

test('flags beat the environment, which beats the INI file', async () => {
  const dir = L.tmpDir('cicada-cfg-');
  const ini = path.join(dir, 'cicada.ini');
  fs.writeFileSync(ini, '[server]\nregion = ap-from-ini\ndefault_bucket = ini-1250000000\nworkers = 3\nlisten = 127.0.0.1:1\n');
  const srv = await L.startServer({
    env: { CICADA_CONFIG: ini, CICADA_REGION: 'ap-from-env', CICADA_DEFAULT_BUCKET: '', CICADA_LISTEN: '127.0.0.1:0' },
    args: ['--workers', '1'],
  });
  try {
    assert.equal(line(srv.banner, 'Region'), 'ap-from-env');
    assert.equal(line(srv.banner, 'Default bucket'), 'ini-1250000000');
    assert.equal(line(srv.banner, 'Workers'), '1');
    assert.notEqual(srv.port, 1, 'CICADA_LISTEN must win over the file\'s listen');
    // the default bucket from the file is ready: a request to the bare IP acts on it
    const r = await L.raw(srv.port, { pathname: '/asrqueue' });
    assert.equal(r.status, 200, r.body);
    assert.equal(L.tag(r.body, 'BucketId'), 'ini-1250000000');
  } finally {
    await srv.stop();
  }
});

test('a generated key is printed, kept, and works; a keys file holds several', async () => {
  const dataDir = L.tmpDir('cicada-keys-');
  const env = { CICADA_SECRET_ID: '', CICADA_SECRET_KEY: '', CICADA_DEFAULT_BUCKET: '' };
  let srv = await L.startServer({ dataDir, env });
  const id = line(srv.banner, 'SecretId');
  const key = line(srv.banner, 'SecretKey');
  assert.match(id, /^AKID[0-9a-f]{32}$/);
  assert.equal(line(srv.banner, 'Default bucket'), `cicada-${L.APPID}`);
  const ok = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { secretId: id, secretKey: key } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(L.tag(ok.body, 'BucketId'), `cicada-${L.APPID}`);
  await srv.stop();
  srv = await L.startServer({ dataDir, env });
  assert.equal(line(srv.banner, 'SecretId'), id, 'the key must survive a restart');
  await srv.stop();

  const keys = path.join(dataDir, 'keys');
  fs.writeFileSync(keys, '# id key appid\nAKIDone SKone 1250000000\nAKIDtwo SKtwo 1300000000\n');
  srv = await L.startServer({ dataDir, env: { ...env, CICADA_KEYS_FILE: keys } });
  try {
    const one = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { secretId: 'AKIDone', secretKey: 'SKone' } });
    assert.equal(one.status, 200, one.body);
    // AKIDtwo is valid, but its appid owns no rights on cicada-1250000000
    const two = await L.raw(srv.port, { pathname: '/asrqueue', signOpts: { secretId: 'AKIDtwo', secretKey: 'SKtwo' } });
    assert.equal(two.status, 403);
    assert.equal(L.tag(two.body, 'Code'), 'AccessDenied');
    const own = await L.raw(srv.port, { method: 'POST', pathname: '/asrbucket', host: 'mine-1300000000.ci.ap-chongqing.myqcloud.com',
      signOpts: { secretId: 'AKIDtwo', secretKey: 'SKtwo' } });
    assert.equal(own.status, 200, own.body);
  } finally {
    await srv.stop();
  }
  const badKeys = path.join(dataDir, 'bad-keys');
  fs.writeFileSync(badKeys, 'only-one-field\n');
  await assert.rejects(L.startServer({ dataDir, env: { ...env, CICADA_KEYS_FILE: badKeys } }), /bad-keys/);
});
