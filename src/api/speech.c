/* speech.c — the SpeechRecognition parameters, read and checked in one place for the two things
 * that carry them: a job's Operation/SpeechRecognition and a template's SpeechRecognition (spec
 * sections 2 and 9). A value that is accepted changes the result or is documented as echo-only; any
 * other is a 400 naming the element. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
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

bool api_canonical_int(const char *v, int lo, int hi, int *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 9 || strspn(v, "0123456789") != n || (v[0] == '0' && n > 1))
        return false;   /* digits only, no sign, space or leading zero: the echo is what was sent */
    long x = strtol(v, NULL, 10);
    if (x < lo || x > hi)
        return false;
    *out = (int)x;
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

static bool parse_engine(api *a, api_response *r, const api_request *q, const xml_node *sr, job_params *p)
{
    const char *engine_type = xml_path_text(sr, "EngineModelType");
    if (!engine_type || !engine_type[0]) {
        api_error(r, q, 400, "InvalidArgument", "SpeechRecognition/EngineModelType is required");
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
    return true;
}

/* The integer parameters, each in its range; an empty element is the same as an absent one. */
static bool parse_ints(api_response *r, const api_request *q, const xml_node *sr, job_params *p)
{
    for (size_t i = 0; i < sizeof PARAM_INTS / sizeof PARAM_INTS[0]; i++) {
        const int_field *f = &PARAM_INTS[i];
        const char *v = xml_path_text(sr, f->name);
        if (!v || !v[0])
            continue;
        if (!api_canonical_int(v, f->lo, f->hi, (int *)((char *)p + f->offset))) {
            api_error(r, q, 400, "InvalidArgument", "%s must be an integer from %d to %d, written without sign, "
                      "spaces or leading zeros (got \"%s\")", f->name, f->lo, f->hi, v);
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
    return true;
}

/* SpeakerDiarization 1 works with every engine and type (src/diarize hears the same samples as
 * the engine); with ChannelNum 2 it is accepted and has no effect, each channel being its speaker.
 * A count without diarization means nothing, so it is refused rather than ignored. */
static bool check_speakers(api_response *r, const api_request *q, const job_params *p)
{
    if (p->speaker_number != 0 && p->speaker_diarization != 1) {
        api_error(r, q, 400, "InvalidArgument", "SpeakerNumber %d: a speaker count only has meaning with "
                  "SpeakerDiarization 1; send SpeakerDiarization 1, or SpeakerNumber 0", p->speaker_number);
        return false;
    }
    return true;
}

static bool one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return true;
    return false;
}

/* FlashAsr: the service's separate fast engine. There is none here: every job is a queued job on
 * the engine EngineModelType names, so false (or nothing) is the only honest answer. */
static bool check_flash_asr(api_response *r, const api_request *q, const char *v)
{
    if (!v[0] || strcmp(v, "false") == 0)
        return true;
    if (strcmp(v, "true") == 0)
        api_error(r, q, 400, "InvalidArgument", "FlashAsr true: this server has no separate fast-recognition "
                  "engine (every job runs, queued, on the engine its EngineModelType names); send false or leave "
                  "it out");
    else
        api_error(r, q, 400, "InvalidArgument", "FlashAsr must be true or false (got \"%s\")", v);
    return false;
}

/* Format declares how the input is to be read: pcm (headerless 16-bit PCM), or a container the
 * content must agree with (src/audio). Without it the format is found from the content. */
static bool check_format(api_response *r, const api_request *q, const char *v)
{
    if (!v[0] || strcasecmp(v, "pcm") == 0 || audio_container_known(v))
        return true;
    if (strcasecmp(v, "speex") == 0 || strcasecmp(v, "silk") == 0)
        api_error(r, q, 400, "InvalidArgument", "Format %s: this server cannot decode %s audio; convert it (e.g. "
                  "to wav or mp3), or leave Format out to have the format found from the content", v, v);
    else
        api_error(r, q, 400, "InvalidArgument", "Format must be pcm (headerless 16-bit little-endian PCM), wav, "
                  "mp3, m4a, aac, ogg-opus or amr, or left out to have the format found from the content (got "
                  "\"%s\")", v);
    return false;
}

/* FirstChannelOnly (0/1) chooses what a ChannelNum 1 job hears of a multi-channel input: 1 channel
 * 0 alone, 0 (as when absent) all channels mixed. ChannelNum 2 recognises each channel anyway.
 * WordInfo (0/1/2) adds word-level ResultDetail to a ResTextFormat 0 job: 1 as ResTextFormat 1
 * builds it (no punctuation), 2 as ResTextFormat 2 does; formats 1-3 have their own. */
static bool check_channel_and_words(api_response *r, const api_request *q, const job_params *p)
{
    static const char *const zero_one[] = {"", "0", "1", NULL}, *const zero_two[] = {"", "0", "1", "2", NULL};
    if (!one_of(p->first_channel_only, zero_one)) {
        api_error(r, q, 400, "InvalidArgument", "FirstChannelOnly must be 0 or 1 (got \"%s\")", p->first_channel_only);
        return false;
    }
    if (!one_of(p->word_info, zero_two)) {
        api_error(r, q, 400, "InvalidArgument", "WordInfo must be 0, 1 or 2 (got \"%s\")", p->word_info);
        return false;
    }
    if (p->word_info[0] && strcmp(p->word_info, "0") != 0 && p->res_text_format != 0) {
        api_error(r, q, 400, "InvalidArgument", "WordInfo %s only applies with ResTextFormat 0 (ResTextFormat %d "
                  "already gives word-level detail); send WordInfo 0 or leave it out", p->word_info,
                  p->res_text_format);
        return false;
    }
    return true;
}

static bool parse_texts(api *a, api_response *r, const api_request *q, const xml_node *sr, job_params *p)
{
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
    return check_flash_asr(r, q, p->flash_asr) && check_format(r, q, p->format);
}

bool api_speech_parse(api *a, api_response *r, const api_request *q, const xml_node *sr, job_params *p)
{
    return parse_engine(a, r, q, sr, p) && parse_ints(r, q, sr, p) && check_speakers(r, q, p) &&
           parse_texts(a, r, q, sr, p) && check_channel_and_words(r, q, p);
}
