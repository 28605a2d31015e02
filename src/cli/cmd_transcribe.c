/* cmd_transcribe.c — `cicada transcribe FILE`: the job pipeline's audio -> engine -> output path run
 * locally on one file, the result on stdout (Result lines, srt or the detail JSON). Useful to check
 * a model and to compare the service's transcripts with a direct run. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "sched/sched.h"
#include "util/util.h"

static void transcribe_help(void)
{
    printf("usage: cicada transcribe FILE [--engine 16k_en] [--model PATH] [--format txt|srt|json]\n\n"
           "Recognises FILE (any format FFmpeg reads) with the engine configured for the EngineModelType\n"
           "and prints the result: Result lines (txt, default), SubRip (srt) or the ResultDetail JSON.\n"
           "--model overrides the mapping for this run: a ggml file means whisper with the type's language,\n"
           "a directory pocketsphinx; a name without '/' lies in the model directory.\n\n");
    config_print_help();
}

static char *render(const char *format, const engine_result *r)
{
    if (strcmp(format, "srt") == 0)
        return output_srt(r);
    if (strcmp(format, "json") == 0)
        return output_detail_json(r, 0);
    return output_result_lines(r);
}

int cmd_transcribe(int argc, char **argv)
{
    bool help = false;
    const char *engine_type = "16k_en", *format = "txt", *model = NULL;
    cli_extra_opt extra[] = {{"--help", false, NULL, &help}, {"-h", false, NULL, &help},
                             {"--engine", true, &engine_type, NULL}, {"--format", true, &format, NULL},
                             {"--model", true, &model, NULL}};
    config cfg;
    const char *pos[1];
    size_t npos = 0;
    if (!config_load(&cfg, argc, argv, extra, sizeof extra / sizeof extra[0], pos, 1, &npos))
        return 2;
    if (help) {
        transcribe_help();
        return 0;
    }
    if (npos != 1) {
        fprintf(stderr, "cicada transcribe: give exactly one FILE (see --help)\n");
        return 2;
    }
    if (strcmp(format, "txt") != 0 && strcmp(format, "srt") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "cicada transcribe: --format must be txt, srt or json\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    char err[1024];
    engine_registry_params ep;
    config_engine_params(&cfg, &ep);
    ep.max_concurrent = 1;          /* one file: its job may use every core */
    ep.only_type = engine_type;     /* load only the model this run needs */
    ep.model_override = model;
    engine_registry *reg = engine_registry_new(&ep, err, sizeof err);
    if (!reg) {
        fprintf(stderr, "cicada transcribe: %s\n", err);
        return 1;
    }
    pipeline_result r;
    int rc = 0;
    if (pipeline_transcribe_file(reg, pos[0], engine_type, 5LL * 3600 * 1000, &r)) {
        char *out = render(format, &r.segs);
        printf("%s\n", out);
        free(out);
    } else {
        fprintf(stderr, "cicada transcribe: %s: %s\n", r.code, r.message);
        rc = 1;
    }
    pipeline_result_free(&r);
    engine_registry_free(reg);
    return rc;
}
