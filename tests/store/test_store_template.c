/* test_store_template.c — templates in the store against a real database (either backend): every parameter round
 * trips, bucket isolation, duplicate names refused without a change, update as a full replace that
 * keeps id and creation time, delete, listing (newest first, ids and name-prefix filters, total
 * before paging), surviving a restart, and the schema migration that adds the table to a version-3
 * database (SQLite). */
#include "store_fixture.h"


/* A template of bucket with every parameter set away from its default. */
static void tpl_make(store_template *t, const char *bucket, const char *name)
{
    memset(t, 0, sizeof *t);
    ids_new(t->id, "t1");
    strlcpy_ok(t->bucket, bucket, sizeof t->bucket);
    strlcpy_ok(t->name, name, sizeof t->name);
    job_params *p = &t->params;
    strlcpy_ok(p->engine_model_type, "16k_zh", sizeof p->engine_model_type);
    p->channel_num = 2;
    p->res_text_format = 3;
    p->filter_dirty = 1;
    p->filter_modal = 2;
    p->filter_punc = 1;
    p->convert_num_mode = 3;
    p->speaker_diarization = 1;
    p->speaker_number = 4;
    p->sentence_max_length = 12;
    strlcpy_ok(p->output_file_type, "srt", sizeof p->output_file_type);
    strlcpy_ok(p->hot_vocabulary_table_id, "h0123456789abcdef0123456789abcdef", sizeof p->hot_vocabulary_table_id);
    strlcpy_ok(p->flash_asr, "false", sizeof p->flash_asr);
    strlcpy_ok(p->format, "mp3", sizeof p->format);
    strlcpy_ok(p->first_channel_only, "1", sizeof p->first_channel_only);
    strlcpy_ok(p->word_info, "2", sizeof p->word_info);
    strlcpy_ok(p->prompt, "Kennedy, Americans", sizeof p->prompt);
    p->translate = 1;
}

static void assert_same_params(const job_params *a, const job_params *b)
{
    assert_string_equal(a->engine_model_type, b->engine_model_type);
    assert_int_equal(a->channel_num, b->channel_num);
    assert_int_equal(a->res_text_format, b->res_text_format);
    assert_int_equal(a->filter_dirty, b->filter_dirty);
    assert_int_equal(a->filter_modal, b->filter_modal);
    assert_int_equal(a->filter_punc, b->filter_punc);
    assert_int_equal(a->convert_num_mode, b->convert_num_mode);
    assert_int_equal(a->speaker_diarization, b->speaker_diarization);
    assert_int_equal(a->speaker_number, b->speaker_number);
    assert_int_equal(a->sentence_max_length, b->sentence_max_length);
    assert_string_equal(a->output_file_type, b->output_file_type);
    assert_string_equal(a->hot_vocabulary_table_id, b->hot_vocabulary_table_id);
    assert_string_equal(a->flash_asr, b->flash_asr);
    assert_string_equal(a->format, b->format);
    assert_string_equal(a->first_channel_only, b->first_channel_only);
    assert_string_equal(a->word_info, b->word_info);
    assert_string_equal(a->prompt, b->prompt);
    assert_int_equal(a->translate, b->translate);
}

static void insert_ok(store *st, store_template *t, int64_t create_ms)
{
    t->create_ms = t->update_ms = create_ms;
    assert_int_equal(store_template_insert(st, t), STORE_OK);
    assert_true(t->seq > 0);
}

static int64_t count_in(store *st, const char *bucket)
{
    store_template_filter f = {.bucket = bucket, .page_number = 1, .page_size = 1};
    store_template one;
    size_t n = 0;
    int64_t total = -1;
    assert_int_equal(store_template_list(st, &f, &one, &n, &total), STORE_OK);
    return total;
}

