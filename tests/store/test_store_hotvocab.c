/* test_store_hotvocab.c — hot-vocabulary tables in the store against a real database: round trip
 * with word order and UTF-8, bucket isolation, duplicate refusals that change nothing, partial
 * updates, delete with its words, offset/limit listing, surviving a restart, and the schema
 * migration that adds the tables to a version-1 database. */
#include "store_fixture.h"


/* A table of bucket with `n` words "w0".."w<n-1>" weighted 1..11 in turn. */
static void hv_make(store_hotvocab *h, const char *bucket, const char *name, size_t n)
{
    store_hotvocab_init(h);
    ids_new(h->id, "h");
    strlcpy_ok(h->bucket, bucket, sizeof h->bucket);
    strlcpy_ok(h->name, name, sizeof h->name);
    strlcpy_ok(h->description, "desc", sizeof h->description);
    for (size_t i = 0; i < n; i++) {
        char w[32];
        snprintf(w, sizeof w, "w%zu", i);
        assert_true(store_hotvocab_add_word(h, w, (int)(i % 11) + 1));
    }
}

static void assert_same_words(const store_hotvocab *a, const store_hotvocab *b)
{
    assert_int_equal(a->nwords, b->nwords);
    for (size_t i = 0; i < a->nwords; i++) {
        assert_string_equal(a->words[i].word, b->words[i].word);
        assert_int_equal(a->words[i].weight, b->words[i].weight);
    }
}

/* Rows of a table in the SQLite file, counted by a connection of our own. */
static int64_t sqlite_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The same on either backend: a connection beside the store's. */
static int64_t count_rows_in(const fixture *f, const char *sql)
{
    return f->pg ? fx_pg_value(f, sql) : sqlite_count(f->path, sql);
}

static void test_round_trip_keeps_order_weights_and_utf8(void **state)
{
    fixture *f = *state;
    store_hotvocab h;
    hv_make(&h, BUCKET_A, "名字 name", 0);
    const char *words[] = {"腾讯云", "speech recognition", "Zoë", "GPT模型", "x"};
    int weights[] = {100, 3, 11, 1, 7};
    for (size_t i = 0; i < 5; i++)
        assert_true(store_hotvocab_add_word(&h, words[i], weights[i]));
    h.create_ms = 1600000000000;
    h.update_ms = 1600000000500;
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);

    store_hotvocab got;
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_string_equal(got.id, h.id);
    assert_string_equal(got.bucket, BUCKET_A);
    assert_string_equal(got.name, "名字 name");
    assert_string_equal(got.description, "desc");
    assert_int_equal(got.create_ms, 1600000000000);
    assert_int_equal(got.update_ms, 1600000000500);
    assert_same_words(&got, &h);
    store_hotvocab_clear(&got);
    assert_null(got.words);
    assert_int_equal(got.nwords, 0);

    /* another bucket's table and an unknown id are not found, and leave out empty */
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_B, h.id, &got), STORE_NOT_FOUND);
    assert_null(got.words);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, "hffffffffffffffffffffffffffffffff", &got), STORE_NOT_FOUND);

    /* a restart keeps everything */
    fx_restart(f);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_same_words(&got, &h);
    assert_string_equal(got.name, h.name);
    store_hotvocab_clear(&got);
    store_hotvocab_clear(&h);
}

static void test_a_thousand_words_round_trip(void **state)
{
    fixture *f = *state;
    store_hotvocab h, got;
    hv_make(&h, BUCKET_A, "big", STORE_HOTVOCAB_MAX_WORDS);
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_same_words(&got, &h);
    store_hotvocab_clear(&got);
    store_hotvocab_clear(&h);
}

static void test_add_word_refuses_what_does_not_fit(void **state)
{
    (void)state;
    store_hotvocab h;
    store_hotvocab_init(&h);
    char longest[sizeof h.words[0].word];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_true(store_hotvocab_add_word(&h, longest, 5));
    char too_long[sizeof longest + 1];
    memset(too_long, 'b', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_false(store_hotvocab_add_word(&h, too_long, 5));
    assert_int_equal(h.nwords, 1);
    assert_string_equal(h.words[0].word, longest);
    store_hotvocab_clear(&h);
}

static void test_duplicates_are_conflicts_that_store_nothing(void **state)
{
    fixture *f = *state;
    store_hotvocab h, got;
    hv_make(&h, BUCKET_A, "dups", 3);
    assert_true(store_hotvocab_add_word(&h, "w1", 9)); /* "w1" again */
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_CONFLICT);
    assert_non_null(strstr(store_last_error(), "w1"));
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_NOT_FOUND);
    assert_int_equal(count_rows_in(f, "SELECT count(*) FROM hotvocab_words"), 0);
    assert_int_equal(count_rows_in(f, "SELECT count(*) FROM hotvocab"), 0);

    h.nwords = 3; /* without the duplicate it goes in */
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);
    /* the same id again, even in another bucket, is a conflict */
    strlcpy_ok(h.bucket, BUCKET_B, sizeof h.bucket);
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_CONFLICT);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_B, h.id, &got), STORE_NOT_FOUND);
    assert_int_equal(count_rows_in(f, "SELECT count(*) FROM hotvocab_words"), 3);
    store_hotvocab_clear(&h);
}

