/* cmd_diarize.c — `cicada diarize FILE`: who spoke when in one local recording, printed as RTTM
 * (the format md-eval.pl and other diarization scorers read). The same diarizer, fed the same
 * 16 kHz samples, as a job with SpeakerDiarization 1. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "diarize/diarize.h"

#define READ_SAMPLES 16000   /* one second per read: memory stays bounded whatever the length */

static void diarize_help(void)
{
    printf("usage: cicada diarize FILE [options]\n\n"
           "Finds who spoke when in FILE (any format FFmpeg reads, mixed to mono) with no model, and\n"
           "prints one RTTM line per speaker turn:\n"
           "  SPEAKER <file> 1 <onset s> <duration s> <NA> <NA> spk<N> <NA> <NA>\n"
           "Speakers are numbered from 0 in order of first appearance. Exit status: 0 done, 1 the file\n"
           "could not be read, 2 bad options.\n\n"
           "options:\n"
           "  --speakers N     exactly N speakers (1-10); 0 (default) estimates the count\n"
           "  --max-speakers N the estimate's ceiling (1-10, default 10)\n"
           "  --file-id NAME   the RTTM file field (default: FILE's name without directory and extension)\n"
           "  -h, --help       this help\n\n"
           "example:\n"
           "  cicada diarize meeting.m4a > meeting.rttm\n");
}

static bool parse_count(const char *flag, const char *v, int lo, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > DIARIZE_MAX_SPEAKERS) {
        fprintf(stderr, "cicada diarize: %s must be a number from %d to %d (got \"%s\")\n", flag, lo,
                DIARIZE_MAX_SPEAKERS, v);
        return false;
    }
    *out = (int)n;
    return true;
}

/* The RTTM file field: FILE's base name without its extension (or the name given, whole), with
 * anything but [A-Za-z0-9._-] as '_', since RTTM fields are separated by spaces. */
static void file_id_of(const char *path, bool given, char *out, size_t cap)
{
    const char *base = given ? NULL : strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = given ? NULL : strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = base[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        out[o++] = ok ? c : '_';
    }
    out[o] = '\0';
    if (o == 0)
        snprintf(out, cap, "audio");
}

/* Decodes and diarizes FILE; on failure prints why and returns false. */
static bool run(const char *file, diarize_params *dp, diarize_result *res)
{
    audio_params ap = audio_default_params();
    ap.sample_rate = dp->sample_rate;
    audio_reader *r;
    char err[256];
    audio_rc arc = audio_open(file, &ap, &r, err, sizeof err);
    if (arc != AUDIO_OK) {
        fprintf(stderr, "cicada diarize: %s: %s (%s)\n", file, err, audio_rc_code(arc));
        return false;
    }
    float *buf = malloc(sizeof(float) * READ_SAMPLES);
    diarizer *d = NULL;
    bool ok = false;
    diarize_rc drc = DIARIZE_NO_MEMORY;
    if (!buf)
        goto out;
    for (;;) {
        size_t got;
        arc = audio_read(r, buf, READ_SAMPLES, &got, err, sizeof err);
        if (arc != AUDIO_OK) {
            fprintf(stderr, "cicada diarize: %s: %s (%s)\n", file, err, audio_rc_code(arc));
            goto out;
        }
        if (!d) {   /* the input's own rate is known after the first read */
            dp->input_rate = audio_reader_input_rate(r);
            if ((drc = diarize_new(dp, &d)) != DIARIZE_OK)
                break;
        }
        if (got == 0)
            break;
        if ((drc = diarize_feed(d, buf, got)) != DIARIZE_OK)
            break;
    }
    if (drc == DIARIZE_OK)
        drc = diarize_finish(d, res);
    if (drc != DIARIZE_OK)
        fprintf(stderr, "cicada diarize: %s: %s\n", file, diarize_rc_message(drc));
    ok = drc == DIARIZE_OK;
out:
    diarize_free(d);
    free(buf);
    audio_close(r);
    return ok;
}

int cmd_diarize(int argc, char **argv)
{
    diarize_params dp = diarize_default_params();
    const char *file = NULL, *file_id = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            diarize_help();
            return 0;
        }
        bool takes = strcmp(a, "--speakers") == 0 || strcmp(a, "--max-speakers") == 0 || strcmp(a, "--file-id") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "cicada diarize: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--speakers") == 0) {
            if (!parse_count(a, argv[++i], 0, &dp.speakers))
                return 2;
        } else if (strcmp(a, "--max-speakers") == 0) {
            if (!parse_count(a, argv[++i], 1, &dp.max_speakers))
                return 2;
        } else if (strcmp(a, "--file-id") == 0) {
            file_id = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cicada diarize: unknown option \"%s\" (see --help)\n", a);
            return 2;
        } else if (file) {
            fprintf(stderr, "cicada diarize: one FILE only (got \"%s\" and \"%s\")\n", file, a);
            return 2;
        } else {
            file = a;
        }
    }
    if (!file) {
        fprintf(stderr, "cicada diarize: no FILE given (see --help)\n");
        return 2;
    }
    char id[256];
    file_id_of(file_id ? file_id : file, file_id != NULL, id, sizeof id);
    diarize_result res;
    if (!run(file, &dp, &res))
        return 1;
    size_t need = diarize_rttm(&res, id, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) {
        diarize_result_free(&res);
        fprintf(stderr, "cicada diarize: out of memory\n");
        return 1;
    }
    diarize_rttm(&res, id, text, need + 1);
    fputs(text, stdout);
    free(text);
    diarize_result_free(&res);
    return 0;
}
