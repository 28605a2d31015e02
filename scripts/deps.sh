#!/usr/bin/env bash
# Installs the Debian packages Cicada builds, runs and tests with. Idempotent: packages already
# present are not touched and apt is not consulted at all when nothing is missing.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config patch
      libmicrohttpd-dev libexpat1-dev libsqlite3-dev libpq-dev libssl-dev libcurl4-openssl-dev
      libavcodec-dev libavformat-dev libavutil-dev libswresample-dev
      libjansson-dev libinih-dev libopencc-dev zlib1g-dev
      liblapacke-dev                 # speaker diarization: the eigen-solver of its spectral clustering
      libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us pocketsphinx
      libcmocka-dev ffmpeg sox espeak-ng wrk sqlite3 curl
      postgresql-15                  # scaling out: the tests start their own server (no systemd)
      python3-botocore               # test-only: cross-checks our SigV4 signer
      sctk                           # test-only: md-eval.pl scores diarization (DER)
      prometheus                     # test-only: promtool checks the /metrics exposition
      chromium                       # test-only: the web console's browser test (driven by puppeteer-core)
      fonts-wqy-microhei             # test-only: Chinese text in the console's screenshots (else boxes)
      libopencore-amrnb-dev libvo-amrwbenc-dev)   # test-only: AMR test files (FFmpeg cannot encode AMR)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node.js runs the official COS SDK in the integration tests; any node >= 18 already present is fine.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm  >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
