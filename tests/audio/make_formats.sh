#!/usr/bin/env bash
# make_formats.sh — CTest fixture (audio_media): makes every input format Cicada accepts from the
# shared test audio with the ffmpeg CLI (and tests/audio/amr_encode for AMR, which Debian's FFmpeg
# cannot encode), plus a stereo file with different speech per channel and a 10-minute file.
# Writes into OUT (in the build tree); a stamp with this script's checksum skips the work when the
# files are already there.
#
#   make_formats.sh OUT TESTDATA [AMR_ENCODE]
set -euo pipefail
out=$1 testdata=$2 amr=${3:-}
jfk=$testdata/en/jfk/jfk.wav
zh=$testdata/zh/aishell/BAC009S0150W0013.wav
right=$testdata/en/hifitts/hartmann_12_fawcett_0088.wav

if ! command -v ffmpeg >/dev/null; then
  echo "make_formats.sh: ffmpeg is not installed; the format tests will skip" >&2
  exit 0
fi
for f in "$jfk" "$zh" "$right"; do
  [ -r "$f" ] || { echo "make_formats.sh: $f is missing; the format tests will skip" >&2; exit 0; }
done

stamp=$out/.stamp
want="$(sha256sum "$0" | cut -d' ' -f1) amr=${amr:+yes}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ff() { ffmpeg -nostdin -v error -y "$@"; }

# A small video track, for containers whose audio must be picked out of a video.
ff -f lavfi -i testsrc=duration=12:size=64x48:rate=5 -c:v mpeg4 "$tmp/video.mp4"

# Every format from one 16 kHz mono speech file: NAME.EXT in $out/$set/.
make_set() {
  local src=$1 set=$2 d=$out/$2
  mkdir -p "$d"
  ff -i "$src" -c:a pcm_s16le "$d/wav_s16.wav"
  ff -i "$src" -c:a pcm_mulaw "$d/wav_mulaw.wav"
  ff -i "$src" -c:a pcm_alaw "$d/wav_alaw.wav"
  ff -i "$src" -c:a libmp3lame -b:a 64k "$d/mp3.mp3"
  ff -i "$src" -c:a aac -b:a 64k "$d/m4a.m4a"
  ff -i "$src" -c:a aac -b:a 64k -f adts "$d/aac_adts.aac"
  ff -i "$tmp/video.mp4" -i "$src" -map 0:v -map 1:a -c:v copy -c:a aac -b:a 64k -shortest "$d/mp4_video.mp4"
  ff -i "$src" -c:a alac "$d/mov_alac.mov"
  ff -i "$tmp/video.mp4" -i "$src" -map 0:v -map 1:a -c:v flv1 -c:a aac -b:a 64k -shortest "$d/flv_video.flv"
  ff -i "$src" -c:a flac "$d/flac.flac"
  ff -i "$src" -c:a libvorbis -q:a 4 "$d/ogg_vorbis.ogg"
  ff -i "$src" -c:a libopus -b:a 32k "$d/opus_ogg.opus"
  ff -i "$src" -c:a libopus -b:a 32k "$d/opus_webm.webm"
  ff -i "$src" -c:a wmav2 -b:a 64k "$d/wma.wma"
  ff -i "$src" -ac 1 -f s16le "$d/raw_s16le.pcm"
  # Narrow band: the reference degraded to 8 kHz, telephone µ-law, and AMR-NB (alone and in 3GP).
  ff -i "$src" -ar 8000 -c:a pcm_s16le "$d/ref_8k.wav"
  ff -i "$src" -ar 8000 -c:a pcm_mulaw "$d/wav_mulaw_8k.wav"
  if [ -n "$amr" ]; then
    ff -i "$src" -ar 8000 -ac 1 -f s16le "$tmp/in8.raw"
    ff -i "$src" -ar 16000 -ac 1 -f s16le "$tmp/in16.raw"
    "$amr" nb "$tmp/in8.raw" "$d/amr_nb.amr"
    "$amr" wb "$tmp/in16.raw" "$d/amr_wb.awb"
    ff -i "$d/amr_nb.amr" -c:a copy "$d/3gp_amr_nb.3gp"
  fi
}
make_set "$jfk" en
make_set "$zh" zh

# Stereo, different speech per channel: jfk on the left, a Hi-Fi TTS clip (padded with silence to
# jfk's 176000 samples) on the right; as PCM (exact) and as AAC.
ff -i "$jfk" -i "$right" -filter_complex \
  "[1:a]apad=whole_len=176000,atrim=end_sample=176000[r];[0:a][r]join=inputs=2:channel_layout=stereo[a]" \
  -map '[a]' -c:a pcm_s16le "$out/stereo_jfk_left.wav"
ff -i "$out/stereo_jfk_left.wav" -c:a aac -b:a 96k "$out/stereo_jfk_left.m4a"
ff -i "$right" -af apad=whole_len=176000,atrim=end_sample=176000 -c:a pcm_s16le "$out/right_alone.wav"

# Ten minutes (55 x jfk = 605 s) of MP3 by concatenation, for the bounded-memory test.
for _ in $(seq 55); do echo "file '$out/en/mp3.mp3'"; done > "$tmp/list.txt"
ff -f concat -safe 0 -i "$tmp/list.txt" -c copy "$out/long_10min.mp3"

echo "$want" > "$stamp"
