/* test_store_basic.c — the store against a real database (SQLite file or PostgreSQL database, see
 * store_fixture.h): state names, buckets and their default queue, queue update/list, job round trip,
 * every list filter, pagination under concurrent inserts (from this handle and from other nodes'),
 * cancel and finish rules. */
#include "store_fixture.h"

#include <pthread.h>

/* ---- pure parts ---- */

static void test_state_names(void **state)
{
    (void)state;
    const char *names[] = {"Submitted", "Running", "Success", "Failed", "Pause", "Cancel"};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(job_state_name((job_state)i), names[i]);
        job_state s;
        assert_true(job_state_parse(names[i], &s));
        assert_int_equal(s, i);
    }
    job_state s;
    assert_false(job_state_parse("running", &s));
    assert_false(job_state_parse("", &s));
    assert_false(job_state_parse(NULL, &s));
}

static void test_job_init_defaults(void **state)
{
    (void)state;
    store_job j;
    memset(&j, 0x5a, sizeof j);
    store_job_init(&j);
    assert_int_equal(j.params.channel_num, 1);
    assert_string_equal(j.params.output_file_type, "txt");
    assert_string_equal(j.code, "Success");
    assert_string_equal(j.tag, "SpeechRecognition");
    assert_int_equal(j.state, JOB_SUBMITTED);
    assert_null(j.result);
    assert_null(j.result_detail);
    assert_int_equal(j.seq, 0);
    assert_string_equal(j.id, "");
    store_job_clear(&j);
}

/* ---- buckets ---- */

static void test_bucket_open_is_idempotent_with_default_queue(void **state)
{
    fixture *f = *state;
    const store_queue *q = &f->qa;
    assert_true(ids_valid(q->id, "p"));
    assert_string_equal(q->bucket, BUCKET_A);
    assert_string_equal(q->name, "asr-queue");
    assert_string_equal(q->state, "Active");
    assert_int_equal(q->max_size, 10000);
    assert_int_equal(q->max_concurrent, 10);
    assert_string_equal(q->notify_event, "TaskFinish");
    assert_string_equal(q->notify_type, "Url");
    assert_string_equal(q->notify_state, "Off");
    assert_string_equal(q->notify_format, "XML");
    assert_true(q->create_ms > 0);

    store_queue again;
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &again);
    assert_string_equal(again.id, q->id);
    fx_restart(f);
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &again);
    assert_string_equal(again.id, q->id);
    assert_string_not_equal(f->qb.id, q->id);

    store_queue_filter qf = {.bucket = BUCKET_A, .page_number = 1, .page_size = 10};
    store_queue list[10];
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(total, 1);

    store_bucket b;
    assert_int_equal(store_bucket_get(f->st, BUCKET_A, &b), STORE_OK);
    assert_string_equal(b.appid, APPID);
    assert_string_equal(b.region, "ap-chongqing");
}

static void test_bucket_close_keeps_queue_for_reopen(void **state)
{
    fixture *f = *state;
    char id[40];
    fx_insert(f->st, &f->qa, 0, 0, id);
    assert_int_equal(store_bucket_close(f->st, BUCKET_A), STORE_OK);
    store_bucket b;
    assert_int_equal(store_bucket_get(f->st, BUCKET_A, &b), STORE_NOT_FOUND);
    assert_int_equal(store_bucket_close(f->st, BUCKET_A), STORE_NOT_FOUND);
    /* jobs stay for history */
    assert_int_equal(fx_state_of(f->st, BUCKET_A, id), JOB_SUBMITTED);
    store_queue q;
    fx_open_bucket(f->st, BUCKET_A, "ap-chongqing", &q);
    assert_string_equal(q.id, f->qa.id);
}