static void test_round_trip_keeps_every_parameter(void **state)
{
    fixture *f = *state;
    store_template t, got;
    tpl_make(&t, BUCKET_A, "模板_tpl-1*");
    insert_ok(f->st, &t, 1600000000000);

    assert_int_equal(store_template_get(f->st, BUCKET_A, t.id, &got), STORE_OK);
    assert_int_equal(got.seq, t.seq);
    assert_string_equal(got.id, t.id);
    assert_string_equal(got.bucket, BUCKET_A);
    assert_string_equal(got.name, "模板_tpl-1*");
    assert_int_equal(got.create_ms, 1600000000000);
    assert_int_equal(got.update_ms, 1600000000000);
    assert_same_params(&got.params, &t.params);

    /* another bucket's template is not there, nor is an unknown id */
    assert_int_equal(store_template_get(f->st, BUCKET_B, t.id, &got), STORE_NOT_FOUND);
    assert_int_equal(store_template_get(f->st, BUCKET_A, "t1ffffffffffffffffffffffffffffffff", &got), STORE_NOT_FOUND);

    /* defaults (empty strings, zeros) come back as given, not replaced */
    store_template d;
    tpl_make(&d, BUCKET_A, "defaults");
    memset(&d.params, 0, sizeof d.params);
    d.params.channel_num = 1;
    insert_ok(f->st, &d, 0);
    assert_int_equal(store_template_get(f->st, BUCKET_A, d.id, &got), STORE_OK);
    assert_same_params(&got.params, &d.params);
    assert_true(got.create_ms > 0); /* 0 means "now" */
    assert_true(got.seq > t.seq);
}

static void test_duplicate_names_are_conflicts_that_store_nothing(void **state)
{
    fixture *f = *state;
    store_template a, dup, other, got;
    tpl_make(&a, BUCKET_A, "same");
    insert_ok(f->st, &a, 0);

    tpl_make(&dup, BUCKET_A, "same");
    dup.params.channel_num = 1;
    assert_int_equal(store_template_insert(f->st, &dup), STORE_CONFLICT);
    assert_non_null(strstr(store_last_error(), "template name \"same\" already exists"));
    assert_int_equal(store_template_get(f->st, BUCKET_A, dup.id, &got), STORE_NOT_FOUND);
    assert_int_equal(count_in(f->st, BUCKET_A), 1);

    /* names differing only in case are different names; another bucket may reuse a name */
    tpl_make(&other, BUCKET_A, "Same");
    insert_ok(f->st, &other, 0);
    tpl_make(&other, BUCKET_B, "same");
    insert_ok(f->st, &other, 0);

    /* the same id twice is refused too */
    store_template again = a;
    strlcpy_ok(again.name, "fresh", sizeof again.name);
    assert_int_equal(store_template_insert(f->st, &again), STORE_CONFLICT);
    assert_int_equal(count_in(f->st, BUCKET_A), 2);
}

static void test_update_replaces_everything_but_id_and_creation(void **state)
{
    fixture *f = *state;
    store_template t, other, got;
    tpl_make(&t, BUCKET_A, "before");
    insert_ok(f->st, &t, 1600000000000);
    tpl_make(&other, BUCKET_A, "taken");
    insert_ok(f->st, &other, 0);

    store_template u;
    memset(&u, 0, sizeof u);
    strlcpy_ok(u.id, t.id, sizeof u.id);
    strlcpy_ok(u.bucket, BUCKET_A, sizeof u.bucket);
    strlcpy_ok(u.name, "after", sizeof u.name);
    strlcpy_ok(u.params.engine_model_type, "16k_en", sizeof u.params.engine_model_type);
    u.params.channel_num = 1;
    u.create_ms = 1; /* ignored: an update keeps the creation time */
    u.update_ms = 1700000000000;
    assert_int_equal(store_template_update(f->st, &u), STORE_OK);

    assert_int_equal(store_template_get(f->st, BUCKET_A, t.id, &got), STORE_OK);
    assert_string_equal(got.name, "after");
    assert_int_equal(got.seq, t.seq);
    assert_int_equal(got.create_ms, 1600000000000);
    assert_int_equal(got.update_ms, 1700000000000);
    assert_same_params(&got.params, &u.params); /* a full replace: the hot table, srt, ... are gone */

    /* keeping its own name is no conflict; taking another's is, and changes nothing */
    assert_int_equal(store_template_update(f->st, &u), STORE_OK);
    store_template clash = u;
    strlcpy_ok(clash.name, "taken", sizeof clash.name);
    clash.params.channel_num = 2;
    assert_int_equal(store_template_update(f->st, &clash), STORE_CONFLICT);
    assert_non_null(strstr(store_last_error(), "\"taken\" already exists"));
    assert_int_equal(store_template_get(f->st, BUCKET_A, t.id, &got), STORE_OK);
    assert_string_equal(got.name, "after");
    assert_int_equal(got.params.channel_num, 1);

    /* unknown ids and other buckets' templates are not found, even with a taken name */
    strlcpy_ok(clash.id, "t1ffffffffffffffffffffffffffffffff", sizeof clash.id);
    assert_int_equal(store_template_update(f->st, &clash), STORE_NOT_FOUND);
    store_template theirs = u;
    strlcpy_ok(theirs.bucket, BUCKET_B, sizeof theirs.bucket);
    assert_int_equal(store_template_update(f->st, &theirs), STORE_NOT_FOUND);
    assert_int_equal(count_in(f->st, BUCKET_B), 0);
}

