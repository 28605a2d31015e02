/* speech.c — the SpeechRecognition parameters, read and checked in one place for the two things
 * that carry them: a job's Operation/SpeechRecognition and a template's SpeechRecognition (spec
 * sections 2 and 9). A value that is accepted changes the result or is documented as echo-only; any
 * other is a 400 naming the element. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"

typedef struct int_field {
    const char *name;
    int lo, hi;
    size_t offset;
} int_field;

#define PF(name, lo, hi, member) {name, lo, hi, offsetof(job_params, member)}
static const int_field PARAM_INTS[] = {
    PF("ChannelNum", 1, 2, channel_num),
    PF("ResTextFormat", 0, 3, res_text_format),
    PF("FilterDirty", 0, 2, filter_dirty),
    PF("FilterModal", 0, 2, filter_modal),
    PF("FilterPunc", 0, 2, filter_punc),
    PF("ConvertNumMode", 0, 3, convert_num_mode),
    PF("SpeakerDiarization", 0, 1, speaker_diarization),
    PF("SpeakerNumber", 0, 10, speaker_number),
    PF("SentenceMaxLength", 0, 40, sentence_max_length),
};

static bool parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi)
        return false;
    *out = (int)n;
    return true;
}

/* A named hot-vocabulary table must exist in the job's bucket when the job is submitted (if it is
 * deleted before the job runs, the job fails with HotVocabularyTableNotFound). */
static bool hot_vocabulary_exists(api *a, api_response *r, const api_request *q, const char *id)
{
    store_hotvocab h;
    store_rc rc = store_hotvocab_get(a->d.st, q->bucket, id, &h);
    store_hotvocab_clear(&h);
    if (rc == STORE_NOT_FOUND)
        api_error(r, q, 400, "InvalidArgument", "HotVocabularyTableId %s names no hot-vocabulary table of bucket %s",
                  id, q->bucket);
    else if (rc != STORE_OK)
        api_error(r, q, 500, "InternalError", "%s", store_last_error());
    return rc == STORE_OK;
}

bool api_speech_parse(api *a, api_response *r, const api_request *q, const xml_node *sr, job_params *p)
{
    const char *engine_type = xml_path_text(sr, "EngineModelType");
    if (!engine_type || !engine_type[0]) {
        api_error(r, q, 400, "InvalidArgument", "Operation/SpeechRecognition/EngineModelType is required");
        return false;
    }
    if (!engine_type_known(engine_type)) {
        api_error(r, q, 400, "InvalidArgument", "EngineModelType %s is not one this API defines "
                  "(16k_zh, 16k_en, 16k_ca, 16k_ja, 8k_zh, 8k_en, ...)", engine_type);
        return false;
    }
    engine *e;
    engine_opts o;
    char hint[512];
    if (engine_registry_get(a->d.engines, engine_type, &e, &o, hint, sizeof hint) != ENGINE_FOUND) {
        api_error(r, q, 400, "InvalidArgument", "%s", hint);
        return false;
    }
    snprintf(p->engine_model_type, sizeof p->engine_model_type, "%s", engine_type);
    for (size_t i = 0; i < sizeof PARAM_INTS / sizeof PARAM_INTS[0]; i++) {
        const int_field *f = &PARAM_INTS[i];
        const char *v = xml_path_text(sr, f->name);
        if (!v || !v[0])
            continue;
        if (!parse_int(v, f->lo, f->hi, (int *)((char *)p + f->offset))) {
            api_error(r, q, 400, "InvalidArgument", "%s must be an integer from %d to %d (got \"%s\")", f->name,
                      f->lo, f->hi, v);
            return false;
        }
    }
    if (p->convert_num_mode == 2) {
        api_error(r, q, 400, "InvalidArgument", "ConvertNumMode must be 0, 1 or 3 (got 2)");
        return false;
    }
    if (p->sentence_max_length != 0 && p->sentence_max_length < 6) {
        api_error(r, q, 400, "InvalidArgument", "SentenceMaxLength must be 0 or from 6 to 40 (got %d)",
                  p->sentence_max_length);
        return false;
    }
    if (!api_take_text(r, q, sr, "OutputFileType", p->output_file_type, sizeof p->output_file_type) ||
        !api_take_text(r, q, sr, "HotVocabularyTableId", p->hot_vocabulary_table_id, sizeof p->hot_vocabulary_table_id) ||
        !api_take_text(r, q, sr, "FlashAsr", p->flash_asr, sizeof p->flash_asr) ||
        !api_take_text(r, q, sr, "Format", p->format, sizeof p->format) ||
        !api_take_text(r, q, sr, "FirstChannelOnly", p->first_channel_only, sizeof p->first_channel_only) ||
        !api_take_text(r, q, sr, "WordInfo", p->word_info, sizeof p->word_info))
        return false;
    if (p->hot_vocabulary_table_id[0] && !hot_vocabulary_exists(a, r, q, p->hot_vocabulary_table_id))
        return false;
    if (!p->output_file_type[0])
        snprintf(p->output_file_type, sizeof p->output_file_type, "txt");
    if (!output_file_type_known(p->output_file_type)) {
        api_error(r, q, 400, "InvalidArgument", "OutputFileType must be txt or srt (or this server's vtt or json; "
                  "got \"%s\")", p->output_file_type);
        return false;
    }
    return true;
}