static void test_bucket_list_filters_and_pages(void **state)
{
    fixture *f = *state;
    char name[64];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "gamma%d-%s", i, APPID);
        fx_open_bucket(f->st, name, i % 2 ? "ap-beijing" : "ap-guangzhou", NULL);
    }
    store_bucket other;
    memset(&other, 0, sizeof other);
    strlcpy_ok(other.name, "zeta-1300000000", sizeof other.name);
    strlcpy_ok(other.appid, "1300000000", sizeof other.appid);
    assert_int_equal(store_bucket_open(f->st, &other, NULL), STORE_OK);

    store_bucket out[100];
    size_t n = 0;
    int64_t total = 0;
    store_bucket_filter bf = {.appid = APPID, .page_number = 1, .page_size = 100};
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 9); /* alpha, beta, gamma0..6; not the other appid's */
    assert_int_equal(n, 9);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(out[i - 1].name, out[i].name) < 0);

    bf.regions = "ap-beijing"; /* beta + gamma1,3,5 */
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 4);
    assert_int_equal(n, 4);
    bf.regions = "ap-shanghai,ap-beijing"; /* a list: every region named (ap-beij is not ap-beijing) */
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 4);
    bf.regions = "ap-beij,ap-chongqing";   /* alpha only */
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 1);

    bf.regions = "";
    bf.name_prefix = "gamma";
    bf.page_size = 3;
    bf.page_number = 3;
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 7);
    assert_int_equal(n, 1);
    snprintf(name, sizeof name, "gamma6-%s", APPID);
    assert_string_equal(out[0].name, name);

    bf.name_prefix = NULL;
    bf.names = BUCKET_B;
    bf.page_number = 1;
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 1);
    assert_string_equal(out[0].name, BUCKET_B);
    /* names are whole names: a prefix of one matches nothing; several are all found */
    char names[256];
    snprintf(names, sizeof names, "gamma2-%s,gamma-%s,%s", APPID, APPID, BUCKET_B);
    bf.names = names;
    assert_int_equal(store_bucket_list(f->st, &bf, out, &n, &total), STORE_OK);
    assert_int_equal(total, 2);
}

/* ---- queues ---- */

static void test_queue_update_get_list(void **state)
{
    fixture *f = *state;
    store_queue q = f->qa;
    strlcpy_ok(q.name, "renamed", sizeof q.name);
    strlcpy_ok(q.state, "Paused", sizeof q.state);
    strlcpy_ok(q.notify_url, "http://127.0.0.1:9/cb", sizeof q.notify_url);
    strlcpy_ok(q.notify_state, "On", sizeof q.notify_state);
    strlcpy_ok(q.notify_format, "JSON", sizeof q.notify_format);
    q.max_size = 1; /* not an updatable field */
    q.update_ms = q.create_ms + 5000;
    assert_int_equal(store_queue_update(f->st, &q), STORE_OK);

    store_queue got;
    assert_int_equal(store_queue_get(f->st, q.id, &got), STORE_OK);
    assert_string_equal(got.name, "renamed");
    assert_string_equal(got.state, "Paused");
    assert_string_equal(got.notify_url, "http://127.0.0.1:9/cb");
    assert_string_equal(got.notify_state, "On");
    assert_string_equal(got.notify_format, "JSON");
    assert_int_equal(got.max_size, 10000);
    assert_int_equal(got.update_ms, q.create_ms + 5000);
    assert_int_equal(got.create_ms, f->qa.create_ms);

    /* matched by id AND bucket */
    store_queue wrong = q;
    strlcpy_ok(wrong.bucket, BUCKET_B, sizeof wrong.bucket);
    assert_int_equal(store_queue_update(f->st, &wrong), STORE_NOT_FOUND);
    assert_int_equal(store_queue_get(f->st, "p00000000000000000000000000000000", &got), STORE_NOT_FOUND);

    store_queue list[10];
    size_t n = 0;
    int64_t total = 0;
    store_queue_filter qf = {.bucket = BUCKET_A, .state = "Paused", .page_number = 1, .page_size = 10};
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, q.id);
    qf.state = "Active";
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    qf.state = "All";
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 1);
    qf.page_number = 2; /* past the end: empty page, total still counts */
    qf.page_size = 1;
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 1);
    qf.bucket = "nobody-" APPID;
    qf.page_number = 1;
    assert_int_equal(store_queue_list(f->st, &qf, list, &n, &total), STORE_OK);
    assert_int_equal(n, 0);
}

/* ---- jobs ---- */

