// run.js — the S3-compatible server the object-store tests talk to: s3rver (pinned in package.json)
// on 127.0.0.1, an OS-chosen port written to a file once it listens, stopped by SIGTERM.
//
//   node run.js DATA_DIR PORT_FILE [BUCKET...]
//
// s3rver 3.7.1 is a test double, not S3. Where it departs from S3's documented behaviour in ways
// the backend's tests would see, this file puts S3's behaviour in (our code, in front of s3rver's
// router; s3rver itself is not modified):
//  - keys are stored as nested directories with the key's '/'-separated segments as names, so
//    "a//b", "./x" or "../x" would collapse onto other keys or leave the bucket: each segment is
//    stored with a '_' in front ("", ".", ".." become "_", "_.", "_.."); and its router matches a
//    key segment by segment, so "/abs" or "a//b" found no route: the key reaches the router as one
//    segment (its slashes sent as %2F, which the router decodes back);
//  - a Range ending at byte 0 ("bytes=0-0") was answered with the whole object;
//  - concurrent PUTs of one key wrote the same files at once and could leave a mix of both: writes
//    of one key (put, copy, delete) are serialised here, so the last one wins whole, as on S3
//    (reads are still not isolated from a write in progress: s3rver rewrites files in place);
//  - ListObjects (v1) walked directories in file-name order (so "a/1" came before "a"), did not
//    count common prefixes against max-keys and gave no NextMarker for a page ending in one: here
//    keys are compared as UTF-8 bytes, entries and common prefixes share max-keys, a common prefix
//    at or before the marker is not repeated, and NextMarker is sent when a delimiter is given and
//    the page is truncated (as S3 does; without a delimiter the client uses the last key);
//  - AbortMultipartUpload (DELETE ?uploadId) and ListMultipartUploads (GET ?uploads) are missing:
//    both are added, reading s3rver's own upload directories;
//  - virtual hosts: <bucket>.s3.localhost names the bucket (libcurl resolves *.localhost to
//    loopback itself), and a path-style request to s3.localhost is refused.
// Signatures are not checked (s3rver accepts SigV4 requests unverified for the S3RVER key).
'use strict';

const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');

const [dataDir, portFile, ...buckets] = process.argv.slice(2);
if (!dataDir || !portFile) {
  console.error('usage: node run.js DATA_DIR PORT_FILE [BUCKET...]');
  process.exit(2);
}

const OBJECT_SUFFIX = '._S3rver_object';

FilesystemStore.encodeKeyPath = key =>
  key
    .split('/')
    .map(segment => '_' + segment)
    .join('/');
FilesystemStore.decodeKeyPath = keyPath =>
  keyPath
    .split('/')
    .map(segment => segment.slice(1))
    .join('/');

// s3rver removes emptied directories by the key's raw segments: redo it with the stored names.
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  for (const resource of ['object', 'object.md5', 'metadata.json']) {
    try {
      fs.unlinkSync(this.getResourcePath(bucket, key, resource));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  const parts = FilesystemStore.encodeKeyPath(key).split('/');
  parts.pop();
  const bucketPath = this.getBucketPath(bucket);
  while (parts.length) {
    const dir = path.join(bucketPath, ...parts);
    try {
      if (fs.readdirSync(dir).length) break;
      fs.rmdirSync(dir);
    } catch (err) {
      break;
    }
    parts.pop();
  }
};

// One write at a time per key.
const keyLocks = new Map();
function serialised(method, keyOf) {
  const original = FilesystemStore.prototype[method];
  FilesystemStore.prototype[method] = async function (...args) {
    const id = keyOf(...args);
    const before = keyLocks.get(id) || Promise.resolve();
    let release;
    const mine = new Promise(resolve => (release = resolve));
    const tail = before.then(() => mine);
    keyLocks.set(id, tail);
    await before;
    try {
      return await original.apply(this, args);
    } finally {
      release();
      if (keyLocks.get(id) === tail) keyLocks.delete(id);
    }
  };
}
serialised('putObject', object => `${object.bucket}/${object.key}`);
serialised('deleteObject', (bucket, key) => `${bucket}/${key}`);
serialised('copyObject', (srcBucket, srcKey, destBucket, destKey) => `${destBucket}/${destKey}`);

// s3rver computes a range's end as `end || Infinity`: "bytes=0-0" (and "bytes=N-0") lost its end.
const getObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function getObjectEndingAtZero(bucket, key, options) {
  if (!options || options.end !== 0) return getObject.call(this, bucket, key, options);
  let metadata;
  try {
    metadata = await this.getMetadata(bucket, key);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  const start = options.start || 0;
  if (start !== 0 || Number(metadata['content-length']) === 0) {
    const object = new S3Object(bucket, key, null, metadata);
    object.range = { start, end: 0 };
    return object; // unsatisfiable
  }
  const content = fs.createReadStream(this.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
  const object = new S3Object(bucket, key, content, metadata);
  object.range = { start: 0, end: 0 };
  return object;
};

// Every object key in a bucket, as UTF-8 buffers sorted byte-wise.
function allKeys(store, bucket) {
  const root = store.getBucketPath(bucket);
  const keys = [];
  const walk = dir => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      const st = fs.statSync(full);
      if (st.isDirectory()) {
        walk(full);
      } else if (name.endsWith(OBJECT_SUFFIX)) {
        const rel = path.relative(root, full).slice(0, -OBJECT_SUFFIX.length);
        keys.push(Buffer.from(FilesystemStore.decodeKeyPath(rel), 'utf8'));
      }
    }
  };
  walk(root);
  return keys.sort(Buffer.compare);
}

function startsWith(buf, prefix) {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

async function listObjects(ctx, bucket) {
  const q = ctx.query;
  const prefix = Buffer.from(q.prefix || '', 'utf8');
  const marker = Buffer.from(q.marker || '', 'utf8');
  const delimiter = Buffer.from(q.delimiter || '', 'utf8');
  let maxKeys = 1000;
  if (q['max-keys'] !== undefined) {
    if (!/^\d+$/.test(q['max-keys'])) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
        ArgumentName: 'max-keys',
        ArgumentValue: q['max-keys'],
      });
    }
    maxKeys = Math.min(1000, Number(q['max-keys']));
  }
  const items = []; // {key} or {prefix}, in order
  let truncated = false;
  for (const key of allKeys(ctx.store, bucket)) {
    if (!startsWith(key, prefix) || Buffer.compare(key, marker) <= 0) continue;
    let item = { key };
    if (delimiter.length) {
      const at = key.subarray(prefix.length).indexOf(delimiter);
      if (at >= 0) {
        const cp = key.subarray(0, prefix.length + at + delimiter.length);
        if (Buffer.compare(cp, marker) <= 0) continue; // rolled up on an earlier page
        const last = items[items.length - 1];
        if (last && last.prefix && last.prefix.equals(cp)) continue;
        item = { prefix: cp };
      }
    }
    if (items.length === maxKeys) {
      truncated = true;
      break;
    }
    items.push(item);
  }
  const contents = [];
  for (const it of items.filter(i => i.key)) {
    const key = it.key.toString('utf8');
    const meta = await ctx.store.getMetadata(bucket, key);
    contents.push({
      Key: key,
      LastModified: new Date(meta['last-modified']).toISOString(),
      ETag: meta.etag,
      Size: meta['content-length'],
      StorageClass: 'STANDARD',
    });
  }
  const last = items[items.length - 1];
  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Name: bucket,
      Prefix: q.prefix || '',
      Marker: q.marker || '',
      NextMarker:
        truncated && delimiter.length && last ? (last.key || last.prefix).toString('utf8') : undefined,
      MaxKeys: maxKeys,
      Delimiter: q.delimiter || undefined,
      IsTruncated: truncated,
      Contents: contents,
      CommonPrefixes: items.filter(i => i.prefix).map(i => ({ Prefix: i.prefix.toString('utf8') })),
    },
  };
}

