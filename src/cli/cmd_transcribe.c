/* cmd_transcribe.c — `cicada transcribe FILE`: the job pipeline's audio -> engine -> output path run
 * locally on one file, the result on stdout in any of a job's output shapes. Useful to check
 * a model and to compare the service's transcripts with a direct run. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output/output.h"
#include "sched/sched.h"
#include "util/util.h"

static void transcribe_help(void)
{
    printf("usage: cicada transcribe FILE [options]\n\n"
           "Recognises FILE (any format FFmpeg reads) with the engine configured for the EngineModelType\n"
           "and prints the result as a job would write it. Exit status: 0 done, 1 recognition failed,\n"
           "2 bad options.\n\n"
           "options:\n"
           "  --engine TYPE              the EngineModelType (16k_en)\n"
           "  --model PATH               this model for this run: a ggml file means whisper with the type's\n"
           "                             language, a directory pocketsphinx; a name without '/' lies in the\n"
           "                             model directory\n"
           "  --format F                 txt (Result lines, default), srt, vtt, json, or detail (the\n"
           "                             ResultDetail array)\n"
           "  --pcm                      FILE is headerless signed 16-bit little-endian PCM at the engine's\n"
           "                             rate (8000 or 16000 Hz), --channel-num channels interleaved\n"
           "  --channel-num 1|2          1 mixes all channels (default); 2 recognises channels 0 and 1 each\n"
           "                             on its own\n"
           "  --res-text-format 0-3      sentence shaping, as the job parameter ResTextFormat (0)\n"
           "  --sentence-max-length N    0, or 6-40 characters per sentence, as SentenceMaxLength (0)\n"
           "  --convert-num-mode 0|1|3   the job's text options ConvertNumMode, FilterModal, FilterDirty\n"
           "  --filter-modal 0-2         and FilterPunc, applied to the sentences (all 0)\n"
           "  --filter-dirty 0-2\n"
           "  --filter-punc 0-2\n"
           "  --speaker-diarization 0|1  1: every sentence carries its speaker (SpeakerId; [SPEAKER_n] in srt,\n"
           "                             <v Speaker n> in vtt), a sentence is cut where the speaker changes;\n"
           "                             as the job parameter SpeakerDiarization (0). Ignored with --channel-num 2\n"
           "  --speaker-number 0-10      with --speaker-diarization 1: 0 estimates the count, 1-10 fixes it (0)\n"
           "  -h, --help                 this help\n\n"
           "examples:\n"
           "  cicada transcribe interview.m4a --engine 16k_zh --format srt > interview.srt\n"
           "  cicada transcribe recording.pcm --pcm --model ggml-base.en.bin --format json\n"
           "  cicada transcribe meeting.wav --engine 16k_zh --speaker-diarization 1 --format srt\n\n");
    config_print_help(CLI_TRANSCRIBE);
}

static bool parse_small_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "cicada transcribe: %s must be a number from %d to %d (got \"%s\")\n", flag, lo, hi, v);
        return false;
    }
    *out = (int)n;
    return true;
}

static char *render(const char *format, const output_doc *doc)
{
    const char *ctype;
    if (strcmp(format, "detail") == 0)
        return output_doc_detail_json(doc);
    return output_doc_file(doc, format, &ctype);
}

typedef struct transcribe_opts {
    const char *engine_type, *format, *model;
    int res_text_format, sentence_max_length, channel_num;
    int speaker_diarization, speaker_number;
    text_params text;
    bool pcm;
} transcribe_opts;

static bool has_extension(const char *file, const char *ext)
{
    const char *dot = strrchr(file, '.');
    return dot && !strchr(dot, '/') && strcasecmp(dot + 1, ext) == 0;
}

/* A headerless .pcm/.raw file that FFmpeg could not open: say that --pcm reads it, at which rate. */
static void hint_raw_pcm(engine_registry *reg, const char *file, const char *code, const char *type)
{
    if (strcmp(code, "InputNotAudio") != 0 && strcmp(code, "AudioDecodeFailed") != 0)
        return;
    if (!has_extension(file, "pcm") && !has_extension(file, "raw") && !has_extension(file, "s16le"))
        return;
    engine *e = NULL;
    engine_registry_get(reg, type, &e, NULL, NULL, 0);
    char rate[32] = "the engine's rate";
    if (e)
        snprintf(rate, sizeof rate, "%d Hz", engine_sample_rate(e));
    fprintf(stderr, "cicada transcribe: hint: %s looks like headerless PCM; add --pcm to read it as signed 16-bit "
                    "little-endian samples at %s (the rate of the engine serving %s)\n", file, rate, type);
}