static void test_delete_removes_only_that_template(void **state)
{
    fixture *f = *state;
    store_template a, b, got;
    tpl_make(&a, BUCKET_A, "a");
    insert_ok(f->st, &a, 0);
    tpl_make(&b, BUCKET_A, "b");
    insert_ok(f->st, &b, 0);

    assert_int_equal(store_template_delete(f->st, BUCKET_B, a.id), STORE_NOT_FOUND);
    assert_int_equal(store_template_delete(f->st, BUCKET_A, a.id), STORE_OK);
    assert_int_equal(store_template_get(f->st, BUCKET_A, a.id, &got), STORE_NOT_FOUND);
    assert_int_equal(store_template_delete(f->st, BUCKET_A, a.id), STORE_NOT_FOUND);
    assert_int_equal(store_template_get(f->st, BUCKET_A, b.id, &got), STORE_OK);
    /* the name is free again */
    store_template again;
    tpl_make(&again, BUCKET_A, "a");
    insert_ok(f->st, &again, 0);
}

/* Lists a page and returns its names joined by spaces. */
static const char *page_names(store *st, const store_template_filter *f, int64_t *total)
{
    static char names[1024];
    store_template out[100];
    size_t n = 0;
    assert_int_equal(store_template_list(st, f, out, &n, total), STORE_OK);
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(out[i].bucket, f->bucket);
        strcat(names, i ? " " : "");
        strcat(names, out[i].name);
    }
    return names;
}

static void test_list_filters_and_pages_newest_first(void **state)
{
    fixture *f = *state;
    const char *names[] = {"alpha", "alpine", "beta", "报表一", "报告", "gamma"};
    store_template t[6];
    for (int i = 0; i < 6; i++) {
        tpl_make(&t[i], BUCKET_A, names[i]);
        insert_ok(f->st, &t[i], 1600000000000); /* same time: seq orders them */
    }
    store_template theirs;
    tpl_make(&theirs, BUCKET_B, "alpha");
    insert_ok(f->st, &theirs, 0);

    int64_t total = 0;
    store_template_filter fl = {.bucket = BUCKET_A, .page_number = 1, .page_size = 10};
    assert_string_equal(page_names(f->st, &fl, &total), "gamma 报告 报表一 beta alpine alpha");
    assert_int_equal(total, 6);

    fl.page_size = 4;
    fl.page_number = 2;
    assert_string_equal(page_names(f->st, &fl, &total), "alpine alpha");
    assert_int_equal(total, 6); /* before paging */
    fl.page_number = 3;
    assert_string_equal(page_names(f->st, &fl, &total), "");
    assert_int_equal(total, 6);

    fl.page_number = 1;
    fl.page_size = 10;
    fl.name_prefix = "alp";
    assert_string_equal(page_names(f->st, &fl, &total), "alpine alpha");
    fl.name_prefix = "报表";
    assert_string_equal(page_names(f->st, &fl, &total), "报表一");
    assert_int_equal(total, 1);
    fl.name_prefix = "Alp"; /* case matters */
    assert_string_equal(page_names(f->st, &fl, &total), "");
    assert_int_equal(total, 0);
    fl.name_prefix = "";    /* empty: no filter */
    page_names(f->st, &fl, &total);
    assert_int_equal(total, 6);

    /* ids: only the ones named, of this bucket; with a name prefix both apply */
    char ids[512];
    snprintf(ids, sizeof ids, "%s,%s,%s,t1nothere,%s", t[0].id, t[2].id, t[5].id, theirs.id);
    fl.name_prefix = NULL;
    fl.ids = ids;
    assert_string_equal(page_names(f->st, &fl, &total), "gamma beta alpha");
    assert_int_equal(total, 3);
    fl.name_prefix = "al";
    assert_string_equal(page_names(f->st, &fl, &total), "alpha");
    /* an id's prefix names nothing */
    char part[40];
    snprintf(part, sizeof part, "%.20s", t[0].id);
    fl.ids = part;
    fl.name_prefix = NULL;
    assert_string_equal(page_names(f->st, &fl, &total), "");
    assert_int_equal(total, 0);
}

