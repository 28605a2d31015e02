/* render.c — the response trees (see render.h) described once and written through a tree_out:
 * either XML text or a JSON object. Used by src/api for responses and by src/notify for callback
 * bodies. */
#include "render/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define TREE_MAX_DEPTH 16

struct tree_out {
    xml_writer *xw;                  /* XML mode when non-NULL */
    json_t *stack[TREE_MAX_DEPTH];   /* JSON mode: open objects */
    int depth;
};

tree_out *tree_xml(xml_writer *w)
{
    tree_out *t = xcalloc(1, sizeof *t);
    t->xw = w;
    return t;
}

tree_out *tree_json(void)
{
    tree_out *t = xcalloc(1, sizeof *t);
    t->stack[0] = json_object();
    return t;
}

json_t *tree_json_take(tree_out *t)
{
    json_t *o = t->stack[0];
    free(t);
    return o;
}

void tree_free(tree_out *t)
{
    if (t && !t->xw && t->stack[0])
        json_decref(t->stack[0]);
    free(t);
}

static void t_open_json(tree_out *t, const char *name, bool repeated)
{
    json_t *parent = t->stack[t->depth];
    json_t *obj = json_object();
    if (repeated) {
        json_t *arr = json_object_get(parent, name);
        if (!json_is_array(arr)) {
            arr = json_array();
            json_object_set_new(parent, name, arr);
        }
        json_array_append_new(arr, obj);
    } else {
        json_object_set_new(parent, name, obj);
    }
    t->stack[++t->depth] = obj;
}

/* repeated: a sibling of others with the same name (an array in JSON). */
static void t_open_as(tree_out *t, const char *name, bool repeated)
{
    if (t->xw)
        xw_open(t->xw, name);
    else
        t_open_json(t, name, repeated);
}

static void t_open(tree_out *t, const char *name)
{
    t_open_as(t, name, false);
}

static void t_open_item(tree_out *t, const char *name)
{
    t_open_as(t, name, true);
}

static void t_close(tree_out *t, const char *name)
{
    if (t->xw)
        xw_close(t->xw, name);
    else if (t->depth > 0)
        t->depth--;
}

static void t_text(tree_out *t, const char *name, const char *v)
{
    if (t->xw)
        xw_text_elem(t->xw, name, v ? v : "");
    else
        json_object_set_new(t->stack[t->depth], name, json_string(v ? v : ""));
}

static void t_int(tree_out *t, const char *name, long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    t_text(t, name, s);
}

static void t_time(tree_out *t, const char *name, int64_t ms)
{
    char s[TIME_FMT_LEN];
    time_format(ms, s);
    t_text(t, name, s);
}

/* <Progress>, this server's addition to JobsDetail (the SDKs ignore elements they do not know): how
 * much of its audio the job has recognised, three decimals. 0 while Submitted, 1 on Success alone
 * (so a Running job never shows 1.000), else the last value its run recorded. */
static void t_progress(tree_out *t, const store_job *j)
{
    double p = j->state == JOB_SUCCESS ? 1 : j->state == JOB_SUBMITTED ? 0 : j->progress;
    if (!(p >= 0))   /* NaN too */
        p = 0;
    else if (j->state != JOB_SUCCESS && p > 0.999)
        p = 0.999;
    char s[16];
    snprintf(s, sizeof s, "%.3f", p);
    t_text(t, "Progress", s);
}

static void t_opt_text(tree_out *t, const char *name, const char *v)
{
    if (v && v[0])
        t_text(t, name, v);
}

void render_speech(tree_out *t, const job_params *p)
{
    t_open(t, "SpeechRecognition");
    t_text(t, "EngineModelType", p->engine_model_type);
    t_int(t, "ChannelNum", p->channel_num);
    t_int(t, "ResTextFormat", p->res_text_format);
    t_int(t, "FilterDirty", p->filter_dirty);
    t_int(t, "FilterModal", p->filter_modal);
    t_int(t, "FilterPunc", p->filter_punc);
    t_int(t, "ConvertNumMode", p->convert_num_mode);
    t_int(t, "SpeakerDiarization", p->speaker_diarization);
    t_int(t, "SpeakerNumber", p->speaker_number);
    t_int(t, "SentenceMaxLength", p->sentence_max_length);
    t_text(t, "OutputFileType", p->output_file_type);
    t_opt_text(t, "HotVocabularyTableId", p->hot_vocabulary_table_id);
    t_opt_text(t, "FlashAsr", p->flash_asr);
    t_opt_text(t, "Format", p->format);
    t_opt_text(t, "FirstChannelOnly", p->first_channel_only);
    t_opt_text(t, "WordInfo", p->word_info);
    t_close(t, "SpeechRecognition");
}

