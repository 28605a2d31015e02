/* test_hotwords.c — a job's hot-vocabulary table on its way to the engine: the order (weight 100
 * first, then high to low, ties in table order), the separator rule, the length bound that drops
 * the lowest weights, and pipeline_run_job against a real store and object store: a deleted table
 * fails the job with HotVocabularyTableNotFound; a present one is read and logged (at debug) in
 * that order while the job runs for real on pocketsphinx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/sched.h"
#include "util/util.h"

#define BUCKET "hot-1250000000"

static void add_words(store_hotvocab *h, const char *const *words, const int *weights, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(store_hotvocab_add_word(h, words[i], weights[i]));
}

static void test_order_is_weight_then_table_order(void **state)
{
    (void)state;
    store_hotvocab h;
    store_hotvocab_init(&h);
    const char *words[] = {"three-a", "hundred-a", "eleven", "three-b", "one", "hundred-b", "seven"};
    const int weights[] = {3, 100, 11, 3, 1, 100, 7};
    add_words(&h, words, weights, 7);
    size_t used = 0;
    char *s = pipeline_hotwords(&h, &used);
    assert_string_equal(s, "hundred-a, hundred-b, eleven, seven, three-a, three-b, one");
    assert_int_equal(used, 7);
    free(s);
    store_hotvocab_clear(&h);

    s = pipeline_hotwords(&h, &used);   /* no words: an empty string */
    assert_string_equal(s, "");
    assert_int_equal(used, 0);
    free(s);
}

static void test_a_chinese_word_makes_the_separator_chinese(void **state)
{
    (void)state;
    store_hotvocab h;
    store_hotvocab_init(&h);
    const char *words[] = {"CI", "腾讯云", "ASR"};
    const int weights[] = {5, 10, 5};
    add_words(&h, words, weights, 3);
    char *s = pipeline_hotwords(&h, NULL);
    assert_string_equal(s, "腾讯云，CI，ASR");
    free(s);
    store_hotvocab_clear(&h);
}

static void test_long_tables_keep_the_highest_weights(void **state)
{
    (void)state;
    store_hotvocab h;
    store_hotvocab_init(&h);
    for (int i = 0; i < STORE_HOTVOCAB_MAX_WORDS; i++) {   /* weights 1..11 and 100 in turn */
        char w[32];
        snprintf(w, sizeof w, "word%04d", i);
        int weight = i % 12 == 11 ? 100 : i % 12 + 1;
        assert_true(store_hotvocab_add_word(&h, w, weight));
    }
    size_t used = 0;
    char *s = pipeline_hotwords(&h, &used);
    assert_true(strlen(s) <= PIPELINE_HOTWORDS_MAX_BYTES);
    assert_true(used > 10 && used < STORE_HOTVOCAB_MAX_WORDS);
    /* whole words only: the string splits into exactly `used` words, and no word kept has a lower
     * weight than one left out */
    size_t n = 1;
    for (const char *p = s; (p = strstr(p, ", ")); p += 2)
        n++;
    assert_int_equal(n, used);
    assert_non_null(strstr(s, "word0011"));                        /* the first weight-100 word */
    assert_int_equal(strncmp(s, "word0011, word0023, ", 20), 0);
    assert_null(strstr(s, "word0000"));                            /* weight 1 never fits */
    int lowest_kept = 1000;
    for (int i = 0; i < STORE_HOTVOCAB_MAX_WORDS; i++) {
        char w[32];
        snprintf(w, sizeof w, "word%04d", i);
        if (strstr(s, w) && h.words[i].weight < lowest_kept)
            lowest_kept = h.words[i].weight;
    }
    for (int i = 0; i < STORE_HOTVOCAB_MAX_WORDS; i++) {
        char w[32];
        snprintf(w, sizeof w, "word%04d", i);
        if (!strstr(s, w))
            assert_true(h.words[i].weight <= lowest_kept);
    }
    free(s);
    store_hotvocab_clear(&h);
}

/* ---- pipeline_run_job with a real store ---- */