static void test_update_replaces_only_the_named_fields(void **state)
{
    fixture *f = *state;
    store_hotvocab h, got;
    hv_make(&h, BUCKET_A, "before", 4);
    h.create_ms = h.update_ms = 1000;
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);

    /* name only: description and words stay, whatever the record carries for them */
    store_hotvocab u;
    hv_make(&u, BUCKET_A, "after", 1);
    strlcpy_ok(u.id, h.id, sizeof u.id);
    strlcpy_ok(u.description, "ignored", sizeof u.description);
    u.update_ms = 2000;
    assert_int_equal(store_hotvocab_update(f->st, &u, STORE_HOTVOCAB_NAME), STORE_OK);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_string_equal(got.name, "after");
    assert_string_equal(got.description, "desc");
    assert_same_words(&got, &h);
    assert_int_equal(got.create_ms, 1000);
    assert_int_equal(got.update_ms, 2000);
    store_hotvocab_clear(&got);

    /* words and description: the old words are gone, the new ones in their order */
    store_hotvocab_clear(&u);
    strlcpy_ok(u.description, "", sizeof u.description);
    assert_true(store_hotvocab_add_word(&u, "beta", 100));
    assert_true(store_hotvocab_add_word(&u, "alpha", 2));
    u.update_ms = 3000;
    assert_int_equal(store_hotvocab_update(f->st, &u, STORE_HOTVOCAB_WORDS | STORE_HOTVOCAB_DESCRIPTION), STORE_OK);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_string_equal(got.name, "after");
    assert_string_equal(got.description, "");
    assert_same_words(&got, &u);
    assert_int_equal(got.update_ms, 3000);
    store_hotvocab_clear(&got);

    /* a duplicate word rolls the whole update back */
    store_hotvocab bad;
    hv_make(&bad, BUCKET_A, "never", 2);
    strlcpy_ok(bad.id, h.id, sizeof bad.id);
    assert_true(store_hotvocab_add_word(&bad, "w0", 1));
    assert_int_equal(store_hotvocab_update(f->st, &bad, STORE_HOTVOCAB_NAME | STORE_HOTVOCAB_WORDS), STORE_CONFLICT);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_string_equal(got.name, "after");
    assert_same_words(&got, &u);
    store_hotvocab_clear(&got);

    /* another bucket's table, an unknown id */
    strlcpy_ok(bad.bucket, BUCKET_B, sizeof bad.bucket);
    bad.nwords = 1;
    assert_int_equal(store_hotvocab_update(f->st, &bad, STORE_HOTVOCAB_NAME), STORE_NOT_FOUND);
    strlcpy_ok(bad.bucket, BUCKET_A, sizeof bad.bucket);
    ids_new(bad.id, "h");
    assert_int_equal(store_hotvocab_update(f->st, &bad, STORE_HOTVOCAB_WORDS), STORE_NOT_FOUND);
    assert_int_equal(count_rows_in(f, "SELECT count(*) FROM hotvocab_words"), 2);
    store_hotvocab_clear(&bad);
    store_hotvocab_clear(&u);
    store_hotvocab_clear(&h);
}