static void render_words(tree_out *t, json_t *words)
{
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w) {
        t_open_item(t, "Words");
        t_text(t, "Word", json_string_value(json_object_get(w, "Word")));
        t_int(t, "OffsetStartMs", json_integer_value(json_object_get(w, "OffsetStartMs")));
        t_int(t, "OffsetEndMs", json_integer_value(json_object_get(w, "OffsetEndMs")));
        t_close(t, "Words");
    }
}

/* ResultDetail is stored as the JSON output_doc_detail_json() wrote. Returns the sentences written. */
static size_t render_result_detail(tree_out *t, const char *detail_json)
{
    json_t *arr = json_loads(detail_json ? detail_json : "[]", 0, NULL);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        char speed[32];
        snprintf(speed, sizeof speed, "%.1f", json_number_value(json_object_get(s, "SpeechSpeed")));
        t_open_item(t, "ResultDetail");
        t_text(t, "FinalSentence", json_string_value(json_object_get(s, "FinalSentence")));
        t_text(t, "SliceSentence", json_string_value(json_object_get(s, "SliceSentence")));
        t_int(t, "StartMs", json_integer_value(json_object_get(s, "StartMs")));
        t_int(t, "EndMs", json_integer_value(json_object_get(s, "EndMs")));
        t_int(t, "WordsNum", json_integer_value(json_object_get(s, "WordsNum")));
        t_text(t, "SpeechSpeed", speed);
        t_int(t, "SpeakerId", json_integer_value(json_object_get(s, "SpeakerId")));
        render_words(t, json_object_get(s, "Words"));
        t_close(t, "ResultDetail");
    }
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

/* Sentences with words for ResTextFormat 1-3, or for 0 with WordInfo 1/2; otherwise (and when there
 * is no sentence) one empty ResultDetail, as the service sends: XML <ResultDetail></ResultDetail>,
 * JSON "ResultDetail": "". */
static void render_result(tree_out *t, const store_job *j)
{
    char audio_time[32];
    snprintf(audio_time, sizeof audio_time, "%.3f", j->audio_time);
    t_open(t, "SpeechRecognitionResult");
    t_text(t, "AudioTime", audio_time);
    t_text(t, "Result", j->result);
    t_text(t, "ObjectName", j->object_name);
    t_text(t, "DetailObjectName", j->detail_object_name);
    bool words = j->params.res_text_format > 0 || atoi(j->params.word_info) > 0;
    if (!words || render_result_detail(t, j->result_detail) == 0)
        t_text(t, "ResultDetail", "");
    t_close(t, "SpeechRecognitionResult");
}

static void render_operation(tree_out *t, const store_job *j, const char *region)
{
    t_open(t, "Operation");
    t_text(t, "TemplateId", j->template_id);
    if (j->template_id[0])   /* TemplateName only with a TemplateId (spec section 9) */
        t_text(t, "TemplateName", j->template_name);
    render_speech(t, &j->params);
    t_open(t, "Output");
    t_text(t, "Region", j->output_region[0] ? j->output_region : region);
    t_text(t, "Bucket", j->output_bucket[0] ? j->output_bucket : j->bucket);
    t_text(t, "Object", j->output_object);
    t_close(t, "Output");
    t_text(t, "UserData", j->user_data);
    t_int(t, "JobLevel", j->job_level);
    if (j->state == JOB_SUCCESS)
        render_result(t, j);
    t_close(t, "Operation");
}

