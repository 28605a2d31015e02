/* engine_testutil.c — see engine_testutil.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

static void env_path(const char *var, char *out, size_t len, const char *rel)
{
    const char *root = getenv(var);
    snprintf(out, len, "%s/%s", root ? root : "", rel);
}

void testdata_path(char *out, size_t len, const char *rel)
{
    env_path("CICADA_TESTDATA", out, len, rel);
}

void shared_path(char *out, size_t len, const char *rel)
{
    env_path("CICADA_SHARED", out, len, rel);
}

bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool tool_available(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

void transcribe_file(engine *e, const engine_opts *o, const char *path, engine_result *out)
{
    audio_params ap = audio_default_params();
    ap.sample_rate = engine_sample_rate(e);
    audio_pcm pcm;
    char err[512];
    audio_rc arc = audio_decode_file(path, &ap, &pcm, err, sizeof err);
    if (arc != AUDIO_OK)
        fail_msg("decoding %s: %s (%s)", path, audio_rc_code(arc), err);
    if (engine_transcribe(e, pcm.samples, pcm.n, o, out, err, sizeof err) != 0)
        fail_msg("transcribing %s: %s", path, err);
    audio_pcm_free(&pcm);
}

char *result_words_joined(const engine_result *r)
{
    buf b;
    buf_init(&b);
    for (size_t s = 0; s < r->nsegs; s++)
        for (size_t w = 0; w < r->segs[s].nwords; w++) {
            if (b.len > 0)
                buf_putc(&b, ' ');
            buf_puts(&b, r->segs[s].words[w].text);
        }
    return buf_steal(&b);
}

static char *read_first_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    return line;
}

/* "words words (uttid score)\n" -> "words words" */
static void strip_utterance_id(char *line)
{
    char *paren = strrchr(line, '(');
    if (paren)
        *paren = '\0';
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\n'))
        line[--len] = '\0';
}

bool sphinx_batch_start(batch_run *b, const char *audio, int rate, const char *hmm, const char *lm,
                        const char *dict)
{
    *b = (batch_run){0};
    snprintf(b->dir, sizeof b->dir, "/tmp/cicada-batch-XXXXXX");
    if (!mkdtemp(b->dir))
        return false;
    char path[512];
    snprintf(path, sizeof path, "%s/ctl", b->dir);
    FILE *ctl = fopen(path, "w");
    if (!ctl)
        return false;
    fputs("utt\n", ctl);
    fclose(ctl);
    /* Resample in float (aformat=flt), as cicada_audio does, then round to s16 for the decoder. */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -i '%s' -af 'aformat=sample_fmts=flt,aresample=%d' -ac 1 -f s16le '%s/utt.raw' && "
             "pocketsphinx_batch -adcin yes -cepdir '%s' -cepext .raw -ctl '%s/ctl' -hyp '%s/out.txt' "
             "-hmm '%s' -lm '%s' -dict '%s' -samprate %d -logfn /dev/null >/dev/null 2>&1",
             audio, rate, b->dir, b->dir, b->dir, b->dir, hmm, lm, dict, rate);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    b->pid = (int)pid;
    return true;
}

char *sphinx_batch_finish(batch_run *b)
{
    char *hyp = NULL;
    if (b->pid > 0) {
        int status = 0;
        if (waitpid((pid_t)b->pid, &status, 0) == b->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/out.txt", b->dir);
            hyp = read_first_line(path);
            if (hyp)
                strip_utterance_id(hyp);
        }
        b->pid = 0;
    }
    if (b->dir[0]) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", b->dir);
        b->dir[0] = '\0';
    }
    return hyp;
}

char *sphinx_batch_hypothesis(const char *audio, int rate, const char *hmm, const char *lm, const char *dict)
{
    batch_run b;
    bool started = sphinx_batch_start(&b, audio, rate, hmm, lm, dict);
    char *hyp = sphinx_batch_finish(&b);
    if (!started) {
        free(hyp);
        return NULL;
    }
    return hyp;
}

char *reference_text(const char *refs_tsv, const char *file)
{
    FILE *f = fopen(refs_tsv, "r");
    if (!f)
        return NULL;
    char *line = NULL, *found = NULL;
    size_t cap = 0, flen = strlen(file);
    while (!found && getline(&line, &cap, f) >= 0) {
        if (strncmp(line, file, flen) == 0 && line[flen] == '\t') {
            found = xstrdup(line + flen + 1);
            found[strcspn(found, "\r\n")] = '\0';
        }
    }
    free(line);
    fclose(f);
    return found;
}

static bool has_word(const char *text, const char *word, size_t wlen)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n == wlen && strncmp(p, word, n) == 0)
            return true;
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

int shared_word_count(const char *ref, const char *hyp)
{
    int count = 0;
    const char *p = ref;
    while (*p) {
        size_t n = strcspn(p, " ");
        bool seen_before = false;
        for (const char *q = ref; q < p;) {
            size_t m = strcspn(q, " ");
            if (m == n && strncmp(q, p, n) == 0)
                seen_before = true;
            q += m;
            q += strspn(q, " ");
        }
        if (n > 0 && !seen_before && has_word(hyp, p, n))
            count++;
        p += n;
        p += strspn(p, " ");
    }
    return count;
}

char *result_describe(const engine_result *r)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (size_t s = 0; s < r->nsegs; s++) {
        const engine_segment *seg = &r->segs[s];
        buf_printf(&b, "[%lld,%lld] %s:", (long long)seg->start_ms, (long long)seg->end_ms, seg->text);
        for (size_t w = 0; w < seg->nwords; w++)
            buf_printf(&b, " %s@%lld-%lld", seg->words[w].text, (long long)seg->words[w].start_ms,
                       (long long)seg->words[w].end_ms);
        buf_putc(&b, '\n');
    }
    return buf_steal(&b);
}