static void test_delete_removes_the_table_and_its_words(void **state)
{
    fixture *f = *state;
    store_hotvocab a, b, got;
    hv_make(&a, BUCKET_A, "a", 5);
    hv_make(&b, BUCKET_A, "b", 3);
    assert_int_equal(store_hotvocab_insert(f->st, &a), STORE_OK);
    assert_int_equal(store_hotvocab_insert(f->st, &b), STORE_OK);
    assert_int_equal(store_hotvocab_delete(f->st, BUCKET_B, a.id), STORE_NOT_FOUND);   /* not its bucket */
    assert_int_equal(store_hotvocab_delete(f->st, BUCKET_A, a.id), STORE_OK);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, a.id, &got), STORE_NOT_FOUND);
    assert_int_equal(store_hotvocab_delete(f->st, BUCKET_A, a.id), STORE_NOT_FOUND);
    assert_int_equal(count_rows_in(f, "SELECT count(*) FROM hotvocab_words"), 3);
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, b.id, &got), STORE_OK);
    assert_same_words(&got, &b);
    store_hotvocab_clear(&got);
    store_hotvocab_clear(&a);
    store_hotvocab_clear(&b);
}

static void test_list_pages_by_offset_and_limit_per_bucket(void **state)
{
    fixture *f = *state;
    char ids[7][40];
    for (int i = 0; i < 7; i++) {
        store_hotvocab h;
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        hv_make(&h, BUCKET_A, name, (size_t)i + 1);
        h.create_ms = 1000 + i;
        assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);
        memcpy(ids[i], h.id, sizeof ids[i]);
        store_hotvocab_clear(&h);
    }
    store_hotvocab other;
    hv_make(&other, BUCKET_B, "other", 1);
    assert_int_equal(store_hotvocab_insert(f->st, &other), STORE_OK);
    store_hotvocab_clear(&other);

    store_hotvocab page[100];
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(store_hotvocab_list(f->st, BUCKET_A, 2, 3, page, &n, &total), STORE_OK);
    assert_int_equal(total, 7);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {   /* oldest first, each with its own words */
        assert_string_equal(page[i].id, ids[2 + i]);
        assert_string_equal(page[i].bucket, BUCKET_A);
        assert_int_equal(page[i].nwords, 3 + i);
        assert_string_equal(page[i].words[page[i].nwords - 1].word, i == 0 ? "w2" : i == 1 ? "w3" : "w4");
        store_hotvocab_clear(&page[i]);
    }
    assert_int_equal(store_hotvocab_list(f->st, BUCKET_A, 5, 10, page, &n, &total), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[1].id, ids[6]);
    for (size_t i = 0; i < n; i++)
        store_hotvocab_clear(&page[i]);
    assert_int_equal(store_hotvocab_list(f->st, BUCKET_A, 7, 10, page, &n, &total), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 7);
    assert_int_equal(store_hotvocab_list(f->st, BUCKET_B, 0, 10, page, &n, &total), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(total, 1);
    assert_string_equal(page[0].name, "other");
    store_hotvocab_clear(&page[0]);
    assert_int_equal(store_hotvocab_list(f->st, "nobody-" APPID, 0, 10, page, &n, &total), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
}

/* A data directory written by a build without hot-vocabulary tables (schema version 1) opens, gains
 * the tables, and keeps its jobs; one whose version says 1 while the tables exist opens too. */
static void test_version_1_database_gains_the_tables(void **state)
{
    FX_SQLITE_ONLY();
    fixture *f = *state;
    char job_id[40];
    fx_insert(f->st, &f->qa, 0, 0, job_id);
    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "DROP TABLE hotvocab_words; DROP TABLE hotvocab; PRAGMA user_version = 1;");
    f->st = fx_open(f);
    assert_int_equal(sqlite_count(f->path, "PRAGMA user_version"), FX_SCHEMA_VERSION); /* and on to the current one */
    assert_int_equal(fx_state_of(f->st, BUCKET_A, job_id), JOB_SUBMITTED);
    store_hotvocab h;
    hv_make(&h, BUCKET_A, "after-migration", 2);
    assert_int_equal(store_hotvocab_insert(f->st, &h), STORE_OK);

    store_close(f->st);
    f->st = NULL;
    fx_exec_on(f->path, "PRAGMA user_version = 1;");
    f->st = fx_open(f);
    store_hotvocab got;
    assert_int_equal(store_hotvocab_get(f->st, BUCKET_A, h.id, &got), STORE_OK);
    assert_same_words(&got, &h);
    store_hotvocab_clear(&got);
    store_hotvocab_clear(&h);
}

int main(void)
{
    FX_MAIN_CHECK();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_word_refuses_what_does_not_fit),
        cmocka_unit_test_setup_teardown(test_round_trip_keeps_order_weights_and_utf8, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_thousand_words_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_are_conflicts_that_store_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_replaces_only_the_named_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_the_table_and_its_words, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_by_offset_and_limit_per_bucket, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_1_database_gains_the_tables, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
