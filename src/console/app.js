// app.js — the Cicada web console: a page of plain DOM code, no framework. Every call it makes is a
// normal CI API request signed here (q-sign-algorithm=sha1: HMAC-SHA1 through WebCrypto where the
// browser offers it, else the small SHA-1 below) with the SecretId/SecretKey the user typed, kept in
// sessionStorage only. Requests go to this page's own origin, so they reach the bucket its Host
// names (an IP or localhost Host: the server's default bucket).
'use strict';
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const te = new TextEncoder();
  let lang = localStorage.getItem('cicada.lang') || ((navigator.language || '').startsWith('zh') ? 'zh' : 'en');
  const t = (k) => (window.CICADA_I18N[lang] || {})[k] || window.CICADA_I18N.en[k] || k;
  const ctx = { bucket: '', region: '', queues: [] };
  let timer = null;        // the current page's auto-refresh

  // ---- DOM helpers: text always goes in as text, never as HTML ----
  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined && kid !== false)
      el.append(kid instanceof Node ? kid : String(kid));
    return el;
  }
  const status = (msg) => { $('#status').textContent = msg || ''; };
  function showError(e) {
    const box = $('#error');
    if (!e) { box.hidden = true; box.textContent = ''; return; }
    box.hidden = false;
    box.textContent = e.code ? `${e.code}: ${e.message}` : String(e.message || e);
  }

  // ---- signing (spec section 6) ----
  const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
  // WebCrypto exists only in secure contexts (https, localhost): a page opened over plain http by
  // another name (a LAN address, a bucket's host name) signs with sha1() below instead (FIPS 180-4).
  const subtle = window.isSecureContext && window.crypto && crypto.subtle;
  function sha1(bytes) {
    const l = bytes.length, n = ((l + 8) >> 6) + 1, w = new Uint32Array(n * 16), x = new Uint32Array(80);
    for (let i = 0; i < l; i++) w[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
    w[l >> 2] |= 0x80 << (24 - (l & 3) * 8);
    w[n * 16 - 2] = Math.floor(l / 0x20000000);
    w[n * 16 - 1] = (l * 8) >>> 0;
    const hs = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    const rol = (v, s) => ((v << s) | (v >>> (32 - s))) >>> 0;
    for (let blk = 0; blk < w.length; blk += 16) {
      for (let i = 0; i < 80; i++) x[i] = i < 16 ? w[blk + i] : rol(x[i - 3] ^ x[i - 8] ^ x[i - 14] ^ x[i - 16], 1);
      let [a, b, c, d, e] = hs;
      for (let i = 0; i < 80; i++) {
        const f = i < 20 ? (b & c) | (~b & d) : i < 40 || i >= 60 ? b ^ c ^ d : (b & c) | (b & d) | (c & d);
        const k = i < 20 ? 0x5A827999 : i < 40 ? 0x6ED9EBA1 : i < 60 ? 0x8F1BBCDC : 0xCA62C1D6;
        const tmp = (rol(a, 5) + f + e + k + x[i]) >>> 0;
        e = d; d = c; c = rol(b, 30); b = a; a = tmp;
      }
      [a, b, c, d, e].forEach((v, i) => { hs[i] = (hs[i] + v) >>> 0; });
    }
    const out = new Uint8Array(20);
    hs.forEach((v, i) => { out[i * 4] = v >>> 24; out[i * 4 + 1] = v >>> 16; out[i * 4 + 2] = v >>> 8; out[i * 4 + 3] = v; });
    return out;
  }
  function hmacSha1(key, msg) {
    let k = key.length > 64 ? sha1(key) : key;
    const pad = (c) => { const p = new Uint8Array(64).fill(c); k.forEach((b, i) => { p[i] ^= b; }); return p; };
    const cat = (a, b) => { const r = new Uint8Array(a.length + b.length); r.set(a); r.set(b, a.length); return r; };
    return sha1(cat(pad(0x5c), sha1(cat(pad(0x36), msg))));
  }
  async function hmacHex(key, msg) {
    if (!subtle) return hex(hmacSha1(te.encode(key), te.encode(msg)));
    const k = await subtle.importKey('raw', te.encode(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    return hex(await subtle.sign('HMAC', k, te.encode(msg)));
  }
  const sha1Hex = async (msg) => hex(subtle ? await subtle.digest('SHA-1', te.encode(msg)) : sha1(te.encode(msg)));
  const creds = () => ({ id: sessionStorage.getItem('cicada.id'), key: sessionStorage.getItem('cicada.key') });

  // The q-sign string for method + decoded path + query (all signed) + the Host header.
  async function sign(method, path, query = {}, c = creds()) {
    const t0 = Math.floor(Date.now() / 1000) - 60, keyTime = `${t0};${t0 + 3600}`;
    const list = (o) => Object.keys(o).map((k) => [enc(k).toLowerCase(), enc(String(o[k]))]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const p = list(query), hd = list({ host: location.host });
    const httpString = [method.toLowerCase(), path, p.map((x) => x.join('=')).join('&'), hd.map((x) => x.join('=')).join('&'), ''].join('\n');
    const signKey = await hmacHex(c.key, keyTime);
    const sig = await hmacHex(signKey, ['sha1', keyTime, await sha1Hex(httpString), ''].join('\n'));
    return `q-sign-algorithm=sha1&q-ak=${c.id}&q-sign-time=${keyTime}&q-key-time=${keyTime}` +
      `&q-header-list=${hd.map((x) => x[0]).join(';')}&q-url-param-list=${p.map((x) => x[0]).join(';')}&q-signature=${sig}`;
  }
  const encPath = (path) => path.split('/').map(enc).join('/');
  const qs = (query) => Object.keys(query).map((k) => (query[k] === '' ? enc(k) : `${enc(k)}=${enc(query[k])}`)).join('&');
  const clean = (q) => Object.fromEntries(Object.entries(q).filter(([k, v]) => v !== undefined && v !== null && (v !== '' || k === 'cancel')));

  // One signed API call; resolves with the answer's XML document (null for an empty body), rejects
  // with an Error carrying the <Error>'s Code and Message.
  async function api(method, path, { query = {}, body, c } = {}) {
    query = clean(query);
    const headers = { Authorization: await sign(method, path, query, c) };
    if (body !== undefined) headers['Content-Type'] = 'application/xml';
    const q = qs(query);
    const res = await fetch(encPath(path) + (q ? '?' + q : ''), { method, headers, body, cache: 'no-store' });
    const text = await res.text();
    const doc = text ? new DOMParser().parseFromString(text, 'application/xml') : null;
    if (!res.ok) {
      const e = new Error((doc && val(doc, 'Error > Message')) || `HTTP ${res.status}`);
      e.code = (doc && val(doc, 'Error > Code')) || String(res.status);
      e.status = res.status;
      throw e;
    }
    return doc;
  }
  // A URL whose query carries the signature (for <audio src>, which cannot send headers).
  async function signedUrl(path) {
    const auth = await sign('GET', path, {});
    return encPath(path) + '?' + auth.split('&').map((kv) => { const i = kv.indexOf('='); return `${kv.slice(0, i)}=${enc(kv.slice(i + 1))}`; }).join('&');
  }
  const val = (node, sel) => { const n = node && node.querySelector(sel); return n ? n.textContent : ''; };
  const kids = (node, name) => (node ? Array.from(node.children).filter((n) => n.localName === name) : []);
  const esc = (s) => String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
  const x = (name, v) => (v === undefined || v === null || v === '' ? '' : `<${name}>${v}</${name}>`);   // v: XML already
  const xt = (name, v) => x(name, v === undefined || v === null || v === '' ? '' : esc(v));

  // ---- language ----
  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $('#lang').value = lang;
    document.title = t('title');
  }

  // ---- sign-in ----
  async function loadContext(c) {
    const qd = await api('GET', '/asrqueue', { query: { pageSize: 100 }, c });
    ctx.queues = kids(qd.documentElement, 'QueueList');
    ctx.bucket = ctx.queues.length ? val(ctx.queues[0], 'BucketId') : '';
    const bd = await api('GET', '/asrbucket', { query: { pageSize: 100 }, c });
    const b = kids(bd.documentElement, 'AsrBucketList').find((n) => val(n, 'Name') === ctx.bucket);
    ctx.region = b ? val(b, 'Region') : '';
  }
  async function signIn(ev) {
    ev.preventDefault();
    const c = { id: $('#secret-id').value.trim(), key: $('#secret-key').value };
    showError(null);
    status(t('loading'));
    try {
      await loadContext(c);
      sessionStorage.setItem('cicada.id', c.id);
      sessionStorage.setItem('cicada.key', c.key);
      $('#secret-key').value = '';
      location.hash = location.hash && location.hash !== '#/signin' ? location.hash : '#/jobs';
      route();
    } catch (e) {
      status('');
      e.message = `${t('signin.bad')}: ${e.message}`;
      showError(e);
      $('#secret-key').focus();
    }
  }
  function signOut() {
    sessionStorage.removeItem('cicada.id');
    sessionStorage.removeItem('cicada.key');
    location.hash = '';
    route();
  }

  // ---- pages ----
  const page = () => $('#page');
  // at: the location.hash the page was asked for; a page that arrives after the user moved on is dropped
  function render(at, title, ...content) {
    if (at !== location.hash) return false;
    const p = page();
    p.replaceChildren(h('h2', { id: 'page-h', tabindex: '-1' }, title), ...content.flat(2).filter(Boolean));
    p.setAttribute('aria-labelledby', 'page-h');
    return true;
  }
  async function run(fn) {   // an action: its error shown, never thrown
    try { showError(null); return await fn(); } catch (e) { showError(e); return undefined; }
  }
  const stateCell = (s) => h('span', { class: `state-${s}` }, s);
  const progressBar = (v) => { const n = Number(v || 0); return h('span', {}, h('progress', { max: 1, value: n, 'aria-label': t('progress') }), ` ${(n * 100).toFixed(1)}%`); };
  const queueSelect = (id, withAll) => h('select', { id }, withAll ? h('option', { value: '' }, t('all')) : null,
    ctx.queues.map((q) => h('option', { value: val(q, 'QueueId') }, `${val(q, 'Name')} (${val(q, 'QueueId').slice(0, 9)}…)`)));

  async function pageBuckets() {
    const at = location.hash;
    const d = await api('GET', '/asrbucket', { query: { pageSize: 100 } });
    const rows = kids(d.documentElement, 'AsrBucketList');
    render(at, t('buckets.title'), h('p', {}, t('buckets.note')),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'bucket-open', onclick: () => run(async () => { await api('POST', '/asrbucket'); await pageBuckets(); status(t('saved')); }) }, t('buckets.open')),
        h('button', { type: 'button', class: 'danger', onclick: () => confirm(t('confirm')) && run(async () => { await api('DELETE', '/asrbucket'); await pageBuckets(); status(t('saved')); }) }, t('buckets.close'))),
      rows.length ? h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, t('bucket')), h('th', {}, t('region')), h('th', {}, t('created')))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, val(r, 'Name'), val(r, 'Name') === ctx.bucket ? ' ✓' : ''), h('td', {}, val(r, 'Region')), h('td', {}, val(r, 'CreateTime'))))))) : h('p', {}, t('none')));
  }

  async function updateQueue(q, changes) {
    const n = (k) => (k in changes ? changes[k] : val(q, k));
    const body = '<Request>' + xt('QueueID', val(q, 'QueueId')) + xt('Name', n('Name')) + xt('State', n('State')) +
      '<NotifyConfig>' + xt('Url', changes.Url ?? val(q, 'NotifyConfig > Url')) + xt('Event', changes.Event ?? val(q, 'NotifyConfig > Event')) +
      xt('Type', 'Url') + xt('State', changes.NotifyState ?? val(q, 'NotifyConfig > State')) +
      xt('ResultFormat', changes.ResultFormat ?? val(q, 'NotifyConfig > ResultFormat')) + '</NotifyConfig></Request>';
    await api('PUT', `/asrqueue/${val(q, 'QueueId')}`, { body });
  }
  async function pageQueues() {
    const at = location.hash;
    const d = await api('GET', '/asrqueue', { query: { pageSize: 100 } });
    ctx.queues = kids(d.documentElement, 'QueueList');
    const editor = h('div', { id: 'queue-editor' });
    const edit = (q) => {
      const f = h('form', { id: 'queue-form' }, h('fieldset', {}, h('legend', {}, `${t('edit')} ${val(q, 'QueueId')}`),
        h('label', {}, t('name'), h('input', { name: 'Name', value: val(q, 'Name') })),
        h('label', {}, t('notify.url'), h('input', { name: 'Url', type: 'url', value: val(q, 'NotifyConfig > Url') })),
        h('label', {}, t('notify.state'), h('select', { name: 'NotifyState' }, ['Off', 'On'].map((s) => h('option', { selected: s === val(q, 'NotifyConfig > State') }, s)))),
        h('label', {}, t('notify.format'), h('select', { name: 'ResultFormat' }, ['XML', 'JSON'].map((s) => h('option', { selected: s === val(q, 'NotifyConfig > ResultFormat') }, s)))),
        h('button', { type: 'submit', class: 'primary' }, t('save')), ' ',
        h('button', { type: 'button', onclick: () => editor.replaceChildren() }, t('cancel'))));
      f.addEventListener('submit', (ev) => { ev.preventDefault(); run(async () => {
        const fd = Object.fromEntries(new FormData(f));
        await updateQueue(q, { ...fd, Event: fd.NotifyState === 'On' ? (val(q, 'NotifyConfig > Event') || 'TaskFinish') : undefined });
        await pageQueues(); status(t('saved')); }); });
      editor.replaceChildren(f);
      f.querySelector('input').focus();
    };
    render(at, t('queues.title'), h('div', { class: 'scroll' }, h('table', { id: 'queues' },
      h('thead', {}, h('tr', {}, [t('queue'), t('name'), t('state'), t('concurrent'), t('maxsize'), t('notify'), t('actions')].map((s, i) => h('th', { class: i === 4 || i === 5 ? 'opt' : null }, s)))),
      h('tbody', {}, ctx.queues.map((q) => {
        const paused = val(q, 'State') === 'Paused';
        return h('tr', { 'data-queue': val(q, 'QueueId') }, h('td', {}, h('code', {}, val(q, 'QueueId'))), h('td', {}, val(q, 'Name')),
          h('td', { class: 'queue-state' }, stateCell(val(q, 'State'))), h('td', {}, val(q, 'MaxConcurrent')), h('td', { class: 'opt' }, val(q, 'MaxSize')),
          h('td', { class: 'opt' }, `${val(q, 'NotifyConfig > State')} ${val(q, 'NotifyConfig > Url')}`),
          h('td', {}, h('button', { type: 'button', class: paused ? 'resume' : 'pause',
            onclick: () => run(async () => { await updateQueue(q, { State: paused ? 'Active' : 'Paused' }); await pageQueues(); status(t('saved')); }) },
          paused ? t('resume') : t('pause')), ' ', h('button', { type: 'button', onclick: () => edit(q) }, t('edit'))));
      })))), editor);
  }

  // jobs: filters, NextToken paging (a stack of tokens for going back to the first page), auto-refresh
  const jobsView = { tokens: [''], filters: { states: '', queueId: '', start: '', end: '', size: '20' } };
  const ciTime = (local) => {   // datetime-local -> 2020-08-20T17:43:01+0800
    if (!local) return '';
    const d = new Date(local), off = -d.getTimezoneOffset(), a = Math.abs(off);
    return `${local.length === 16 ? local + ':00' : local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
  };
  async function cancelJob(id) {
    await api('PUT', `/jobs/${id}`, { query: { cancel: '' } });
    status(`${t('job.cancel')}: ${id}`);
  }
  // Where the keyboard focus is, as a selector that finds the same control after a refresh re-renders it.
  function focusKey() {
    const el = document.activeElement;
    if (!el || el === document.body || !page().contains(el)) return null;
    if (el.id) return '#' + CSS.escape(el.id);
    const row = el.closest('tr[data-job]');
    return row ? `tr[data-job="${row.dataset.job}"] ${el.localName}` : null;
  }
  async function pageJobs() {
    const at = location.hash;
    const f = jobsView.filters;
    const token = jobsView.tokens[jobsView.tokens.length - 1];
    const d = await api('GET', '/asr_jobs', { query: { queueId: f.queueId,
      states: f.states, size: f.size, nextToken: token, startCreationTime: ciTime(f.start), endCreationTime: ciTime(f.end) } });
    const jobs = kids(d.documentElement, 'JobsDetail'), next = val(d, 'NextToken');
    const form = h('form', { id: 'job-filters', class: 'row' },
      h('label', {}, t('jobs.states'), h('select', { id: 'f-states' }, h('option', { value: '' }, t('all')),
        ['Submitted', 'Running', 'Success', 'Failed', 'Cancel'].map((s) => h('option', { selected: s === f.states }, s)))),
      h('label', {}, t('queue'), queueSelect('f-queue', true)),
      h('label', {}, t('jobs.from'), h('input', { id: 'f-start', type: 'datetime-local', value: f.start })),
      h('label', {}, t('jobs.to'), h('input', { id: 'f-end', type: 'datetime-local', value: f.end })),
      h('label', {}, t('jobs.size'), h('select', { id: 'f-size' }, ['10', '20', '50', '100'].map((n) => h('option', { selected: n === f.size }, n)))),
      h('button', { type: 'submit' }, t('jobs.filter')),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'auto', checked: jobsView.auto !== false,
        onchange: (e) => { jobsView.auto = e.target.checked; } }), t('auto')));
    form.querySelector('#f-queue').value = f.queueId || '';
    form.addEventListener('submit', (ev) => { ev.preventDefault();
      Object.assign(f, { states: $('#f-states').value, queueId: $('#f-queue').value, start: $('#f-start').value, end: $('#f-end').value, size: $('#f-size').value });
      jobsView.tokens = ['']; run(pageJobs); });
    const focused = focusKey();
    if (!render(at, t('jobs.title'), form,
      jobs.length ? h('div', { class: 'scroll' }, h('table', { id: 'jobs' },
        h('thead', {}, h('tr', {}, [t('job'), t('state'), t('progress'), t('input'), t('engine'), t('created'), t('actions')].map((s, i) => h('th', { class: i === 3 || i === 5 ? 'opt' : null }, s)))),
        h('tbody', {}, jobs.map((j) => { const id = val(j, 'JobId'), st = val(j, 'State');
          return h('tr', { 'data-job': id }, h('td', {}, h('a', { href: `#/job/${id}` }, id)), h('td', { class: 'job-state' }, stateCell(st)),
            h('td', {}, progressBar(val(j, 'Progress'))), h('td', { class: 'opt' }, val(j, 'Input > Object') || val(j, 'Input > Url')),
            h('td', {}, val(j, 'EngineModelType')), h('td', { class: 'opt' }, val(j, 'CreationTime')),
            h('td', {}, st === 'Submitted' ? h('button', { type: 'button', class: 'danger job-cancel', onclick: () => run(async () => { await cancelJob(id); await pageJobs(); }) }, t('cancel')) : ''));
        })))) : h('p', {}, t('none')),
      h('div', { class: 'row' },
        jobsView.tokens.length > 1 ? h('button', { type: 'button', onclick: () => { jobsView.tokens = ['']; run(pageJobs); } }, '⏮') : null,
        next ? h('button', { type: 'button', id: 'next-page', onclick: () => { jobsView.tokens.push(next); run(pageJobs); } }, t('more')) : null))) return;
    if (focused && $(focused)) $(focused).focus();
    schedule(() => jobsView.auto !== false && !form.contains(document.activeElement) ? pageJobs() : null, 2000);
  }

  // a job's detail, with the audio and its subtitles
  const fmtMs = (ms) => { const s = ms / 1000, m = Math.floor(s / 60); return `${m}:${(s - m * 60).toFixed(3).padStart(6, '0')}`; };
  const vttTime = (ms) => { const hh = Math.floor(ms / 3600000), mm = Math.floor(ms / 60000) % 60, ss = Math.floor(ms / 1000) % 60;
    return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`; };
  const vttText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n+/g, ' ');
  async function pageJob(id) {
    const at = location.hash;
    const d = await api('GET', `/asr_jobs/${id}`);
    const j = kids(d.documentElement, 'JobsDetail')[0];
    if (!j) throw Object.assign(new Error(`no job ${id}`), { code: 'NoSuchJob' });
    const st = val(j, 'State'), ended = ['Success', 'Failed', 'Cancel'].includes(st);
    const sr = j.querySelector('Operation > SpeechRecognition'), res = j.querySelector('SpeechRecognitionResult');
    const sentences = res ? kids(res, 'ResultDetail').map((s) => ({ start: Number(val(s, 'StartMs')), end: Number(val(s, 'EndMs')),
      text: val(s, 'FinalSentence'), speaker: val(s, 'SpeakerId') })) : [];
    const parts = [h('p', {}, h('a', { href: '#/jobs' }, '← ' + t('job.back'))),
      h('dl', { class: 'kv' }, h('dt', {}, t('state')), h('dd', { id: 'job-state' }, stateCell(st)),
        h('dt', {}, t('progress')), h('dd', {}, progressBar(val(j, 'Progress'))),
        h('dt', {}, t('queue')), h('dd', {}, val(j, 'QueueId')),
        h('dt', {}, t('input')), h('dd', {}, val(j, 'Input > Object') || val(j, 'Input > Url')),
        h('dt', {}, t('created')), h('dd', {}, val(j, 'CreationTime')), h('dt', {}, t('start')), h('dd', {}, val(j, 'StartTime')),
        h('dt', {}, t('end')), h('dd', {}, val(j, 'EndTime')),
        st === 'Failed' ? [h('dt', {}, t('error')), h('dd', { id: 'job-error' }, `${val(j, 'Code')}: ${val(j, 'Message')}`)] : null)];
    if (st === 'Submitted') parts.push(h('button', { type: 'button', class: 'danger', id: 'job-cancel', onclick: () => run(async () => { await cancelJob(id); await pageJob(id); }) }, t('job.cancel')));
    parts.push(h('h3', {}, t('params')), h('dl', { class: 'kv', id: 'job-params' }, sr ? Array.from(sr.children).map((n) => [h('dt', {}, n.localName), h('dd', {}, n.textContent)]) : null));
    if (res) {
      const audio = h('audio', { id: 'player', controls: true, preload: 'metadata' });
      const caption = h('p', { class: 'caption', 'aria-live': 'off', id: 'caption' });
      const list = h('ol', { class: 'sentences', id: 'sentences' }, sentences.map((s, i) => h('li', {}, h('button', { type: 'button', 'data-i': i,
        onclick: () => { audio.currentTime = s.start / 1000; audio.play().catch(() => {}); } },
      h('span', { class: 'time' }, fmtMs(s.start)), s.speaker !== '' ? h('span', { class: 'speaker' }, `${t('speaker')} ${s.speaker}`) : null, s.text))));
      if (val(j, 'Input > Object')) {
        audio.src = await signedUrl('/' + val(j, 'Input > Object'));
        if (sentences.length) {
          const vtt = 'WEBVTT\n\n' + sentences.map((s, i) => `${i + 1}\n${vttTime(s.start)} --> ${vttTime(Math.max(s.end, s.start + 1))}\n${s.speaker !== '' ? `<v ${s.speaker}>` : ''}${vttText(s.text)}\n`).join('\n');
          const track = h('track', { kind: 'subtitles', label: t('sentences'), srclang: lang === 'zh' ? 'zh' : 'en', default: true,
            src: URL.createObjectURL(new Blob([vtt], { type: 'text/vtt' })) });
          audio.append(track);
          track.track.mode = 'hidden';   // an <audio> draws no captions: shown below, in the page
          track.track.addEventListener('cuechange', () => {
            const cue = track.track.activeCues && track.track.activeCues[0];
            caption.textContent = cue ? cue.getCueAsHTML().textContent : '';
            list.querySelectorAll('button').forEach((b) => b.classList.toggle('active', cue && b.dataset.i === String(Number(cue.id) - 1)));
          });
        }
      }
      // an Input/Url job: the page does not fetch a third party's URL (the CSP allows only this
      // server's media), it links to it, without a Referer
      const url = val(j, 'Input > Url');
      const player = val(j, 'Input > Object') ? [audio, caption]
        : h('p', { id: 'job-input-url' }, t('job.url') + ' ',
          /^https?:\/\//i.test(url) ? h('a', { href: url, rel: 'noreferrer noopener', target: '_blank' }, url) : url);
      parts.push(h('h3', {}, t('audio')), player, h('h3', {}, t('result')), h('pre', { id: 'job-result' }, val(res, 'Result')),
        sentences.length ? [h('h3', {}, t('sentences')), list] : null);
    }
    if (render(at, `${t('job.title')} ${id}`, ...parts) && !ended) schedule(() => pageJob(id), 2000);
  }

  // submit: files dropped or chosen, each PUT as an object (XHR, for its upload progress), then a job
  const ENGINES = ['16k_zh', '16k_en', '16k_zh_video', '16k_ca', '16k_ja', '16k_zh_edu', '16k_en_edu', '16k_zh_medical', '16k_th',
    '16k_zh_dialect', '16k_zh-PY', '16k_ms', '8k_zh', '8k_zh_s', '8k_en'];
  const numSelect = (name, values, def) => h('label', {}, name, h('select', { name }, values.map((v) => h('option', { selected: v === def }, v))));
  const speechFields = (tables, sr = null) => {
    const g = (k, d) => (sr ? val(sr, k) || d : d);
    return [h('label', {}, 'EngineModelType', h('select', { name: 'EngineModelType', id: 'engine' }, ENGINES.map((e) => h('option', { selected: e === g('EngineModelType', '16k_zh') }, e)))),
      numSelect('ChannelNum', ['1', '2'], g('ChannelNum', '1')), numSelect('ResTextFormat', ['0', '1', '2', '3'], g('ResTextFormat', '2')),
      numSelect('FilterDirty', ['0', '1', '2'], g('FilterDirty', '0')), numSelect('FilterModal', ['0', '1', '2'], g('FilterModal', '0')),
      numSelect('FilterPunc', ['0', '1', '2'], g('FilterPunc', '0')), numSelect('ConvertNumMode', ['0', '1', '3'], g('ConvertNumMode', '0')),
      numSelect('SpeakerDiarization', ['0', '1'], g('SpeakerDiarization', '0')), numSelect('SpeakerNumber', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], g('SpeakerNumber', '0')),
      numSelect('OutputFileType', ['txt', 'srt'], g('OutputFileType', 'txt')),
      h('label', {}, 'SentenceMaxLength', h('input', { name: 'SentenceMaxLength', type: 'number', min: 0, max: 40, value: g('SentenceMaxLength', '0') })),
      h('label', {}, t('submit.table'), h('select', { name: 'HotVocabularyTableId' }, h('option', { value: '' }, '—'),
        tables.map((tb) => h('option', { value: val(tb, 'TableId'), selected: val(tb, 'TableId') === g('HotVocabularyTableId', '') }, val(tb, 'TableName')))))];
  };
  const SR_KEYS = ['EngineModelType', 'ChannelNum', 'ResTextFormat', 'FilterDirty', 'FilterModal', 'FilterPunc', 'ConvertNumMode',
    'SpeakerDiarization', 'SpeakerNumber', 'OutputFileType', 'SentenceMaxLength', 'HotVocabularyTableId'];
  const speechXml = (fd) => '<SpeechRecognition>' + SR_KEYS.map((k) => xt(k, fd[k])).join('') + '</SpeechRecognition>';
  function upload(key, file, bar) {
    return sign('PUT', '/' + key, {}).then((auth) => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', encPath('/' + key));
      xhr.setRequestHeader('Authorization', auth);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
      xhr.onload = () => (xhr.status < 300 ? (bar.value = 1, resolve()) : reject(Object.assign(new Error(
        (new DOMParser().parseFromString(xhr.responseText || '<x/>', 'application/xml').querySelector('Message') || {}).textContent || `HTTP ${xhr.status}`), { code: String(xhr.status) })));
      xhr.onerror = () => reject(new Error('upload failed'));
      xhr.send(file);
    }));
  }
  async function pageSubmit() {
    const at = location.hash;
    const templates = kids((await api('GET', '/template', { query: { pageSize: 100 } })).documentElement, 'TemplateList');
    const tables = kids((await api('GET', '/asrhotvocabtable', { query: { limit: 100 } })).documentElement, 'HotVocabularyTable');
    const files = [];
    const listEl = h('ul', { class: 'files', id: 'files' });
    const input = h('input', { type: 'file', id: 'file-input', multiple: true, accept: 'audio/*,video/*', onchange: (e) => add(e.target.files) });
    const add = (fl) => { for (const f of fl) { const bar = h('progress', { max: 1, value: 0, 'aria-label': f.name });
      files.push({ f, bar, li: h('li', {}, `${f.name} (${Math.ceil(f.size / 1024)} KiB) `, bar, h('span', { class: 'job' })) }); }
    listEl.replaceChildren(...files.map((x) => x.li)); };
    const drop = h('div', { class: 'drop', id: 'drop', tabindex: '0', role: 'button', 'aria-label': t('submit.drop'),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } } }, t('submit.drop'), ' ', input);
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); add(e.dataTransfer.files); });
    const form = h('form', { id: 'submit-form' }, drop, listEl,
      h('fieldset', {}, h('legend', {}, t('params')), speechFields(tables),
        h('label', {}, t('submit.template'), h('select', { name: 'TemplateId', id: 'template' }, h('option', { value: '' }, '—'),
          templates.map((tp) => h('option', { value: val(tp, 'TemplateId') }, val(tp, 'Name'))))),
        h('label', {}, t('queue'), queueSelect('queue', false)), numSelect('JobLevel', ['0', '1', '2'], '0'),
        h('label', {}, t('submit.prefix'), h('input', { name: 'prefix', value: 'uploads/' }))),
      h('button', { type: 'submit', class: 'primary', id: 'submit-go' }, t('submit.go')));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); run(async () => {
      const fd = Object.fromEntries(new FormData(form));
      for (const it of files) {
        if (it.done) continue;
        const key = `${fd.prefix || ''}${Date.now().toString(36)}-${it.f.name}`;
        await upload(key, it.f, it.bar);
        const body = '<Request><Tag>SpeechRecognition</Tag>' + x('Input', xt('Object', key)) + '<Operation>' + (fd.TemplateId ? xt('TemplateId', fd.TemplateId) : speechXml(fd)) +
          x('Output', xt('Region', ctx.region) + xt('Bucket', ctx.bucket) + xt('Object', `${key}.${fd.OutputFileType || 'txt'}`)) +
          xt('JobLevel', fd.JobLevel) + '</Operation>' + xt('QueueId', $('#queue').value) + '</Request>';
        const d = await api('POST', '/asr_jobs', { body });
        const id = val(d, 'JobId');
        it.done = true;
        it.li.querySelector('.job').replaceChildren(' → ', h('a', { href: `#/job/${id}` }, id));
        status(`${t('submit.done')}: ${id}`);
      }
    }); });
    render(at, t('submit.title'), form);
  }

  // hot-vocabulary tables
  async function pageTables() {
    const at = location.hash;
    const d = await api('GET', '/asrhotvocabtable', { query: { limit: 100 } });
    const rows = kids(d.documentElement, 'HotVocabularyTable');
    const editor = h('div', { id: 'table-editor' });
    const edit = (tb) => {
      const words = tb ? kids(tb, 'VocabularyWeights').map((w) => `${val(w, 'Vocabulary')}|${val(w, 'Weight')}`).join('\n') : '';
      const f = h('form', {}, h('fieldset', {}, h('legend', {}, tb ? val(tb, 'TableId') : t('tables.new')),
        h('label', {}, t('name'), h('input', { name: 'TableName', required: true, value: tb ? val(tb, 'TableName') : '' })),
        h('label', {}, t('description'), h('input', { name: 'TableDescription', value: tb ? val(tb, 'TableDescription') : '' })),
        h('label', {}, t('tables.words'), h('textarea', { name: 'words', rows: 6, cols: 30, required: true }, words)),
        h('button', { type: 'submit', class: 'primary' }, t('save')), ' ', h('button', { type: 'button', onclick: () => editor.replaceChildren() }, t('cancel'))));
      f.addEventListener('submit', (ev) => { ev.preventDefault(); run(async () => {
        const fd = Object.fromEntries(new FormData(f));
        const vw = fd.words.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => { const [w, n] = l.split('|'); return x('VocabularyWeights', xt('Vocabulary', w.trim()) + xt('Weight', (n || '10').trim())); }).join('');
        const body = '<Request>' + (tb ? xt('TableId', val(tb, 'TableId')) : '') + xt('TableName', fd.TableName) + `<TableDescription>${esc(fd.TableDescription)}</TableDescription>` + vw + '</Request>';
        await api(tb ? 'PUT' : 'POST', '/asrhotvocabtable', { body });
        await pageTables(); status(t('saved')); }); });
      editor.replaceChildren(f); f.querySelector('input').focus();
    };
    render(at, t('tables.title'), h('button', { type: 'button', id: 'table-new', onclick: () => edit(null) }, t('tables.new')), editor,
      rows.length ? h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, [t('name'), 'TableId', t('words'), t('updated'), t('actions')].map((s) => h('th', {}, s)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, val(r, 'TableName')), h('td', {}, h('code', {}, val(r, 'TableId'))),
          h('td', {}, kids(r, 'VocabularyWeights').map((w) => `${val(w, 'Vocabulary')}|${val(w, 'Weight')}`).join(', ')), h('td', {}, val(r, 'UpdateTime')),
          h('td', {}, h('button', { type: 'button', onclick: () => run(async () => edit((await api('GET', `/asrhotvocabtable/${val(r, 'TableId')}`)).documentElement)) }, t('edit')), ' ',
            h('button', { type: 'button', class: 'danger', onclick: () => confirm(t('confirm')) && run(async () => { await api('DELETE', `/asrhotvocabtable/${val(r, 'TableId')}`); await pageTables(); }) }, t('del')))))))) : h('p', {}, t('none')));
  }

  // templates
  async function pageTemplates() {
    const at = location.hash;
    const tables = kids((await api('GET', '/asrhotvocabtable', { query: { limit: 100 } })).documentElement, 'HotVocabularyTable');
    const d = await api('GET', '/template', { query: { pageSize: 100 } });
    const rows = kids(d.documentElement, 'TemplateList');
    const editor = h('div', { id: 'template-editor' });
    const edit = (tp) => {
      const f = h('form', {}, h('fieldset', {}, h('legend', {}, tp ? val(tp, 'TemplateId') : t('templates.new')),
        h('label', {}, t('name'), h('input', { name: 'Name', required: true, value: tp ? val(tp, 'Name') : '' })),
        speechFields(tables, tp ? tp.querySelector('SpeechRecognition') : null),
        h('button', { type: 'submit', class: 'primary' }, t('save')), ' ', h('button', { type: 'button', onclick: () => editor.replaceChildren() }, t('cancel'))));
      f.addEventListener('submit', (ev) => { ev.preventDefault(); run(async () => {
        const fd = Object.fromEntries(new FormData(f));
        const body = '<Request><Tag>SpeechRecognition</Tag>' + xt('Name', fd.Name) + speechXml(fd) + '</Request>';
        await api(tp ? 'PUT' : 'POST', tp ? `/template/${val(tp, 'TemplateId')}` : '/template', { body });
        await pageTemplates(); status(t('saved')); }); });
      editor.replaceChildren(f); f.querySelector('input').focus();
    };
    render(at, t('templates.title'), h('button', { type: 'button', id: 'template-new', onclick: () => edit(null) }, t('templates.new')), editor,
      rows.length ? h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, [t('name'), 'TemplateId', t('engine'), t('updated'), t('actions')].map((s) => h('th', {}, s)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, val(r, 'Name')), h('td', {}, h('code', {}, val(r, 'TemplateId'))),
          h('td', {}, val(r, 'EngineModelType')), h('td', {}, val(r, 'UpdateTime')),
          h('td', {}, h('button', { type: 'button', onclick: () => edit(r) }, t('edit')), ' ',
            h('button', { type: 'button', class: 'danger', onclick: () => confirm(t('confirm')) && run(async () => { await api('DELETE', `/template/${val(r, 'TemplateId')}`); await pageTemplates(); }) }, t('del')))))))) : h('p', {}, t('none')));
  }

  // ---- routing: #/jobs, #/job/<id>, #/submit, #/queues, #/buckets, #/tables, #/templates ----
  function schedule(fn, ms) {
    clearTimeout(timer);
    const hash = location.hash;
    timer = setTimeout(() => { if (location.hash === hash) run(fn); }, ms);
  }
  let routing = Promise.resolve();   // one route at a time, in the order asked
  function route() {
    routing = routing.then(routeNow, routeNow);
    return routing;
  }
  async function routeNow() {
    clearTimeout(timer);
    const signed = !!creds().key;
    $('#signin-page').hidden = signed;
    page().hidden = !signed;
    $('#nav').hidden = !signed;
    $('#signout').hidden = !signed;
    if (!signed) return;
    const [, name, arg] = (location.hash || '#/jobs').split('/');
    document.querySelectorAll('#nav a').forEach((a) => a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${name}`) || (a.getAttribute('href') === `#/${name}` && a.setAttribute('aria-current', 'page')));
    const pages = { jobs: pageJobs, submit: pageSubmit, queues: pageQueues, buckets: pageBuckets, tables: pageTables, templates: pageTemplates, job: () => pageJob(arg) };
    status(t('loading'));
    if (!ctx.bucket) await run(() => loadContext());
    await run(pages[name] || pageJobs);
    if (!/^Submitted|^Saved|^已/.test($('#status').textContent)) status('');
    const hd = $('#page-h');
    if (hd && window.__cicadaNavigated) hd.focus();
    window.__cicadaNavigated = true;
  }

  document.addEventListener('DOMContentLoaded', () => {
    applyLang();
    $('#signin').addEventListener('submit', signIn);
    $('#signout').addEventListener('click', signOut);
    $('#lang').addEventListener('change', (e) => { lang = e.target.value; localStorage.setItem('cicada.lang', lang); applyLang(); route(); });
    window.addEventListener('hashchange', route);
    route();
  });
})();
