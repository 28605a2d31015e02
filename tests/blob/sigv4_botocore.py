#!/usr/bin/env python3
"""sigv4_botocore.py — botocore's SigV4 signatures for requests read as JSON lines on stdin, the
reference test_sigv4 compares our signer (src/blob/sigv4.c) with.

Each input line is an object:
  kind      "header" (S3SigV4Auth: print the Authorization header value) or
            "presign" (S3SigV4QueryAuth: print the whole presigned URL)
  method, scheme ("http"/"https"), host (the Host header), path (as on the wire, URI-encoded)
  params    [[name, value], ...] the query, DECODED (botocore encodes and sorts them itself)
  headers   [[name, value], ...] extra headers to sign (names unique; header kind only)
  body_hex  the body (header kind), hashed by botocore; or payload "UNSIGNED-PAYLOAD"
  time      "20150830T123600Z"; access, secret, token (null = none), region, service, expires
One output line per input line, in order. Exits 77 (skip) when botocore cannot be imported.

The clock is pinned by running add_auth's steps with botocore's own methods and a fixed
request.context['timestamp'] instead of calling add_auth, which reads the wall clock (and does so
differently across botocore versions)."""
import json
import os
import sys

try:
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:
    # The Debian package lives under /usr/lib/python3/dist-packages, which another python3 on PATH
    # (pyenv, a venv) does not see: try the system interpreter once before giving up.
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3') \
            and not os.environ.get('SIGV4_BOTOCORE_REEXEC'):
        os.environ['SIGV4_BOTOCORE_REEXEC'] = '1'
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    print('python3-botocore is not importable (%s): apt-get install python3-botocore' % e, file=sys.stderr)
    sys.exit(77)


class PinnedPayload(S3SigV4Auth):
    """S3SigV4Auth, except that UNSIGNED-PAYLOAD can be asked for over http as well."""

    def __init__(self, credentials, service, region, unsigned):
        super().__init__(credentials, service, region)
        self._unsigned = unsigned

    def payload(self, request):
        return 'UNSIGNED-PAYLOAD' if self._unsigned else super().payload(request)


def sign(signer, request, timestamp):
    request.context['timestamp'] = timestamp
    signer._modify_request_before_signing(request)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    signer._inject_signature_to_request(request, signer.signature(string_to_sign, request))


def one(req):
    creds = Credentials(req['access'], req['secret'], req.get('token'))
    url = '%s://%s%s' % (req['scheme'], req['host'], req['path'])
    params = [(n, v) for n, v in req.get('params', [])]
    if req['kind'] == 'header':
        headers = {'Host': req['host']}
        for name, value in req.get('headers', []):
            headers[name] = value
        body = bytes.fromhex(req.get('body_hex', ''))
        r = AWSRequest(method=req['method'], url=url, headers=headers, data=body, params=params)
        signer = PinnedPayload(creds, req['service'], req['region'], req.get('payload') == 'UNSIGNED-PAYLOAD')
        sign(signer, r, req['time'])
        return r.headers['Authorization']
    r = AWSRequest(method=req['method'], url=url, headers={'Host': req['host']}, params=dict(params))
    signer = S3SigV4QueryAuth(creds, req['service'], req['region'], expires=req['expires'])
    sign(signer, r, req['time'])
    return r.url


def main():
    for line in sys.stdin:
        line = line.strip()
        if line:
            sys.stdout.write(one(json.loads(line)) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