static int run(engine_registry *reg, const text_engine *texts, const char *file, const transcribe_opts *o)
{
    pipeline_request req = pipeline_default_request(o->engine_type);
    req.channel_num = o->channel_num;
    req.raw_pcm = o->pcm;
    req.max_audio_ms = 5LL * 3600 * 1000;
    req.diarize = o->speaker_diarization == 1;
    req.speakers = o->speaker_number;
    pipeline_result r;
    int rc = 0;
    char err[256];
    output_doc *doc = NULL;
    pipeline_shape shape = pipeline_default_shape();
    shape.res_text_format = o->res_text_format;
    shape.sentence_max_length = o->sentence_max_length;
    shape.text = o->text;
    shape.texts = texts;
    if (!pipeline_recognise(reg, file, &req, &r)) {
        fprintf(stderr, "cicada transcribe: %s: %s\n", r.code, r.message);
        if (!o->pcm)
            hint_raw_pcm(reg, file, r.code, o->engine_type);
        rc = 1;
    } else if (!(doc = pipeline_output(&r, &shape, err, sizeof err))) {
        fprintf(stderr, "cicada transcribe: %s\n", err);
        rc = 2;
    } else {
        char *out = render(o->format, doc);
        printf("%s\n", out);
        free(out);
    }
    output_doc_free(doc);
    pipeline_result_free(&r);
    return rc;
}

int cmd_transcribe(int argc, char **argv)
{
    bool help = false;
    transcribe_opts o = {.engine_type = "16k_en", .format = "txt", .channel_num = 1, .text = text_default_params()};
    const char *rtf = "0", *sml = "0", *chn = "1", *cnm = "0", *fm = "0", *fd = "0", *fp = "0", *sd = "0", *sn = "0";
    cli_extra_opt extra[] = {{"--help", false, NULL, &help}, {"-h", false, NULL, &help},
                             {"--engine", true, &o.engine_type, NULL}, {"--format", true, &o.format, NULL},
                             {"--model", true, &o.model, NULL}, {"--res-text-format", true, &rtf, NULL},
                             {"--sentence-max-length", true, &sml, NULL}, {"--channel-num", true, &chn, NULL},
                             {"--pcm", false, NULL, &o.pcm}, {"--convert-num-mode", true, &cnm, NULL},
                             {"--filter-modal", true, &fm, NULL}, {"--filter-dirty", true, &fd, NULL},
                             {"--filter-punc", true, &fp, NULL}, {"--speaker-diarization", true, &sd, NULL},
                             {"--speaker-number", true, &sn, NULL}};
    config cfg;
    const char *pos[1];
    size_t npos = 0;
    if (!config_load(&cfg, CLI_TRANSCRIBE, argc, argv, extra, sizeof extra / sizeof extra[0], pos, 1, &npos))
        return 2;
    if (help) {
        transcribe_help();
        return 0;
    }
    if (npos != 1) {
        fprintf(stderr, "cicada transcribe: give exactly one FILE (see --help)\n");
        return 2;
    }
    if (strcmp(o.format, "detail") != 0 && !output_file_type_known(o.format)) {
        fprintf(stderr, "cicada transcribe: --format must be txt, srt, vtt, json or detail\n");
        return 2;
    }
    if (!parse_small_int("--res-text-format", rtf, 0, 3, &o.res_text_format) ||
        !parse_small_int("--sentence-max-length", sml, 0, 40, &o.sentence_max_length) ||
        !parse_small_int("--channel-num", chn, 1, 2, &o.channel_num) ||
        !parse_small_int("--convert-num-mode", cnm, 0, 3, &o.text.convert_num_mode) ||
        !parse_small_int("--filter-modal", fm, 0, 2, &o.text.filter_modal) ||
        !parse_small_int("--filter-dirty", fd, 0, 2, &o.text.filter_dirty) ||
        !parse_small_int("--filter-punc", fp, 0, 2, &o.text.filter_punc) ||
        !parse_small_int("--speaker-diarization", sd, 0, 1, &o.speaker_diarization) ||
        !parse_small_int("--speaker-number", sn, 0, 10, &o.speaker_number))
        return 2;
    if (o.speaker_number != 0 && o.speaker_diarization != 1) {
        fprintf(stderr, "cicada transcribe: --speaker-number only has meaning with --speaker-diarization 1\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    char err[1024];
    engine_registry_params ep;
    config_engine_params(&cfg, &ep);
    ep.max_concurrent = 1;          /* one file: its job may use every core */
    ep.only_type = o.engine_type;   /* load only the model this run needs */
    ep.model_override = o.model;
    engine_registry *reg = engine_registry_new(&ep, err, sizeof err);
    if (!reg) {
        fprintf(stderr, "cicada transcribe: %s\n", err);
        return 1;
    }
    text_engine_params tep = text_engine_default_params();
    tep.dirty_words_file = cfg.dirty_words[0] ? cfg.dirty_words : NULL;
    tep.t2s = false;
    text_engine *texts = text_engine_new(&tep, err, sizeof err);
    if (!texts) {
        fprintf(stderr, "cicada transcribe: %s\n", err);
        engine_registry_free(reg);
        return 1;
    }
    int rc = run(reg, texts, pos[0], &o);
    text_engine_free(texts);
    engine_registry_free(reg);
    return rc;
}
