#!/usr/bin/env bash
# make_seeds.sh — (re)makes the hand-made part of the seed corpus: a fraction of a second of jfk.wav
# in every input format, each prefixed with the fuzz target's flags byte (see fuzz_audio.c). The
# fuzzer's own finds are added with -merge=1 (README.md). Needs ffmpeg and, for AMR, amr_encode.
#
#   fuzz/make_seeds.sh TESTDATA [AMR_ENCODE]
set -euo pipefail
testdata=$1 amr=${2:-}
dir=$(cd "$(dirname "$0")" && pwd)/corpus/audio
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src.wav
ffmpeg -nostdin -v error -y -ss 2.3 -t 0.25 -i "$testdata/en/jfk/jfk.wav" "$src"

ff() { ffmpeg -nostdin -v error -y -i "$src" "$@"; }
# seed NAME FLAGS FILE: the flags byte, then the file.
seed() { { printf "\\x$2"; cat "$3"; } > "$dir/seed-$1"; }

ff -c:a pcm_s16le -ac 2 "$tmp/a.wav";               seed wav-stereo-ch1 04 "$tmp/a.wav"
ff -c:a pcm_mulaw -ar 8000 "$tmp/a.wav";            seed wav-mulaw-8k 01 "$tmp/a.wav"
ff -c:a pcm_alaw "$tmp/a.wav";                      seed wav-alaw-stream 40 "$tmp/a.wav"
ff -c:a libmp3lame -b:a 32k "$tmp/a.mp3";           seed mp3 00 "$tmp/a.mp3"
ff -c:a aac -b:a 24k "$tmp/a.m4a";                  seed m4a 00 "$tmp/a.m4a"
ff -c:a aac -b:a 24k -f adts "$tmp/a.aac";          seed aac-adts 41 "$tmp/a.aac"
ff -c:a aac -b:a 24k -f flv "$tmp/a.flv";           seed flv 00 "$tmp/a.flv"
ff -c:a flac "$tmp/a.flac";                         seed flac 02 "$tmp/a.flac"
ff -c:a libvorbis -q:a 0 "$tmp/a.ogg";              seed ogg-vorbis 00 "$tmp/a.ogg"
ff -c:a libopus -b:a 16k "$tmp/a.opus";             seed opus-ogg 01 "$tmp/a.opus"
ff -c:a libopus -b:a 16k -f webm "$tmp/a.webm";     seed opus-webm 40 "$tmp/a.webm"
ff -c:a wmav2 -b:a 32k "$tmp/a.wma";                seed wma 00 "$tmp/a.wma"
ff -c:a alac "$tmp/a.mov";                          seed mov-alac 00 "$tmp/a.mov"
ff -f s16le "$tmp/a.pcm";                           seed raw-pcm 28 "$tmp/a.pcm"
if [ -n "$amr" ]; then
  ff -ar 8000 -f s16le "$tmp/nb.raw" && "$amr" nb "$tmp/nb.raw" "$tmp/a.amr" && seed amr-nb 00 "$tmp/a.amr"
  ff -f s16le "$tmp/wb.raw" && "$amr" wb "$tmp/wb.raw" "$tmp/a.awb" && seed amr-wb 01 "$tmp/a.awb"
  ffmpeg -nostdin -v error -y -i "$tmp/a.amr" -c copy "$tmp/a.3gp" && seed 3gp-amr 00 "$tmp/a.3gp"
fi