void render_job(tree_out *t, const store_job *j, const char *region)
{
    t_open_item(t, "JobsDetail");
    t_text(t, "Code", j->code[0] ? j->code : "Success");
    t_text(t, "Message", j->message);
    t_text(t, "JobId", j->id);
    t_text(t, "Tag", j->tag);
    t_text(t, "State", job_state_name(j->state));
    t_time(t, "CreationTime", j->create_ms);
    t_time(t, "StartTime", j->start_ms);
    t_time(t, "EndTime", j->end_ms);
    t_progress(t, j);
    t_text(t, "QueueId", j->queue_id);
    t_open(t, "Input");
    if (j->input_object[0])
        t_text(t, "Object", j->input_object);
    else
        t_text(t, "Url", j->input_url);
    t_text(t, "BucketId", j->bucket);
    t_text(t, "Region", j->region[0] ? j->region : region);
    t_close(t, "Input");
    render_operation(t, j, region);
    if (j->callback[0]) {   /* the job's own callback, as submitted ("no" included) */
        t_text(t, "CallBack", j->callback);
        t_text(t, "CallBackFormat", j->callback_format);
        t_text(t, "CallBackType", j->callback_type);
    }
    t_close(t, "JobsDetail");
}

void render_queue(tree_out *t, const store_queue *q, const char *element)
{
    t_open_item(t, element);
    t_text(t, "QueueId", q->id);
    t_text(t, "Name", q->name);
    t_text(t, "State", q->state);
    t_open(t, "NotifyConfig");
    t_text(t, "Url", q->notify_url);
    t_text(t, "Event", q->notify_event);
    t_text(t, "Type", q->notify_type);
    t_text(t, "State", q->notify_state);
    t_text(t, "ResultFormat", q->notify_format);
    t_close(t, "NotifyConfig");
    t_int(t, "MaxSize", q->max_size);
    t_int(t, "MaxConcurrent", q->max_concurrent);
    t_time(t, "CreateTime", q->create_ms);
    t_time(t, "UpdateTime", q->update_ms);
    t_text(t, "BucketId", q->bucket);
    t_text(t, "Category", "Speeching");
    t_close(t, element);
}

void render_bucket(tree_out *t, const store_bucket *b)
{
    t_open_item(t, "AsrBucketList");
    t_text(t, "BucketId", b->name);
    t_text(t, "Name", b->name);
    t_text(t, "Region", b->region);
    t_time(t, "CreateTime", b->create_ms);
    t_close(t, "AsrBucketList");
}

void render_hotvocab(tree_out *t, const store_hotvocab *h, const char *element)
{
    if (element)
        t_open_item(t, element);
    t_text(t, "TableId", h->id);
    t_text(t, "TableName", h->name);
    t_text(t, "TableDescription", h->description);
    for (size_t i = 0; i < h->nwords; i++) {
        t_open_item(t, "VocabularyWeights");
        t_text(t, "Vocabulary", h->words[i].word);
        t_int(t, "Weight", h->words[i].weight);
        t_close(t, "VocabularyWeights");
    }
    t_time(t, "CreateTime", h->create_ms);
    t_time(t, "UpdateTime", h->update_ms);
    if (element)
        t_close(t, element);
}

void render_template(tree_out *t, const store_template *tpl, const char *element)
{
    t_open_item(t, element);
    t_text(t, "TemplateId", tpl->id);
    t_text(t, "Name", tpl->name);
    t_text(t, "Tag", "SpeechRecognition");
    t_text(t, "State", "Normal");
    t_text(t, "BucketId", tpl->bucket);
    t_text(t, "Category", "Custom");
    t_time(t, "CreateTime", tpl->create_ms);
    t_time(t, "UpdateTime", tpl->update_ms);
    render_speech(t, &tpl->params);
    t_close(t, element);
}

char *render_callback(const store_job *j, const char *region, bool json, const char **content_type)
{
    if (json) {
        tree_out *t = tree_json();
        t_text(t, "EventName", "TaskFinish");
        render_job(t, j, region);
        json_t *o = tree_json_take(t);
        /* JobsDetail is a single object in a callback, not a list */
        json_t *arr = json_object_get(o, "JobsDetail");
        if (json_is_array(arr) && json_array_size(arr) == 1)
            json_object_set(o, "JobsDetail", json_array_get(arr, 0));
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        *content_type = "application/json";
        char *copy = xstrdup(s ? s : "{}");
        free(s);
        return copy;
    }
    buf b;
    buf_init(&b);
    xml_writer w = {&b};
    xw_decl(&w);
    xw_open(&w, "Response");
    xw_text_elem(&w, "EventName", "TaskFinish");
    tree_out *t = tree_xml(&w);
    render_job(t, j, region);
    tree_free(t);
    xw_close(&w, "Response");
    *content_type = "application/xml";
    return buf_steal(&b);
}