static void test_templates_survive_a_restart(void **state)
{
    fixture *f = *state;
    store_template t, got;
    tpl_make(&t, BUCKET_A, "durable");
    insert_ok(f->st, &t, 0);
    fx_restart(f);
    assert_int_equal(store_template_get(f->st, BUCKET_A, t.id, &got), STORE_OK);
    assert_string_equal(got.name, "durable");
    assert_same_params(&got.params, &t.params);
}

/* A data directory written by a build without templates (schema version 3) opens, gains the table
 * and keeps its jobs and hot-vocabulary tables; one whose version was set back to 3 while the table
 * exists opens too and keeps its templates. */
static void test_version_3_database_gains_templates(void **state)
{
    FX_SQLITE_ONLY();
    fixture *f = *state;
    char job_id[40];
    fx_insert(f->st, &f->qa, 1, 0, job_id);
    store_hotvocab h;
    store_hotvocab_init(&h);
    ids_new(h.id, "h");
    strlcpy_ok(h.bucket, BUCKET_A, sizeof h.bucket);
    strlcpy_ok(h.name, "words", sizeof h.name);
    assert_true(store_hotvocab_add_word(&h, "cicada", 5));
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);
    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "DROP TABLE templates; PRAGMA user_version = 3;");
    assert_int_equal(fx_user_version(f->path), 3);

    f->st = fx_open(f);
    assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    assert_int_equal(fx_state_of(f->st, BUCKET_A, job_id), JOB_SUBMITTED);
    store_hotvocab hv;
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &hv), STORE_OK);
    assert_int_equal(hv.nwords, 1);
    store_hotvocab_clear(&hv);
    store_hotvocab_clear(&h);
    store_template t, got;
    tpl_make(&t, BUCKET_A, "after-migration");
    insert_ok(f->st, &t, 0);

    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "PRAGMA user_version = 3;");
    f->st = fx_open(f);
    assert_int_equal(fx_user_version(f->path), FX_SCHEMA_VERSION);
    assert_int_equal(store_template_get(f->st, BUCKET_A, t.id, &got), STORE_OK);
    assert_string_equal(got.name, "after-migration");
    assert_int_equal(fx_state_of(f->st, BUCKET_A, job_id), JOB_SUBMITTED);
}

/* A job keeps the name of its template, up to the longest a template may have. */
static void test_job_keeps_a_long_template_name(void **state)
{
    fixture *f = *state;
    store_job j, got;
    fx_job(&j, &f->qa, 0, 0);
    strlcpy_ok(j.template_id, "t10123456789abcdef0123456789abcdef", sizeof j.template_id);
    char name[STORE_TEMPLATE_NAME_SIZE] = "";
    for (int i = 0; i < 64; i++)
        strcat(name, "\xf0\xa0\x80\x80"); /* U+20000, a CJK Extension B ideograph: 4 bytes */
    assert_true(strlcpy_ok(j.template_name, name, sizeof j.template_name));
    assert_int_equal(store_job_insert(f->st, &j), STORE_OK);
    store_job_init(&got);
    assert_int_equal(store_job_get(f->st, BUCKET_A, j.id, &got), STORE_OK);
    assert_string_equal(got.template_id, j.template_id);
    assert_string_equal(got.template_name, name);
    store_job_clear(&got);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_keeps_every_parameter, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_names_are_conflicts_that_store_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_replaces_everything_but_id_and_creation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_only_that_template, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_pages_newest_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_templates_survive_a_restart, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_3_database_gains_templates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_keeps_a_long_template_name, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