static void fill_every_field(store_job *j, const store_queue *q)
{
    fx_job(j, q, 2, 1600000000123);
    strlcpy_ok(j->input_url, "http://example.com/a.wav", sizeof j->input_url);
    strlcpy_ok(j->template_id, "t1aaaa", sizeof j->template_id);
    strlcpy_ok(j->template_name, "tpl", sizeof j->template_name);
    job_params *p = &j->params;
    strlcpy_ok(p->engine_model_type, "16k_zh", sizeof p->engine_model_type);
    p->channel_num = 2;
    p->res_text_format = 3;
    p->filter_dirty = 1;
    p->filter_modal = 2;
    p->filter_punc = 1;
    p->convert_num_mode = 3;
    p->speaker_diarization = 1;
    p->speaker_number = 4;
    p->sentence_max_length = 20;
    strlcpy_ok(p->output_file_type, "srt", sizeof p->output_file_type);
    strlcpy_ok(p->hot_vocabulary_table_id, "hot1", sizeof p->hot_vocabulary_table_id);
    strlcpy_ok(p->flash_asr, "true", sizeof p->flash_asr);
    strlcpy_ok(p->format, "mp3", sizeof p->format);
    strlcpy_ok(p->first_channel_only, "1", sizeof p->first_channel_only);
    strlcpy_ok(p->word_info, "2", sizeof p->word_info);
    strlcpy_ok(p->prompt, "Kennedy, Americans", sizeof p->prompt);
    p->translate = 1;
    strlcpy_ok(j->output_region, "ap-beijing", sizeof j->output_region);
    strlcpy_ok(j->output_bucket, BUCKET_B, sizeof j->output_bucket);
    strlcpy_ok(j->output_object, "out/\xe4\xbd\xa0\xe5\xa5\xbd.txt", sizeof j->output_object);
    strlcpy_ok(j->user_data, "user 'data' \"quoted\" <x> \\ {a,\"b\"} NULL , ", sizeof j->user_data);
    strlcpy_ok(j->callback, "http://cb.example/x?y=1", sizeof j->callback);
    strlcpy_ok(j->callback_format, "JSON", sizeof j->callback_format);
}

static void assert_jobs_equal(const store_job *a, const store_job *b)
{
    assert_int_equal(a->seq, b->seq);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->tag, b->tag);
    assert_string_equal(a->bucket, b->bucket);
    assert_string_equal(a->region, b->region);
    assert_string_equal(a->queue_id, b->queue_id);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->code, b->code);
    assert_string_equal(a->message, b->message);
    assert_int_equal(a->create_ms, b->create_ms);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_int_equal(a->end_ms, b->end_ms);
    assert_int_equal(a->job_level, b->job_level);
    assert_string_equal(a->input_object, b->input_object);
    assert_string_equal(a->input_url, b->input_url);
    assert_string_equal(a->template_id, b->template_id);
    assert_string_equal(a->template_name, b->template_name);
    assert_memory_equal(&a->params.channel_num, &b->params.channel_num, sizeof(int) * 9);
    assert_string_equal(a->params.engine_model_type, b->params.engine_model_type);
    assert_string_equal(a->params.output_file_type, b->params.output_file_type);
    assert_string_equal(a->params.hot_vocabulary_table_id, b->params.hot_vocabulary_table_id);
    assert_string_equal(a->params.flash_asr, b->params.flash_asr);
    assert_string_equal(a->params.format, b->params.format);
    assert_string_equal(a->params.first_channel_only, b->params.first_channel_only);
    assert_string_equal(a->params.word_info, b->params.word_info);
    assert_string_equal(a->params.prompt, b->params.prompt);
    assert_int_equal(a->params.translate, b->params.translate);
    assert_string_equal(a->output_region, b->output_region);
    assert_string_equal(a->output_bucket, b->output_bucket);
    assert_string_equal(a->output_object, b->output_object);
    assert_string_equal(a->user_data, b->user_data);
    assert_string_equal(a->callback, b->callback);
    assert_string_equal(a->callback_format, b->callback_format);
    assert_string_equal(a->callback_type, b->callback_type);
    assert_int_equal(a->attempts, b->attempts);
    assert_true(a->audio_time == b->audio_time);
    if (a->result || b->result)
        assert_string_equal(a->result, b->result);
    if (a->result_detail || b->result_detail)
        assert_string_equal(a->result_detail, b->result_detail);
    assert_string_equal(a->object_name, b->object_name);
    assert_string_equal(a->detail_object_name, b->detail_object_name);
    assert_string_equal(a->owner, b->owner);
    assert_int_equal(a->lease_until_ms, b->lease_until_ms);
    assert_int_equal(a->staged, b->staged);
    assert_string_equal(a->output_content_type, b->output_content_type);
    if (a->output_body || b->output_body)
        assert_string_equal(a->output_body, b->output_body);
}

