#!/bin/sh
# first-model.sh [CICADA_BIN] — `make run`'s last step before serving: a machine with no whisper
# model gets one, so that a new user starts on the best engine the machine can have rather than on
# pocketsphinx. Nothing is done when CICADA_ENGINES maps the engines or the model directory already
# holds a whisper model. The size follows the machine: tiny under 2 GiB of available memory, small
# with 8 cores and 8 GiB or more, base otherwise. `cicada models pull` downloads it (progress on the
# terminal, resumable, checksum-verified before it is installed). When the model host cannot be
# reached (as on machines without internet) this says so in one line, with the command to run
# later, and returns at once: the server then starts on pocketsphinx.
#
# CICADA_FIRST_MODEL=tiny|base|small|... picks the size; CICADA_FIRST_MODEL=none skips the step.
# CICADA_FIRST_MODEL_URL and CICADA_FIRST_MODEL_SHA256 fetch from a mirror instead.
set -u
bin=${1:-./build/cicada}
[ -n "${CICADA_ENGINES:-}" ] && exit 0
[ "${CICADA_FIRST_MODEL:-}" = none ] && exit 0
dir=${CICADA_MODEL_DIR:-${CICADA_DATA_DIR:-./data}/models}
for f in "$dir"/ggml-*.bin; do
    case $f in
    *silero*) ;;
    *) [ -f "$f" ] && exit 0 ;;
    esac
done

mem_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null)
cores=$(nproc 2>/dev/null || echo 1)
size=base
if [ "${mem_mb:-0}" -lt 2048 ]; then
    size=tiny
elif [ "$cores" -ge 8 ] && [ "$mem_mb" -ge 8192 ]; then
    size=small
fi
size=${CICADA_FIRST_MODEL:-$size}

echo "cicada: no whisper model in $dir: fetching the $size model ($cores cores, ${mem_mb:-?} MiB available)"
if [ -n "${CICADA_FIRST_MODEL_URL:-}" ]; then
    set -- --url "$CICADA_FIRST_MODEL_URL" --sha256 "${CICADA_FIRST_MODEL_SHA256:-}"
else
    set --
fi
if "$bin" models pull "$size" --connect-timeout 5 "$@"; then
    echo "cicada: whisper $size installed; the server starts with it"
else
    echo "cicada: the $size model could not be fetched (no network?); starting on pocketsphinx now -" \
        "run \`$bin models pull $size\` later for whisper"
fi
exit 0
