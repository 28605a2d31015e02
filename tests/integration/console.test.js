// console.test.js — the web console in a real browser: headless Chromium (Debian's package) driven
// by puppeteer-core against a real server. Signs in (a wrong key first), uploads jfk.wav through the
// submit page (and drops two files on it), watches the job run to Success on the jobs page, opens
// its detail (transcript, parameters, an <audio> with a WebVTT <track> whose cues are the sentences,
// a click on a sentence seeks), shows a failed job's error, links an Input/Url job's URL (never
// fetching it), pauses and resumes and edits a queue,
// cancels a job waiting in the paused queue, pages with NextToken and filters by state and time,
// edits a queue's callback (and shows the API's refusal of a bad URL), creates and edits a
// hot-vocabulary table and a template, submits with the template, deletes them and closes and opens
// ASR on the bucket through its host name (where the page has no WebCrypto and signs with its own
// SHA-1), escapes < & > in the WebVTT track, is driven by the keyboard, speaks Chinese and fits a phone. Screenshots go to $CICADA_ARTIFACTS (default build/test-artifacts/console).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const L = require('./lib');

const CHROMIUM = (process.env.CICADA_CHROMIUM ? [process.env.CICADA_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'])
  .find((p) => fs.existsSync(p));
L.skipUnless(CHROMIUM, 'no Chromium (apt-get install chromium, or set CICADA_CHROMIUM): the console\'s browser test needs one');
let puppeteer;
try { puppeteer = require('puppeteer-core'); } catch { L.skipUnless(false, 'puppeteer-core is not installed (npm install in tests/integration)'); }
const jfk = path.join(L.TESTDATA, 'en', 'jfk', 'jfk.wav');
L.skipUnless(fs.existsSync(jfk), `no test audio at ${jfk} (set CICADA_TESTDATA)`);
const ARTIFACTS = process.env.CICADA_ARTIFACTS || path.join(L.ROOT, 'build', 'test-artifacts', 'console');
fs.mkdirSync(ARTIFACTS, { recursive: true });

test('web console in headless Chromium', { timeout: 300000 }, async (t) => {
  const srv = await L.startServer({ env: { CICADA_URL_ALLOW_PRIVATE: 'yes' } });   // the Input/Url case's file server is local
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true,
    // the bucket host names reach the server, as a DNS name pointing at it would
    args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
      '--host-resolver-rules=MAP *.myqcloud.com 127.0.0.1'] });
  t.after(async () => { await browser.close(); await srv.stop(); });
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 860 });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  const base = `http://127.0.0.1:${srv.port}/console/`;
  const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const text = (sel) => page.$eval(sel, (e) => e.textContent);
  const cos = L.client(srv.port);
  let jobId;

  await t.test('a wrong key is refused with a visible message', async () => {
    await page.goto(base, { waitUntil: 'load' });
    await page.type('#secret-id', L.SECRET_ID);
    await page.type('#secret-key', 'not-the-key');
    await page.click('#signin-btn');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await text('#error'), /SignatureDoesNotMatch|refused/);
    assert.ok(await page.$eval('#error', (e) => e.offsetHeight > 0), 'the message is visible');
    assert.ok(await page.$eval('#nav', (e) => e.hidden), 'still signed out');
    await shot('01-signin-refused');
  });

  await t.test('signs in; the key stays in sessionStorage only', async () => {
    await page.$eval('#secret-key', (e) => { e.value = ''; });
    await page.type('#secret-key', L.SECRET_KEY);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#nav:not([hidden])');
    await page.waitForSelector('#job-filters');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cicada.key')), L.SECRET_KEY);
    assert.equal(await page.evaluate(() => localStorage.getItem('cicada.key')), null);
    assert.equal(await page.cookies().then((c) => c.length), 0);
  });

  await t.test('uploads jfk.wav and submits it (16k_en)', async () => {
    await page.goto(base + '#/submit');
    await page.waitForSelector('#submit-form');
    const input = await page.$('#file-input');
    await input.uploadFile(jfk);
    await page.waitForSelector('#files li');
    await page.select('#engine', '16k_en');
    await page.click('#submit-go');
    await page.waitForSelector('#files li .job a', { timeout: 30000 });
    jobId = await page.$eval('#files li .job a', (a) => a.textContent);
    assert.match(jobId, /^s[0-9a-f]{32}$/);
    assert.equal(await page.$eval('#files li progress', (p) => p.value), 1, 'the upload bar reached the end');
    await shot('02-submit');
  });

  await t.test('the drop zone takes many files at once', async () => {
    await page.goto(base + '#/jobs');
    await page.waitForSelector('#job-filters');
    await page.goto(base + '#/submit');
    await page.waitForFunction(() => document.querySelector('#drop') && !document.querySelector('#files li'));
    await page.$eval('#drop', (drop) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(100)], 'one.wav', { type: 'audio/wav' }));
      dt.items.add(new File([new Uint8Array(200)], 'two.wav', { type: 'audio/wav' }));
      drop.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const names = await page.$$eval('#files li', (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(names.map((n) => n.split(' ')[0]), ['one.wav', 'two.wav']);
  });

  await t.test('the jobs page shows it run to Success, with its progress bar', async () => {
    await page.goto(base + '#/jobs');
    await page.waitForFunction((id) => {
      const row = document.querySelector(`tr[data-job="${id}"]`);
      return row && row.querySelector('.job-state').textContent === 'Success';
    }, { timeout: 120000, polling: 500 }, jobId);
    assert.equal(await page.$eval(`tr[data-job="${jobId}"] progress`, (p) => p.value), 1);
    await shot('03-jobs');
  });

  await t.test('its detail: transcript, timed subtitle track, a click seeks', async () => {
    await page.click(`tr[data-job="${jobId}"] a`);
    await page.waitForSelector('#job-result');
    const api = (await L.ci(cos, srv.port, 'GET', `/asr_jobs/${jobId}`)).Response.JobsDetail;
    const res = api.Operation.SpeechRecognitionResult;
    const detail = [].concat(res.ResultDetail);
    assert.equal(await text('#job-result'), res.Result);
    assert.match(res.Result.toLowerCase(), /country/);
    const params = await page.$$eval('#job-params dt', (dts) => Object.fromEntries(dts.map((d) => [d.textContent, d.nextElementSibling.textContent])));
    assert.equal(params.EngineModelType, '16k_en');
    assert.equal(params.ResTextFormat, '2');
    assert.equal(await text('#job-state'), 'Success');
    await page.waitForFunction(() => { const a = document.querySelector('#player');
      return a && a.textTracks.length === 1 && a.textTracks[0].cues && a.textTracks[0].cues.length > 0 && a.readyState >= 1; }, { timeout: 20000 });
    const cues = await page.$eval('#player', (a) => Array.from(a.textTracks[0].cues, (c) => ({ start: c.startTime, end: c.endTime, text: c.text })));
    assert.equal(cues.length, detail.length, 'one cue per sentence');
    cues.forEach((c, i) => {
      assert.ok(Math.abs(c.start - Number(detail[i].StartMs) / 1000) < 0.0011, `cue ${i} starts at its sentence`);
      assert.ok(c.end > c.start);
      assert.ok(c.text.includes(detail[i].FinalSentence));
    });
    assert.equal(await page.$eval('#player', (a) => a.querySelector('track').kind), 'subtitles');
    assert.ok(await page.$eval('#player', (a) => a.duration > 10), 'the input audio loads through its signed URL');
    const last = detail.length - 1, target = Number(detail[last].StartMs) / 1000;
    await page.click(`#sentences button[data-i="${last}"]`);
    await page.waitForFunction((tg) => Math.abs(document.querySelector('#player').currentTime - tg) < 0.6, { timeout: 5000 }, target);
    assert.ok(await page.$eval('#player', (a) => a.currentTime) > 0.5, 'the click moved the audio');
    await page.evaluate(() => document.querySelector('#player').pause());
    await shot('04-job-detail');
  });

  await t.test('a failed job shows its error code and message', async () => {
    await L.raw(srv.port, { method: 'PUT', pathname: '/in/noise.wav', body: 'this is not audio' });
    const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/noise.wav' }) });
    const failed = await L.waitJob(cos, srv.port, sub.Response.JobsDetail.JobId);
    assert.equal(failed.State, 'Failed');
    await page.goto(base + `#/job/${failed.JobId}`);
    await page.waitForSelector('#job-error');
    assert.equal(await text('#job-error'), `${failed.Code}: ${failed.Message}`);
  });

  await t.test('an Input/Url job: its URL is a link without a Referer, not fetched by the page', async () => {
    const files = http.createServer((req, res) => { res.setHeader('Content-Type', 'audio/wav'); fs.createReadStream(jfk).pipe(res); });
    await new Promise((ok) => files.listen(0, '127.0.0.1', ok));
    const fetched = [];
    const onRequest = (r) => fetched.push(r.url());
    try {
      const url = `http://127.0.0.1:${files.address().port}/talk.wav?a=1&b=%3Cb%3E`;
      const body = `<Request><Tag>SpeechRecognition</Tag><Input><Url>${url.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</Url></Input>` +
        '<Operation><SpeechRecognition><EngineModelType>16k_en</EngineModelType></SpeechRecognition></Operation></Request>';
      const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body });
      const job = await L.waitJob(cos, srv.port, sub.Response.JobsDetail.JobId);
      assert.equal(job.State, 'Success', JSON.stringify(job));
      page.on('request', onRequest);
      await page.goto(base + `#/job/${job.JobId}`);
      await page.waitForSelector('#job-input-url a');
      const a = await page.$eval('#job-input-url a', (e) => ({ href: e.getAttribute('href'), rel: e.rel, text: e.textContent }));
      assert.deepEqual(a, { href: url, rel: 'noreferrer noopener', text: url });
      assert.equal(await page.$('#player'), null);
      assert.ok((await text('#job-result')).length > 0);
      assert.deepEqual(fetched.filter((u) => u.includes(`:${files.address().port}/`)), [], 'the page fetched the input URL');
    } finally {
      page.off('request', onRequest);
      files.close();
    }
  });

  let queueId;
  await t.test('pauses a queue, cancels a job waiting in it, resumes it', async () => {
    await page.goto(base + '#/queues');
    await page.waitForSelector('#queues tbody tr');
    queueId = await page.$eval('#queues tbody tr', (r) => r.dataset.queue);
    await page.click(`tr[data-queue="${queueId}"] button.pause`);
    await page.waitForFunction((q) => document.querySelector(`tr[data-queue="${q}"] .queue-state`).textContent === 'Paused', {}, queueId);
    const q = (await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: queueId } })).Response.QueueList;
    assert.equal(q.State, 'Paused');
    await shot('05-queue-paused');

    await L.putFile(cos, 'in/wait.wav', jfk);
    const sub = await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/wait.wav', queueId }) });
    const waiting = sub.Response.JobsDetail.JobId;
    await page.goto(base + '#/jobs');
    await page.waitForSelector(`tr[data-job="${waiting}"] button.job-cancel`);
    await page.click(`tr[data-job="${waiting}"] button.job-cancel`);
    await page.waitForFunction((id) => { const r = document.querySelector(`tr[data-job="${id}"] .job-state`); return r && r.textContent === 'Cancel'; },
      { timeout: 10000 }, waiting);
    assert.equal((await L.waitJob(cos, srv.port, waiting)).State, 'Cancel');
    await shot('06-job-cancelled');

    // NextToken paging: 11 more jobs waiting in the paused queue, 10 a page
    const more = [];
    for (let i = 0; i < 11; i++)
      more.push((await L.ci(cos, srv.port, 'POST', '/asr_jobs', { body: L.submitXml({ object: 'in/wait.wav', queueId }) })).Response.JobsDetail.JobId);
    await page.select('#f-size', '10');
    await page.click('#job-filters button[type=submit]');
    await page.waitForFunction((id) => document.querySelectorAll('#jobs tbody tr').length === 10 && document.querySelector(`tr[data-job="${id}"]`)
      && document.querySelector('#next-page'), {}, more[10]);
    const page1 = await page.$$eval('#jobs tbody tr', (trs) => trs.map((r) => r.dataset.job));
    assert.deepEqual(page1, more.slice(1).reverse(), 'newest first');
    await page.click('#next-page');
    await page.waitForFunction((id) => !document.querySelector(`tr[data-job="${id}"]`), {}, more[10]);
    const page2 = await page.$$eval('#jobs tbody tr', (trs) => trs.map((r) => r.dataset.job));
    assert.equal(page2[0], more[0], 'the second page resumes after the first');
    assert.ok(page2.includes(waiting) && page2.includes(jobId) && !page2.some((id) => page1.includes(id)));
    assert.equal(await page.$('#next-page'), null, 'no third page');
    for (const id of more) await L.ci(cos, srv.port, 'PUT', `/jobs/${id}`, { query: { cancel: '' } });
    await page.select('#f-size', '20');

    // the filters: by state, and by creation time (none created after an hour from now)
    await page.select('#f-states', 'Cancel');
    await page.click('#job-filters button[type=submit]');
    await page.waitForFunction((id) => { const rows = Array.from(document.querySelectorAll('#jobs tbody tr'));
      return rows.length === 12 && rows.every((r) => r.querySelector('.job-state').textContent === 'Cancel') &&
        rows.some((r) => r.dataset.job === id); }, {}, waiting);
    await page.select('#f-states', '');
    const later = new Date(Date.now() + 3600e3 - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
    await page.$eval('#f-start', (e, v) => { e.value = v; }, later);
    await page.click('#job-filters button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('#jobs') && document.querySelector('#job-filters'));
    await page.$eval('#f-start', (e) => { e.value = ''; });
    await page.click('#job-filters button[type=submit]');
    await page.waitForFunction((id) => document.querySelector(`tr[data-job="${id}"]`), {}, jobId);

    await page.goto(base + '#/queues');
    await page.waitForSelector(`tr[data-queue="${queueId}"] button.resume`);
    await page.click(`tr[data-queue="${queueId}"] button.resume`);
    await page.waitForFunction((id) => document.querySelector(`tr[data-queue="${id}"] .queue-state`).textContent === 'Active', {}, queueId);
    // edit: the queue's name
    await page.click(`tr[data-queue="${queueId}"] button:not(.resume):not(.pause)`);
    await page.waitForSelector('#queue-form input[name=Name]');
    await page.$eval('#queue-form input[name=Name]', (e) => { e.value = ''; });
    await page.type('#queue-form input[name=Name]', 'console-queue');
    await page.click('#queue-form button.primary');
    await page.waitForFunction((id) => document.querySelector(`tr[data-queue="${id}"] td:nth-child(2)`)?.textContent === 'console-queue', {}, queueId);
    const edited = (await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: queueId } })).Response.QueueList;
    assert.equal(edited.Name, 'console-queue');
    assert.equal(edited.State, 'Active');
  });

  await t.test('edits a queue\'s callback (NotifyConfig Url, State, ResultFormat); a bad URL is refused on the page', async () => {
    await page.goto(base + '#/queues');
    await page.waitForSelector(`tr[data-queue="${queueId}"] button.pause`);
    const editQueue = async (url, state, format) => {
      await page.click(`tr[data-queue="${queueId}"] button:not(.resume):not(.pause)`);
      await page.waitForSelector('#queue-form input[name=Url]');
      await page.$eval('#queue-form input[name=Url]', (e) => { e.value = ''; });
      await page.type('#queue-form input[name=Url]', url);
      await page.select('#queue-form select[name=NotifyState]', state);
      await page.select('#queue-form select[name=ResultFormat]', format);
      await page.$eval('#status', (e) => { e.textContent = ''; });
      await page.click('#queue-form button.primary');
    };
    const url = 'http://8.8.8.8/cicada/callback';
    await editQueue(url, 'On', 'JSON');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    let q = (await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: queueId } })).Response.QueueList;
    assert.equal(q.NotifyConfig.Url, url);
    assert.equal(q.NotifyConfig.State, 'On');
    assert.equal(q.NotifyConfig.ResultFormat, 'JSON');
    assert.equal(q.NotifyConfig.Event, 'TaskFinish', 'turning it On names the event');
    assert.match(await text(`tr[data-queue="${queueId}"]`), /On http:\/\/8\.8\.8\.8\/cicada\/callback/);
    // a URL the browser's type=url accepts but the API does not: its 400 is shown, nothing changes
    await editQueue('ftp://8.8.8.8/cb', 'On', 'XML');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await text('#error'), /^InvalidArgument: NotifyConfig\/Url must be an http or https URL/);
    q = (await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: queueId } })).Response.QueueList;
    assert.equal(q.NotifyConfig.Url, url);
    assert.equal(q.NotifyConfig.ResultFormat, 'JSON');
    // Off again (no callbacks for the jobs that follow), XML
    await page.click('#queue-editor button:not(.primary)');
    await editQueue(url, 'Off', 'XML');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    q = (await L.ci(cos, srv.port, 'GET', '/asrqueue', { query: { queueIds: queueId } })).Response.QueueList;
    assert.equal(q.NotifyConfig.State, 'Off');
    assert.equal(q.NotifyConfig.ResultFormat, 'XML');
    assert.equal(await page.$eval('#error', (e) => e.hidden), true, 'the error went with the next action');
  });

  await t.test('buckets: the default bucket is listed and marked', async () => {
    await page.goto(base + '#/buckets');
    await page.waitForSelector('#bucket-open');
    const rows = await page.$$eval('#page table tbody tr', (trs) => trs.map((r) => r.textContent));
    assert.ok(rows.some((r) => r.startsWith(`${L.BUCKET} ✓`) && r.includes(L.REGION)), rows.join(' | '));
  });

  await t.test('hot-vocabulary tables and templates: create, edit', async () => {
    await page.goto(base + '#/tables');
    await page.waitForSelector('#table-new');
    await page.click('#table-new');
    await page.type('#table-editor input[name=TableName]', 'names');
    await page.type('#table-editor textarea', 'Kennedy|11\nAmericans|10');
    await page.click('#table-editor button.primary');
    await page.waitForFunction(() => document.querySelector('#page table') && /Kennedy\|11/.test(document.querySelector('#page table').textContent));
    await page.goto(base + '#/templates');
    await page.waitForSelector('#template-new');
    await page.click('#template-new');
    await page.type('#template-editor input[name=Name]', 'english');
    await page.select('#template-editor #engine', '16k_en');
    await page.click('#template-editor button.primary');
    await page.waitForFunction(() => document.querySelector('#page table') && /english/.test(document.querySelector('#page table').textContent));
    const list = (await L.ci(cos, srv.port, 'GET', '/template')).Response;
    assert.equal(list.TemplateList.Name, 'english');
    assert.equal(list.TemplateList.SpeechRecognition.EngineModelType, '16k_en');
    await shot('07-templates');
    // edit: the table's description, the template's ResTextFormat
    await page.goto(base + '#/tables');
    await page.waitForSelector('#table-new ~ div table button.danger');
    await page.click('#page table button:not(.danger)');
    await page.waitForSelector('#table-editor input[name=TableDescription]');
    await page.type('#table-editor input[name=TableDescription]', 'speakers');
    await page.click('#table-editor button.primary');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    const tables = (await L.ci(cos, srv.port, 'GET', '/asrhotvocabtable')).Response;
    assert.equal(tables.HotVocabularyTable.TableDescription, 'speakers');
    await page.goto(base + '#/templates');
    await page.waitForSelector('#template-new ~ div table button.danger');
    await page.click('#page table button:not(.danger)');
    await page.select('#template-editor select[name=ResTextFormat]', '3');
    await page.click('#template-editor button.primary');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    assert.equal((await L.ci(cos, srv.port, 'GET', '/template')).Response.TemplateList.SpeechRecognition.ResTextFormat, '3');
    // a delete through an IP Host is the API's 400 (it must name its bucket), shown as it is
    page.once('dialog', (d) => d.accept());
    await page.click('#page table button.danger');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await text('#error'), /must name its bucket in the Host/);
  });

  await t.test('submits with a template: the job runs the template', async () => {
    const tpl = (await L.ci(cos, srv.port, 'GET', '/template')).Response.TemplateList;
    await page.goto(base + '#/submit');
    await page.waitForSelector(`#template option[value="${tpl.TemplateId}"]`);
    await page.waitForFunction(() => !document.querySelector('#files li'));
    await (await page.$('#file-input')).uploadFile(jfk);
    await page.waitForSelector('#files li');
    await page.select('#template', tpl.TemplateId);
    await page.click('#submit-go');
    await page.waitForSelector('#files li .job a', { timeout: 30000 });
    const id = await page.$eval('#files li .job a', (a) => a.textContent);
    const done = await L.waitJob(cos, srv.port, id);
    assert.equal(done.State, 'Success');
    assert.equal(done.Operation.TemplateId, tpl.TemplateId);
    assert.equal(done.Operation.TemplateName, 'english');
    assert.match(String(done.Operation.SpeechRecognitionResult.Result).toLowerCase(), /country/);
    await page.goto(base + `#/job/${id}`);
    await page.waitForSelector('#job-result');
    assert.match((await text('#job-result')).toLowerCase(), /country/);
  });

  await t.test('through a bucket\'s host name (plain http, no WebCrypto): deletes work there', async () => {
    const named = await browser.newPage();
    named.on('dialog', (d) => d.accept());
    named.on('pageerror', (e) => pageErrors.push(e.message));
    const nbase = `http://${L.HOST}:${srv.port}/console/`;
    await named.goto(nbase, { waitUntil: 'load' });
    assert.equal(await named.evaluate(() => window.isSecureContext), false, 'the fallback SHA-1 signs here');
    await named.type('#secret-id', L.SECRET_ID);
    await named.type('#secret-key', L.SECRET_KEY);
    await named.keyboard.press('Enter');
    await named.waitForSelector('#job-filters');
    await named.goto(nbase + '#/templates');
    await named.waitForSelector('#template-new ~ div table button.danger');
    await named.click('#page table button.danger');
    await named.waitForFunction(() => !document.querySelector('#page table'));
    assert.equal((await L.ci(cos, srv.port, 'GET', '/template')).Response.TotalCount, '0');
    await named.goto(nbase + '#/tables');
    await named.waitForSelector('#table-new ~ div table button.danger');
    await named.click('#page table button.danger');
    await named.waitForFunction(() => !document.querySelector('#page table'));
    // buckets: close ASR on this bucket (a delete: it needs the bucket in the Host), then open it again
    const asrBuckets = async () => [].concat((await L.ci(cos, srv.port, 'GET', '/asrbucket')).Response.AsrBucketList || []).map((b) => b.Name);
    assert.ok((await asrBuckets()).includes(L.BUCKET));
    await named.goto(nbase + '#/buckets');
    await named.waitForSelector('#bucket-open ~ button.danger');
    await named.click('#bucket-open ~ button.danger');
    await named.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    assert.ok(!(await asrBuckets()).includes(L.BUCKET), 'closed through the API');
    assert.ok(!(await named.$$eval('#page tbody tr', (trs) => trs.map((r) => r.textContent))).some((r) => r.startsWith(L.BUCKET)), 'gone from the page');
    await named.$eval('#status', (e) => { e.textContent = ''; });
    await named.click('#bucket-open');
    await named.waitForFunction(() => document.querySelector('#status').textContent === 'Saved');
    assert.ok((await asrBuckets()).includes(L.BUCKET), 'open again');
    assert.ok((await named.$$eval('#page tbody tr', (trs) => trs.map((r) => r.textContent))).some((r) => r.startsWith(`${L.BUCKET} ✓`)));
    await named.close();
  });

  // The VTT builder is private to app.js's closure; rather than expose it, the test feeds the job page
  // a job detail (request interception answers its GET /asr_jobs/<id>) whose sentences hold < & >
  // and reads the cues the browser parsed from the track: the page's code is tested unchanged.
  await t.test('WebVTT: < & > in a sentence are escaped in the subtitle track', async () => {
    const fake = 's' + 'f'.repeat(32);
    const sentence = (text, start, end, speaker) => `<ResultDetail><FinalSentence>${text}</FinalSentence><StartMs>${start}</StartMs>` +
      `<EndMs>${end}</EndMs><SpeakerId>${speaker}</SpeakerId></ResultDetail>`;
    const xml = `<Response><JobsDetail><JobId>${fake}</JobId><State>Success</State><Progress>1</Progress><Input><Object>in/wait.wav</Object></Input>` +
      '<Operation><SpeechRecognition><EngineModelType>16k_en</EngineModelType></SpeechRecognition><SpeechRecognitionResult>' +
      '<Result>a &lt; b &amp; c &gt; d</Result>' + sentence('a &lt; b &amp;&amp; c &gt; d', 0, 1500, '') +
      sentence('&lt;v 2&gt; x &amp;lt; y', 1500, 3000, '1') + '</SpeechRecognitionResult></Operation></JobsDetail></Response>';
    const answer = (req) => (req.url().includes(`/asr_jobs/${fake}`)
      ? req.respond({ status: 200, contentType: 'application/xml', body: xml }) : req.continue());
    await page.setRequestInterception(true);
    page.on('request', answer);
    try {
      await page.goto(base + `#/job/${fake}`);
      await page.waitForFunction(() => { const a = document.querySelector('#player');
        return a && a.textTracks.length === 1 && a.textTracks[0].cues && a.textTracks[0].cues.length === 2; }, { timeout: 20000 });
      const cues = await page.$eval('#player', (a) => Array.from(a.textTracks[0].cues, (c) => ({ text: c.text, shown: c.getCueAsHTML().textContent })));
      assert.deepEqual(cues, [
        { text: 'a &lt; b &amp;&amp; c &gt; d', shown: 'a < b && c > d' },
        { text: '<v 1>&lt;v 2&gt; x &amp;lt; y', shown: '<v 2> x &lt; y' },
      ]);
      assert.deepEqual(await page.$$eval('#sentences button', (bs) => bs.map((b) => b.lastChild.textContent)), ['a < b && c > d', '<v 2> x &lt; y']);
    } finally {
      page.off('request', answer);
      await page.setRequestInterception(false);
    }
  });

  await t.test('keyboard: Tab reaches the main controls, Enter activates them', async () => {
    await page.goto(base + '#/jobs');
    await page.reload({ waitUntil: 'load' });   // a fresh page: Tab starts from the top
    await page.waitForSelector('#job-filters');
    const seen = [];
    for (let i = 0; i < 12 && !seen.includes('#/submit'); i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement.getAttribute('href') || document.activeElement.id));
    }
    assert.ok(seen.includes('#/jobs') && seen.includes('#/submit'), `Tab order: ${seen.join(' ')}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#submit-form');
    assert.equal(await page.evaluate(() => location.hash), '#/submit');
    // the drop zone is a control too: Tab reaches it after the heading
    let onDrop = false;
    for (let i = 0; i < 12 && !onDrop; i++) {
      await page.keyboard.press('Tab');
      onDrop = await page.evaluate(() => document.activeElement.id === 'drop');
    }
    assert.ok(onDrop, 'the drop zone takes the focus');
  });

  await t.test('keyboard: the focus survives the jobs page\'s auto-refresh', async () => {
    await page.goto(base + '#/jobs');
    await page.waitForSelector(`tr[data-job="${jobId}"] a`);
    await page.focus(`tr[data-job="${jobId}"] a`);
    await page.$eval(`tr[data-job="${jobId}"] a`, (a) => { a.dataset.before = '1'; });
    await page.waitForFunction(() => !document.querySelector('a[data-before]'), { timeout: 5000 });   // a refresh re-rendered the table
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.job), jobId);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#job-result');
    assert.equal(await page.evaluate(() => location.hash), `#/job/${jobId}`);
  });

  await t.test('the language switch shows Chinese', async () => {
    await page.select('#lang', 'zh');
    await page.waitForFunction(() => document.querySelector('#nav a').textContent === '任务');
    await page.goto(base + '#/jobs');
    await page.waitForSelector('#jobs');
    await shot('08-jobs-zh');
    await page.select('#lang', 'en');
  });

  await t.test('a phone-sized screen still reads', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true });
    await page.goto(base + `#/job/${jobId}`);
    await page.waitForSelector('#job-result');
    const wide = await page.evaluate(() => Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => `${e.localName}#${e.id}.${e.className}`));
    assert.deepEqual(wide, [], 'no sideways scrolling');
    await shot('09-phone-job');
  });

  await t.test('no script errors on the way', () => {
    assert.deepEqual(pageErrors.filter((e) => !/Failed to load resource/.test(e)), []);
  });
});