static void test_job_round_trip_every_field(void **state)
{
    fixture *f = *state;
    store_job j;
    fill_every_field(&j, &f->qa);
    j.state = JOB_SUCCESS; /* ignored: an insert is always Submitted */
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    assert_int_equal(j.state, JOB_SUBMITTED);

    store_job got;
    assert_int_equal(store_job_get(f->st, BUCKET_A, j.id, &got), STORE_OK);
    assert_jobs_equal(&j, &got);
    assert_null(got.result);
    store_job_clear(&got);

    fx_restart(f);
    assert_int_equal(store_job_get(f->st, BUCKET_A, j.id, &got), STORE_OK);
    assert_jobs_equal(&j, &got);
    store_job_clear(&got);
}

static void test_job_insert_refusals(void **state)
{
    fixture *f = *state;
    store_job j;
    fx_job(&j, &f->qa, 0, 0);
    strlcpy_ok(j.queue_id, "p0123456789abcdef0123456789abcdef", sizeof j.queue_id);
    assert_int_equal(store_job_insert(f->st, &j), STORE_NOT_FOUND);
    assert_int_equal(j.seq, 0);
    assert_true(strlen(store_last_error()) > 0);

    /* a queue of another bucket is not this bucket's queue */
    fx_job(&j, &f->qa, 0, 0);
    strlcpy_ok(j.queue_id, f->qb.id, sizeof j.queue_id);
    assert_int_equal(store_job_insert(f->st, &j), STORE_NOT_FOUND);

    /* the same id twice */
    fx_job(&j, &f->qa, 0, 0);
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    store_job dup;
    fx_job(&dup, &f->qa, 0, 0);
    memcpy(dup.id, j.id, sizeof dup.id);
    assert_int_equal(store_job_insert(f->st, &dup), STORE_CONFLICT);

    store_job got;
    assert_int_equal(store_job_get(f->st, BUCKET_B, j.id, &got), STORE_NOT_FOUND);
    assert_int_equal(store_job_get(f->st, BUCKET_A, "s0123", &got), STORE_NOT_FOUND);
    int64_t count = -1;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &count), STORE_OK);
    assert_int_equal(count, 1);
}

/* Lists everything a filter matches, page by page; returns the number of jobs, seqs in *seqs. */
static size_t list_all(store *st, store_job_filter f, int64_t *seqs, size_t cap)
{
    size_t total = 0;
    f.after_seq = 0;
    for (int guard = 0; guard < 10000; guard++) {
        store_job page[100];
        size_t n = 0;
        int64_t next = -1;
        assert_int_equal(store_job_list(st, &f, page, &n, &next), STORE_OK);
        assert_true(n <= (size_t)f.size);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(page[i].bucket, f.bucket);
            if (total < cap)
                seqs[total] = page[i].seq;
            total++;
            store_job_clear(&page[i]);
        }
        if (next == 0)
            return total;
        assert_int_equal(n, f.size);
        f.after_seq = next;
    }
    fail_msg("pagination did not end");
    return 0;
}

