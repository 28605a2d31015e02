/* cmd_text.c — `cicada text`: the SpeechRecognition text options on lines of stdin, for people and
 * scripts. Each input line (any length; invalid UTF-8 bytes and NULs become U+FFFD; a trailing
 * "\r" is dropped) gives exactly one output line, in order; the output is flushed at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "text/text.h"

static void text_usage(FILE *f)
{
    fprintf(f,
            "usage: cicada text [options] < input > output\n\n"
            "Applies the SpeechRecognition text options to each line of stdin and writes one line\n"
            "per input line to stdout, in order.\n\n"
            "options:\n"
            "  --convert-num-mode N   0 keep numerals (default); 1 spoken numbers to digits by context;\n"
            "                         3 also math words and symbols\n"
            "  --filter-modal N       0 keep (default); 1 remove standalone fillers (嗯 啊 um uh);\n"
            "                         2 also sentence-final particles and repeated hesitations\n"
            "  --filter-dirty N       0 keep (default); 1 remove listed words; 2 mask them with '*'\n"
            "  --filter-punc N        0 keep (default); 1 drop sentence-final punctuation; 2 drop all\n"
            "  --lang zh|en|auto      whose rules apply (default auto: Chinese when a line has Han\n"
            "                         characters, English otherwise)\n"
            "  --dirty-words FILE     the dirty-word list: one word per line, '#' comments, UTF-8\n"
            "                         (default: the built-in list)\n"
            "  -h, --help             this help\n\n"
            "Exit status: 0 done, 1 input/output or word-list error, 2 bad options.\n");
}

typedef struct text_opts {
    text_params p;
    const char *dirty_words;
} text_opts;

static bool parse_mode(const char *name, const char *v, int max, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < 0 || n > max || (max == 3 && n == 2)) {
        fprintf(stderr, "cicada text: %s must be %s, not \"%s\"\n", name, max == 3 ? "0, 1 or 3" : "0, 1 or 2", v);
        return false;
    }
    *out = (int)n;
    return true;
}

static bool parse_lang(const char *v, const char **out)
{
    if (strcmp(v, "zh") != 0 && strcmp(v, "en") != 0 && strcmp(v, "auto") != 0) {
        fprintf(stderr, "cicada text: --lang must be zh, en or auto, not \"%s\"\n", v);
        return false;
    }
    *out = strcmp(v, "auto") == 0 ? NULL : v;
    return true;
}

/* 0 to go on, 1 after --help, 2 on a bad option (said on stderr). The options follow the shared
 * command-line rule (cli_parse); their values are checked here. */
static int parse_args(text_opts *o, int argc, char **argv)
{
    bool help = false;
    const char *cnm = "0", *fm = "0", *fd = "0", *fp = "0", *lang = "auto";
    cli_extra_opt opts[] = {{"--help", false, NULL, &help}, {"-h", false, NULL, &help},
                            {"--convert-num-mode", true, &cnm, NULL}, {"--filter-modal", true, &fm, NULL},
                            {"--filter-dirty", true, &fd, NULL}, {"--filter-punc", true, &fp, NULL},
                            {"--lang", true, &lang, NULL}, {"--dirty-words", true, &o->dirty_words, NULL}};
    const char *pos[1];
    size_t npos;
    if (!cli_parse("cicada text", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos))
        return 2;
    if (help) {
        text_usage(stdout);
        return 1;
    }
    if (npos > 0) {
        fprintf(stderr, "cicada text: unexpected argument \"%s\" (input is read from stdin)\n", pos[0]);
        return 2;
    }
    bool ok = parse_mode("--convert-num-mode", cnm, 3, &o->p.convert_num_mode) &&
              parse_mode("--filter-modal", fm, 2, &o->p.filter_modal) &&
              parse_mode("--filter-dirty", fd, 2, &o->p.filter_dirty) &&
              parse_mode("--filter-punc", fp, 2, &o->p.filter_punc) && parse_lang(lang, &o->p.language);
    return ok ? 0 : 2;
}

static int process_stream(const text_engine *e, const text_params *p, FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        char *clean = text_utf8_clean(line, (size_t)len);
        char *done = text_process_line(e, p, clean);
        fputs(done ? done : clean, out);
        fputc('\n', out);
        free(done);
        free(clean);
    }
    free(line);
    if (ferror(in)) {
        fprintf(stderr, "cicada text: reading stdin: %s\n", strerror(errno));
        return 1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "cicada text: writing stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int cmd_text(int argc, char **argv)
{
    text_opts o = {.p = text_default_params(), .dirty_words = NULL};
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    text_engine_params ep = text_engine_default_params();
    ep.dirty_words_file = o.dirty_words;
    ep.t2s = false;
    char err[512];
    text_engine *e = text_engine_new(&ep, err, sizeof err);
    if (!e) {
        fprintf(stderr, "cicada text: %s\n", err);
        return 1;
    }
    rc = process_stream(e, &o.p, stdin, stdout);
    text_engine_free(e);
    return rc;
}