function uploadsDir(store, bucket) {
  return store.getResourcePath(bucket, undefined, 'uploads');
}

function listUploads(ctx, bucket) {
  const dir = uploadsDir(ctx.store, bucket);
  const uploads = [];
  if (fs.existsSync(dir)) {
    for (const id of fs.readdirSync(dir).sort()) {
      const keyFile = path.join(dir, id, 'key');
      if (fs.existsSync(keyFile)) uploads.push({ Key: fs.readFileSync(keyFile, 'utf8'), UploadId: id });
    }
  }
  ctx.body = {
    ListMultipartUploadsResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Bucket: bucket,
      IsTruncated: false,
      Upload: uploads,
    },
  };
}

function abortUpload(ctx, bucket, key) {
  const id = ctx.query.uploadId;
  const dir = path.join(uploadsDir(ctx.store, bucket), path.basename(id));
  const keyFile = path.join(dir, 'key');
  if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(keyFile) || fs.readFileSync(keyFile, 'utf8') !== key) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: id });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  ctx.status = 204;
}

// Path-style requests only: /bucket or /bucket/key (percent-encoded).
async function s3Fixes(ctx, next) {
  // s3.localhost is the virtual-host endpoint (serviceEndpoint below): there the bucket must be in
  // the host, as on S3 endpoints without path-style, so a client that means to address virtual
  // hosts and does not is caught
  if (ctx.hostname === 's3.localhost' && !ctx.state.vhost) {
    throw new S3Error('InvalidRequest', 'path-style request on the virtual-host endpoint s3.localhost');
  }
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
  if (!m) return next();
  const bucket = decodeURIComponent(m[1]);
  const key = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  const bucketOk = () => {
    if (!fs.existsSync(ctx.store.getBucketPath(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
  };
  if (key === undefined && ctx.method === 'GET' && 'uploads' in ctx.query) {
    bucketOk();
    return listUploads(ctx, bucket);
  }
  const subresources = ['acl', 'cors', 'location', 'website', 'uploads', 'versioning', 'policy', 'tagging'];
  if (
    (key === undefined || key === '') &&
    (ctx.method === 'GET' || ctx.method === 'HEAD') &&
    ctx.query['list-type'] === undefined &&
    !subresources.some(s => s in ctx.query)
  ) {
    bucketOk();
    return listObjects(ctx, bucket);
  }
  if (key && ctx.method === 'DELETE' && 'uploadId' in ctx.query) {
    bucketOk();
    return abortUpload(ctx, bucket, key);
  }
  if (key) ctx.path = `/${m[1]}/${m[2].replace(/\//g, '%2F')}`; // one router segment
  return next();
}

async function main() {
  fs.mkdirSync(dataDir, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dataDir,
    silent: true,
    configureBuckets: buckets.map(name => ({ name })),
    // virtual-host requests name the bucket in the host: <bucket>.s3.localhost
    serviceEndpoint: 'localhost',
  });
  // in front of the router (the last middleware), behind the logger, the XML encoder and vhost
  server.middleware.splice(server.middleware.length - 1, 0, s3Fixes);
  const { port } = await server.run();
  const tmp = `${portFile}.tmp`;
  fs.writeFileSync(tmp, `${port}\n`);
  fs.renameSync(tmp, portFile);
  const stop = () => server.close().then(() => process.exit(0), () => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(err => {
  console.error(`s3rver: ${err.stack || err}`);
  process.exit(1);
});