static void test_job_list_filters(void **state)
{
    fixture *f = *state;
    char ids[10][40];
    int64_t seqs[10];
    for (int i = 0; i < 10; i++)
        seqs[i] = fx_insert(f->st, &f->qa, 0, 1000 * (i + 1), ids[i]);

    /* states: 0,1 Running (claimed first, level 0 FIFO), 2 Success, 3 Cancel */
    store_job j;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_OK);
        store_job_clear(&j);
    }
    /* another bucket: never listed under A (added after the claims, which would take turns) */
    fx_insert(f->st, &f->qb, 0, 1500, NULL);
    store_job done;
    assert_int_equal(store_job_get(f->st, BUCKET_A, ids[2], &done), STORE_OK);
    fx_succeed(f->st, &done);
    store_job_clear(&done);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, ids[3], time_now_ms(), NULL), STORE_OK);

    int64_t got[32];
    store_job_filter jf = {.bucket = BUCKET_A, .size = 3, .descending = true};
    assert_int_equal(list_all(f->st, jf, got, 32), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(got[i], seqs[9 - i]);
    jf.descending = false;
    assert_int_equal(list_all(f->st, jf, got, 32), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(got[i], seqs[i]);

    jf.state_mask = 1u << JOB_RUNNING;
    assert_int_equal(list_all(f->st, jf, got, 32), 2);
    assert_int_equal(got[0], seqs[0]);
    assert_int_equal(got[1], seqs[1]);
    jf.state_mask = (1u << JOB_SUCCESS) | (1u << JOB_CANCEL);
    assert_int_equal(list_all(f->st, jf, got, 32), 2);
    assert_int_equal(got[0], seqs[2]);
    assert_int_equal(got[1], seqs[3]);
    jf.state_mask = 1u << JOB_SUBMITTED;
    assert_int_equal(list_all(f->st, jf, got, 32), 6);
    jf.state_mask = 1u << JOB_FAILED;
    assert_int_equal(list_all(f->st, jf, got, 32), 0);
    jf.state_mask = 0;

    jf.queue_id = f->qa.id;
    assert_int_equal(list_all(f->st, jf, got, 32), 10);
    jf.queue_id = f->qb.id;
    assert_int_equal(list_all(f->st, jf, got, 32), 0);
    jf.queue_id = NULL;
    jf.tag = "SpeechRecognition";
    assert_int_equal(list_all(f->st, jf, got, 32), 10);
    jf.tag = "Other";
    assert_int_equal(list_all(f->st, jf, got, 32), 0);
    jf.tag = NULL;

    jf.start_create_ms = 3000; /* inclusive range 3000..6000 -> jobs 2..5 */
    jf.end_create_ms = 6000;
    assert_int_equal(list_all(f->st, jf, got, 32), 4);
    assert_int_equal(got[0], seqs[2]);
    assert_int_equal(got[3], seqs[5]);
    jf.end_create_ms = 0;
    assert_int_equal(list_all(f->st, jf, got, 32), 8);
    jf.start_create_ms = 0;
    jf.end_create_ms = 2000;
    jf.descending = true;
    assert_int_equal(list_all(f->st, jf, got, 32), 2);
    assert_int_equal(got[0], seqs[1]);

    /* an exact-size last page says there is no further page */
    store_job page[100];
    size_t n;
    int64_t next = -1;
    store_job_filter exact = {.bucket = BUCKET_A, .size = 10, .descending = true};
    assert_int_equal(store_job_list(f->st, &exact, page, &n, &next), STORE_OK);
    assert_int_equal(n, 10);
    assert_int_equal(next, 0);
    for (size_t i = 0; i < n; i++)
        store_job_clear(&page[i]);
}

typedef struct inserter {
    store *st;
    const store_queue *q;
    int count;
    int done;             /* inserts that returned (committed) */
    int64_t *seqs;        /* count of them */
    pthread_mutex_t mu;
} inserter;

static void *insert_thread(void *arg)
{
    inserter *in = arg;
    for (;;) {
        pthread_mutex_lock(&in->mu);
        int i = in->done < in->count ? in->done++ : -1; /* claims slot i; done counts started ones */
        pthread_mutex_unlock(&in->mu);
        if (i < 0)
            return NULL;
        store_job j;
        fx_job(&j, in->q, i % 3, 0);
        if (store_job_insert(in->st, &j) != STORE_OK)
            return (void *)1;
        __atomic_store_n(&in->seqs[i], j.seq, __ATOMIC_RELEASE);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum { INSERTERS = 3, THREADS_PER_INSERTER = 3 };

static bool all_committed(inserter *ins)
{
    for (int i = 0; i < INSERTERS; i++)
        for (int k = 0; k < ins[i].count; k++)
            if (__atomic_load_n(&ins[i].seqs[k], __ATOMIC_ACQUIRE) == 0)
                return false;
    return true;
}

/* Lists page by page while the inserters run. Descending: once through. Ascending: like tail -f,
 * following the newest jobs until every insert has returned, then one page more. Returns the seqs
 * seen, sorted. */
static size_t list_during(store *st, bool descending, inserter *ins, int64_t **seen)
{
    enum { CAP = 4000 };
    int64_t *out = xcalloc(CAP, sizeof *out);
    size_t total = 0;
    store_job_filter f = {.bucket = BUCKET_A, .size = 7, .descending = descending};
    for (int guard = 0; guard < 200000; guard++) {
        bool finished = all_committed(ins);
        store_job page[100];
        size_t n = 0;
        int64_t next = -1;
        assert_int_equal(store_job_list(st, &f, page, &n, &next), STORE_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(total < CAP);
            out[total++] = page[i].seq;
            store_job_clear(&page[i]);
        }
        if (next != 0) {
            f.after_seq = next;
            continue;
        }
        if (descending || finished)
            break;
        if (n > 0)
            f.after_seq = out[total - 1];
        usleep(200);
    }
    qsort(out, total, sizeof *out, cmp_i64);
    *seen = out;
    return total;
}

/* Every job present before paging starts is seen exactly once, both directions, while other
 * handles (other nodes: separate connections, concurrent transactions, group-committed batches) and
 * this one keep inserting into two queues of the bucket. Paging upward and following the newest
 * jobs sees every job: one committing late never has a lower seq than one a page already showed
 * (see store_pg.c). */
static void test_pagination_stable_under_concurrent_inserts(void **state)
{
    fixture *f = *state;
    enum { BEFORE = 250, DURING = 150 };
    store_queue q2 = f->qa;
    strlcpy_ok(q2.id, "p0000000000000000000000000000000a", sizeof q2.id);
    char sql[300];
    snprintf(sql, sizeof sql,
             "INSERT INTO queues(id, bucket, name, state, max_size, max_concurrent, create_ms, update_ms)"
             " VALUES('%s', '%s', 'second', 'Active', 10000, 10, 1, 1)",
             q2.id, BUCKET_A);
    fx_sql(f, sql);
    int64_t before[BEFORE];
    for (int i = 0; i < BEFORE; i++)
        before[i] = fx_insert(f->st, &f->qa, 0, 0, NULL);
    for (int dir = 0; dir < 2; dir++) {
        inserter ins[INSERTERS];
        pthread_t t[INSERTERS][THREADS_PER_INSERTER];
        for (int i = 0; i < INSERTERS; i++) {
            ins[i] = (inserter){.st = i == 0 ? f->st : fx_open(f), .q = i % 2 ? &q2 : &f->qa, .count = DURING};
            ins[i].seqs = xcalloc(DURING, sizeof(int64_t));
            pthread_mutex_init(&ins[i].mu, NULL);
        }
        for (int i = 0; i < INSERTERS; i++)
            for (int k = 0; k < THREADS_PER_INSERTER; k++)
                pthread_create(&t[i][k], NULL, insert_thread, &ins[i]);
        int64_t *seen = NULL;
        size_t n = list_during(f->st, dir == 0, ins, &seen);
        for (int i = 0; i < INSERTERS; i++) {
            for (int k = 0; k < THREADS_PER_INSERTER; k++) {
                void *rc;
                pthread_join(t[i][k], &rc);
                assert_null(rc);
            }
        }
        assert_true(n >= BEFORE);
        for (size_t i = 1; i < n; i++)
            assert_true(seen[i] != seen[i - 1]); /* no duplicates */
        for (int i = 0; i < BEFORE; i++)
            assert_non_null(bsearch(&before[i], seen, n, sizeof *seen, cmp_i64));
        if (dir == 1) {
            int missing = 0;
            for (int i = 0; i < INSERTERS; i++)
                for (int k = 0; k < DURING; k++)
                    if (!bsearch(&ins[i].seqs[k], seen, n, sizeof *seen, cmp_i64))
                        missing++;
            if (missing)
                fail_msg("%d jobs committed while paging upward were never listed", missing);
        }
        for (int i = 0; i < INSERTERS; i++) {
            if (i > 0)
                store_close(ins[i].st);
            pthread_mutex_destroy(&ins[i].mu);
            free(ins[i].seqs);
        }
        free(seen);
    }
}

/* ---- cancel and finish ---- */

static void test_cancel_rules(void **state)
{
    fixture *f = *state;
    char waiting[40], running[40];
    fx_insert(f->st, &f->qa, 0, 0, running);
    fx_insert(f->st, &f->qa, 0, 0, waiting);
    store_job j;
    assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_OK);
    assert_string_equal(j.id, running);
    store_job_clear(&j);

    assert_int_equal(store_job_cancel(f->st, BUCKET_B, waiting, 5, NULL), STORE_NOT_FOUND);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, "s-missing", 5, NULL), STORE_NOT_FOUND);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, running, 5, NULL), STORE_CONFLICT);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, waiting, 1234567, NULL), STORE_OK);
    assert_int_equal(store_job_get(f->st, BUCKET_A, waiting, &j), STORE_OK);
    assert_int_equal(j.state, JOB_CANCEL);
    assert_int_equal(j.end_ms, 1234567);
    store_job_clear(&j);
    assert_int_equal(store_job_cancel(f->st, BUCKET_A, waiting, 5, NULL), STORE_CONFLICT);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, running), JOB_RUNNING);
    /* a cancelled job is never claimed */
    assert_int_equal(fx_claim(f->st, time_now_ms(), &j), STORE_NOT_FOUND);
    /* the waiting counter followed: the queue admits up to MaxSize again (checked via a claim-free
     * count of its Submitted jobs) */
    int64_t n = -1;
    assert_int_equal(store_job_count(f->st, f->qa.id, JOB_SUBMITTED, &n), STORE_OK);
    assert_int_equal(n, 0);
}

