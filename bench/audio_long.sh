#!/usr/bin/env bash
# audio_long.sh — the audio decoding benchmark (issue 4): makes 4 h 58 min MP3s (16 kHz mono 64 kbps,
# which needs no resampling, and 44.1 kHz stereo 128 kbps, which is downmixed and resampled) and a
# 5 h 3 min one (jfk.wav encoded once, then concatenated with the ffmpeg CLI, in a temporary
# directory), streams each through the reader with bench/audio_long.c (compiled here at -O2 with
# src/audio/audio.c, linked with the build's cicada_util), and prints wall time, CPU time and peak
# RSS. The longer file must be refused with AudioTooLong. Results: docs/benchmarks.md, "Audio decoding".
#
#   bench/audio_long.sh BUILD_DIR [TESTDATA]
set -euo pipefail
build=$(cd "${1:?usage: bench/audio_long.sh BUILD_DIR [TESTDATA]}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
testdata=${2:-$root/../shared/testdata}
tmp=$(mktemp -d /tmp/cicada-audio-long-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -f "$build/libcicada_util.a" ] || cmake --build "$build" --target cicada_util
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -I"$root/src" "$root/bench/audio_long.c" "$root/src/audio/audio.c" \
  "$build/libcicada_util.a" $(pkg-config --cflags --libs libavformat libavcodec libavutil libswresample libcrypto) \
  -lpthread -o "$tmp/audio_long"

ff() { ffmpeg -nostdin -v error -y "$@"; }
ff -i "$testdata/en/jfk/jfk.wav" -c:a libmp3lame -b:a 64k "$tmp/jfk16.mp3"
ff -i "$testdata/en/jfk/jfk.wav" -ar 44100 -ac 2 -c:a libmp3lame -b:a 128k "$tmp/jfk44.mp3"
make_long() {   # make_long SOURCE COPIES OUT
  for _ in $(seq "$2"); do echo "file '$1'"; done > "$tmp/list.txt"
  ff -f concat -safe 0 -i "$tmp/list.txt" -c copy "$3"
}
# Each copy decodes to ~11.09 s (the concatenated frames keep each copy's encoder delay and padding).
make_long "$tmp/jfk16.mp3" 1614 "$tmp/under_5h_16k_mono.mp3"
make_long "$tmp/jfk44.mp3" 1614 "$tmp/under_5h_44k_stereo.mp3"
make_long "$tmp/jfk16.mp3" 1640 "$tmp/over_5h_16k_mono.mp3"

for f in under_5h_16k_mono under_5h_44k_stereo over_5h_16k_mono; do
  echo "$f.mp3: $(stat -c %s "$tmp/$f.mp3") bytes"
  "$tmp/audio_long" "$tmp/$f.mp3" || true
done