typedef struct fixture {
    char dir[64];
    store *st;
    blob_store *blobs;
    pipeline_deps deps;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    strlcpy_ok(f->dir, "/tmp/cicada-hot-XXXXXX", sizeof f->dir);
    if (!mkdtemp(f->dir))
        return -1;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/cicada.db", f->dir);
    store_params sp = store_default_params();
    sp.sqlite_path = path;
    f->st = store_open(&sp, err, sizeof err);
    snprintf(path, sizeof path, "%s/objects", f->dir);
    blob_params bp = blob_default_params();
    bp.root = path;
    f->blobs = blob_open(&bp, err, sizeof err);
    if (!f->st || !f->blobs || blob_bucket_create(f->blobs, BUCKET) != BLOB_OK)
        return -1;
    f->deps = (pipeline_deps){.st = f->st, .blobs = f->blobs, .tmp_dir = f->dir};
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    engine_registry_free(f->deps.engines);
    blob_close(f->blobs);
    store_close(f->st);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void make_table(fixture *f, store_hotvocab *h)
{
    store_hotvocab_init(h);
    ids_new(h->id, "h");
    strlcpy_ok(h->bucket, BUCKET, sizeof h->bucket);
    strlcpy_ok(h->name, "names", sizeof h->name);
    const char *words[] = {"Kennedy", "Americans", "country", "fellow"};
    const int weights[] = {5, 100, 5, 11};
    add_words(h, words, weights, 4);
    assert_int_equal(store_hotvocab_insert(f->st, h), STORE_OK);
}

static void make_job(store_job *j, const char *table_id, const char *object)
{
    store_job_init(j);
    ids_new(j->id, "s");
    strlcpy_ok(j->bucket, BUCKET, sizeof j->bucket);
    strlcpy_ok(j->input_object, object, sizeof j->input_object);
    strlcpy_ok(j->params.engine_model_type, "16k_en", sizeof j->params.engine_model_type);
    strlcpy_ok(j->params.hot_vocabulary_table_id, table_id, sizeof j->params.hot_vocabulary_table_id);
    j->state = JOB_RUNNING;
}

static void test_a_deleted_table_fails_the_job(void **state)
{
    fixture *f = *state;
    store_hotvocab h;
    make_table(f, &h);
    assert_int_equal(store_hotvocab_delete(f->st, BUCKET, h.id), STORE_OK);
    store_job j;
    make_job(&j, h.id, "in/missing.wav");
    pipeline_run_job(&f->deps, &j);
    assert_int_equal(j.state, JOB_FAILED);
    assert_string_equal(j.code, "HotVocabularyTableNotFound");
    assert_non_null(strstr(j.message, h.id));
    store_job_clear(&j);

    /* a table of another bucket is just as missing */
    store_hotvocab other;
    make_table(f, &other);
    assert_int_equal(store_hotvocab_delete(f->st, BUCKET, other.id), STORE_OK);
    strlcpy_ok(other.bucket, "other-1250000000", sizeof other.bucket);
    assert_int_equal(store_hotvocab_insert(f->st, &other), STORE_OK);
    make_job(&j, other.id, "in/missing.wav");
    pipeline_run_job(&f->deps, &j);
    assert_string_equal(j.code, "HotVocabularyTableNotFound");
    store_job_clear(&j);

    /* with the table present the job gets past it (and fails on its missing input instead) */
    store_hotvocab present;
    make_table(f, &present);
    make_job(&j, present.id, "in/missing.wav");
    pipeline_run_job(&f->deps, &j);
    assert_int_equal(j.state, JOB_FAILED);
    assert_string_equal(j.code, "InputObjectNotFound");
    store_job_clear(&j);
    store_hotvocab_clear(&h);
    store_hotvocab_clear(&other);
    store_hotvocab_clear(&present);
}

/* Runs fn with stderr going to a file; returns what was written (heap). */
static char *capture_stderr(void (*fn)(void *), void *arg, const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.log", dir);
    fflush(stderr);
    int saved = dup(STDERR_FILENO), fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char *text = NULL;
    size_t len = 0;
    assert_true(fs_read_file(path, &text, &len, 1 << 24));
    return text;
}

typedef struct run_args {
    fixture *f;
    store_job *j;
} run_args;

static void run_job(void *arg)
{
    run_args *a = arg;
    pipeline_run_job(&a->f->deps, a->j);
}

static void test_the_words_reach_the_engine_in_order(void **state)
{
    fixture *f = *state;
    const char *td = getenv("CICADA_TESTDATA");
    char wav[1024];
    snprintf(wav, sizeof wav, "%s/en/jfk/jfk.wav", td ? td : "");
    char *audio = NULL;
    size_t len = 0;
    if (!td || !fs_read_file(wav, &audio, &len, 1 << 24)) {
        print_message("skipping: no test audio at %s (set CICADA_TESTDATA)\n", wav);
        skip();
    }
    assert_int_equal(blob_put(f->blobs, BUCKET, "in/jfk.wav", audio, len, "audio/wav", NULL), BLOB_OK);
    free(audio);
    engine_registry_params rp = engine_registry_default_params();
    rp.only_type = "16k_en";
    rp.model_dir = f->dir;   /* no whisper models here: pocketsphinx, which takes hot words and ignores them */
    char err[512];
    f->deps.engines = engine_registry_new(&rp, err, sizeof err);
    assert_non_null(f->deps.engines);

    store_hotvocab h;
    make_table(f, &h);
    store_job j;
    make_job(&j, h.id, "in/jfk.wav");
    log_set_level(LOG_DEBUG);
    run_args a = {f, &j};
    char *log = capture_stderr(run_job, &a, f->dir);
    log_set_level(LOG_INFO);
    assert_int_equal(j.state, JOB_SUCCESS);
    assert_non_null(j.result);
    char expect[256];
    snprintf(expect, sizeof expect, "hot words from table %s (4 of 4 words): Americans, fellow, Kennedy, country\n",
             h.id);
    if (!strstr(log, expect))
        fail_msg("the log lacks \"%s\":\n%s", expect, log);
    free(log);
    store_job_clear(&j);
    store_hotvocab_clear(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_is_weight_then_table_order),
        cmocka_unit_test(test_a_chinese_word_makes_the_separator_chinese),
        cmocka_unit_test(test_long_tables_keep_the_highest_weights),
        cmocka_unit_test_setup_teardown(test_a_deleted_table_fails_the_job, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_the_words_reach_the_engine_in_order, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