static void test_finish_rules(void **state)
{
    fixture *f = *state;
    char a[40], b[40], never[40];
    fx_insert(f->st, &f->qa, 0, 0, a);
    fx_insert(f->st, &f->qa, 0, 0, b);
    fx_insert(f->st, &f->qa, 0, 0, never);
    store_job ja, jb;
    assert_int_equal(fx_claim(f->st, 111, &ja), STORE_OK);
    assert_int_equal(fx_claim(f->st, 222, &jb), STORE_OK);
    assert_string_equal(ja.id, a);
    assert_int_equal(ja.state, JOB_RUNNING);
    assert_int_equal(ja.start_ms, 111);
    assert_int_equal(ja.attempts, 1);
    assert_string_equal(ja.owner, FX_NODE);
    assert_int_equal(ja.lease_until_ms, 111 + FX_LEASE_MS);
    assert_false(ja.staged);

    /* Success needs a staged result: refused (a caller bug), nothing changes */
    ja.state = JOB_SUCCESS;
    ja.end_ms = 999;
    assert_int_equal(store_job_finish(f->st, &ja, NULL), STORE_ERROR);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, a), JOB_RUNNING);

    ja.audio_time = 30.12;
    ja.result = xstrdup("[0:0.000,0:30.080]  hello world");
    ja.result_detail = xstrdup("[{\"FinalSentence\":\"hello world\"}]");
    ja.output_body = xstrdup("hello world\n");
    strlcpy_ok(ja.output_content_type, "text/plain", sizeof ja.output_content_type);
    strlcpy_ok(ja.object_name, "out/a.txt", sizeof ja.object_name);
    strlcpy_ok(ja.detail_object_name, "out/a.txt.detail", sizeof ja.detail_object_name);
    assert_int_equal(store_job_stage(f->st, &ja), STORE_OK);
    assert_true(ja.staged);
    store_job got;
    assert_int_equal(store_job_get(f->st, BUCKET_A, a, &got), STORE_OK);
    assert_int_equal(got.state, JOB_RUNNING);
    ja.state = JOB_RUNNING;
    ja.end_ms = 0;
    assert_jobs_equal(&ja, &got); /* staged: the result and the output body are recorded */
    store_job_clear(&got);

    ja.state = JOB_SUCCESS;
    ja.end_ms = 999;
    assert_int_equal(store_job_finish(f->st, &ja, NULL), STORE_OK);
    assert_int_equal(store_job_get(f->st, BUCKET_A, a, &got), STORE_OK);
    assert_int_equal(got.state, JOB_SUCCESS);
    assert_int_equal(got.end_ms, 999);
    assert_int_equal(got.lease_until_ms, 0);
    assert_null(got.output_body); /* not needed once the job has ended */
    assert_string_equal(got.result, ja.result);
    assert_string_equal(got.result_detail, ja.result_detail);
    assert_true(got.audio_time == 30.12);
    assert_string_equal(got.object_name, "out/a.txt");
    store_job_clear(&got);
    /* only a Running job can finish */
    assert_int_equal(store_job_finish(f->st, &ja, NULL), STORE_CONFLICT);
    store_job_clear(&ja);

    jb.state = JOB_FAILED;
    strlcpy_ok(jb.code, "InvalidAudio", sizeof jb.code);
    strlcpy_ok(jb.message, "cannot decode the input", sizeof jb.message);
    jb.end_ms = 333;
    assert_int_equal(store_job_finish(f->st, &jb, NULL), STORE_OK);
    assert_int_equal(store_job_get(f->st, BUCKET_A, b, &got), STORE_OK);
    assert_int_equal(got.state, JOB_FAILED);
    assert_string_equal(got.code, "InvalidAudio");
    assert_string_equal(got.message, "cannot decode the input");
    assert_int_equal(got.end_ms, 333);
    assert_null(got.result);

    /* a Submitted job, a missing one, another bucket's one, a non-final state */
    got.state = JOB_FAILED;
    strlcpy_ok(got.id, never, sizeof got.id);
    assert_int_equal(store_job_finish(f->st, &got, NULL), STORE_CONFLICT);
    strlcpy_ok(got.id, "s-missing", sizeof got.id);
    assert_int_equal(store_job_finish(f->st, &got, NULL), STORE_NOT_FOUND);
    strlcpy_ok(got.id, b, sizeof got.id);
    strlcpy_ok(got.bucket, BUCKET_B, sizeof got.bucket);
    assert_int_equal(store_job_finish(f->st, &got, NULL), STORE_NOT_FOUND);
    strlcpy_ok(got.bucket, BUCKET_A, sizeof got.bucket);
    got.state = JOB_SUBMITTED;
    assert_int_equal(store_job_finish(f->st, &got, NULL), STORE_ERROR);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, never), JOB_SUBMITTED);
    store_job_clear(&got);
}

/* A shared setting: the first value stored wins, every later caller (another node, a restart)
 * reads it back instead of its own. */
static void test_setting_first_value_wins(void **state)
{
    fixture *f = *state;
    char out[80] = "";
    assert_int_equal(store_setting_init(f->st, "token_key", "first", out, sizeof out), STORE_OK);
    assert_string_equal(out, "first");
    assert_int_equal(store_setting_init(f->st, "token_key", "second", out, sizeof out), STORE_OK);
    assert_string_equal(out, "first");
    fx_restart(f);
    assert_int_equal(store_setting_init(f->st, "token_key", "third", out, sizeof out), STORE_OK);
    assert_string_equal(out, "first");
    assert_int_equal(store_setting_init(f->st, "other", "x", out, sizeof out), STORE_OK);
    assert_string_equal(out, "x");
    assert_int_equal(store_setting_init(f->st, "", "x", out, sizeof out), STORE_ERROR);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_setting_first_value_wins, fx_setup, fx_teardown),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_job_init_defaults),
        cmocka_unit_test_setup_teardown(test_bucket_open_is_idempotent_with_default_queue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bucket_close_keeps_queue_for_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bucket_list_filters_and_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_update_get_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_round_trip_every_field, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_insert_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_list_filters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pagination_stable_under_concurrent_inserts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_rules, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_finish_rules, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
