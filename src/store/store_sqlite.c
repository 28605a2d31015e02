/* store_sqlite.c — the embedded SQLite backend of the store; all of the store's SQL lives here.
 * WAL mode so readers never block on the writer, synchronous=FULL so a commit is on disk when it
 * returns, a small pool of connections (each with its own cached prepared statements) shared by
 * the HTTP and worker threads, and one in-process write mutex so writers queue on a mutex instead
 * of spinning in SQLite's busy handler. Per-queue counters of waiting and running jobs are kept by
 * triggers, so admitting a job (MaxSize) and claiming one (MaxConcurrent) cost O(1) lookups; a claim
 * serves the queues with work in turns (schema v3). */
#include "store/store_internal.h"

#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_MAX_CONNECTIONS 16

/* ---- schema and migrations: migrations[i] takes user_version i to i+1 ---- */

static const char schema_v1[] =
    "CREATE TABLE buckets("
    "  name TEXT PRIMARY KEY,"
    "  appid TEXT NOT NULL,"
    "  region TEXT NOT NULL DEFAULT '',"
    "  create_ms INTEGER NOT NULL);"
    "CREATE INDEX buckets_appid ON buckets(appid, name);"
    "CREATE TABLE queues("
    "  id TEXT PRIMARY KEY,"
    "  bucket TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  max_size INTEGER NOT NULL,"
    "  max_concurrent INTEGER NOT NULL,"
    "  notify_url TEXT NOT NULL DEFAULT '',"
    "  notify_event TEXT NOT NULL DEFAULT '',"
    "  notify_type TEXT NOT NULL DEFAULT '',"
    "  notify_state TEXT NOT NULL DEFAULT '',"
    "  notify_format TEXT NOT NULL DEFAULT '',"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  waiting INTEGER NOT NULL DEFAULT 0," /* jobs Submitted: kept by triggers */
    "  running INTEGER NOT NULL DEFAULT 0);" /* jobs Running: kept by triggers */
    "CREATE INDEX queues_bucket ON queues(bucket, create_ms);"
    "CREATE TABLE jobs("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  tag TEXT NOT NULL DEFAULT '',"
    "  bucket TEXT NOT NULL,"
    "  region TEXT NOT NULL DEFAULT '',"
    "  queue_id TEXT NOT NULL REFERENCES queues(id),"
    "  state INTEGER NOT NULL,"
    "  code TEXT NOT NULL DEFAULT '',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  create_ms INTEGER NOT NULL DEFAULT 0,"
    "  start_ms INTEGER NOT NULL DEFAULT 0,"
    "  end_ms INTEGER NOT NULL DEFAULT 0,"
    "  job_level INTEGER NOT NULL DEFAULT 0,"
    "  input_object TEXT NOT NULL DEFAULT '',"
    "  input_url TEXT NOT NULL DEFAULT '',"
    "  template_id TEXT NOT NULL DEFAULT '',"
    "  template_name TEXT NOT NULL DEFAULT '',"
    "  p_engine_model_type TEXT NOT NULL DEFAULT '',"
    "  p_channel_num INTEGER NOT NULL DEFAULT 1,"
    "  p_res_text_format INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_dirty INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_modal INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_punc INTEGER NOT NULL DEFAULT 0,"
    "  p_convert_num_mode INTEGER NOT NULL DEFAULT 0,"
    "  p_speaker_diarization INTEGER NOT NULL DEFAULT 0,"
    "  p_speaker_number INTEGER NOT NULL DEFAULT 0,"
    "  p_sentence_max_length INTEGER NOT NULL DEFAULT 0,"
    "  p_output_file_type TEXT NOT NULL DEFAULT '',"
    "  p_hot_vocabulary_table_id TEXT NOT NULL DEFAULT '',"
    "  p_flash_asr TEXT NOT NULL DEFAULT '',"
    "  p_format TEXT NOT NULL DEFAULT '',"
    "  p_first_channel_only TEXT NOT NULL DEFAULT '',"
    "  p_word_info TEXT NOT NULL DEFAULT '',"
    "  output_region TEXT NOT NULL DEFAULT '',"
    "  output_bucket TEXT NOT NULL DEFAULT '',"
    "  output_object TEXT NOT NULL DEFAULT '',"
    "  user_data TEXT NOT NULL DEFAULT '',"
    "  callback TEXT NOT NULL DEFAULT '',"
    "  callback_format TEXT NOT NULL DEFAULT '',"
    "  callback_type TEXT NOT NULL DEFAULT '',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  audio_time REAL NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  result_detail TEXT,"
    "  object_name TEXT NOT NULL DEFAULT '',"
    "  detail_object_name TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX jobs_bucket_seq ON jobs(bucket, seq);"
    /* claim (best job of a queue), counting, and listing one queue's jobs in a state */
    "CREATE INDEX jobs_queue_state ON jobs(queue_id, state, job_level DESC, seq);"
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN"
    "  UPDATE queues SET waiting = waiting + (NEW.state = 0), running = running + (NEW.state = 1)"
    "   WHERE id = NEW.queue_id;"
    "END;"
    "CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN"
    "  UPDATE queues SET waiting = waiting + (NEW.state = 0) - (OLD.state = 0),"
    "                    running = running + (NEW.state = 1) - (OLD.state = 1)"
    "   WHERE id = NEW.queue_id;"
    "END;"
    "CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN"
    "  UPDATE queues SET waiting = waiting - (OLD.state = 0), running = running - (OLD.state = 1)"
    "   WHERE id = OLD.queue_id;"
    "END;";

/* v2: hot-vocabulary tables. IF NOT EXISTS so that a database whose user_version was set back by
 * hand (or by an older build's tooling) still opens. Words live in a child table, one row each, in
 * table order (pos); a word appears at most once per table. */
static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS hotvocab("
    "  id TEXT PRIMARY KEY,"
    "  bucket TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS hotvocab_bucket ON hotvocab(bucket, create_ms);"
    "CREATE TABLE IF NOT EXISTS hotvocab_words("
    "  table_id TEXT NOT NULL REFERENCES hotvocab(id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  word TEXT NOT NULL,"
    "  weight INTEGER NOT NULL,"
    "  PRIMARY KEY(table_id, pos),"
    "  UNIQUE(table_id, word));";

/* v3: fair turns between queues. JobLevel orders jobs within a queue only; across queues a claim
 * goes to the runnable queue whose last claim is the oldest, so a tenant flooding its queue with
 * level-2 jobs cannot starve another tenant's level-0 job. queues.last_turn is a claim counter
 * rather than a time: each claim gives its queue 1 + the highest last_turn of any queue, so it needs
 * no clock that several server processes sharing the database would have to agree on, and it
 * survives restarts. queues_last_turn serves that max(); queues_turn (partial: only queues with
 * waiting jobs, usually few) lets the claim walk the queues with work in turn order and stop at the
 * first one that may start a job. The column is added by migrate() unless present (ALTER TABLE has
 * no IF NOT EXISTS); the rest is re-runnable like v2. */
static const char schema_v3[] =
    "CREATE INDEX IF NOT EXISTS queues_last_turn ON queues(last_turn);"
    "CREATE INDEX IF NOT EXISTS queues_turn ON queues(last_turn) WHERE waiting > 0;";

/* v4: templates, a bucket's named SpeechRecognition parameters (the p_ columns are the jobs' own).
 * seq gives the stable newest-first order of lists; a name is unique within its bucket. Re-runnable
 * like v2. */
static const char schema_v4[] =
    "CREATE TABLE IF NOT EXISTS templates("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  bucket TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  p_engine_model_type TEXT NOT NULL DEFAULT '',"
    "  p_channel_num INTEGER NOT NULL DEFAULT 1,"
    "  p_res_text_format INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_dirty INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_modal INTEGER NOT NULL DEFAULT 0,"
    "  p_filter_punc INTEGER NOT NULL DEFAULT 0,"
    "  p_convert_num_mode INTEGER NOT NULL DEFAULT 0,"
    "  p_speaker_diarization INTEGER NOT NULL DEFAULT 0,"
    "  p_speaker_number INTEGER NOT NULL DEFAULT 0,"
    "  p_sentence_max_length INTEGER NOT NULL DEFAULT 0,"
    "  p_output_file_type TEXT NOT NULL DEFAULT '',"
    "  p_hot_vocabulary_table_id TEXT NOT NULL DEFAULT '',"
    "  p_flash_asr TEXT NOT NULL DEFAULT '',"
    "  p_format TEXT NOT NULL DEFAULT '',"
    "  p_first_channel_only TEXT NOT NULL DEFAULT '',"
    "  p_word_info TEXT NOT NULL DEFAULT '',"
    "  UNIQUE(bucket, name));"
    "CREATE INDEX IF NOT EXISTS templates_bucket_seq ON templates(bucket, seq);";

/* v5: leases and the callback outbox (several nodes, or one that restarts, share the jobs).
 * A Running job carries its owner node, its attempt (attempts) and lease_until; staged marks a
 * Running job whose result is recorded (only publishing its output objects is left), output_body
 * holding the output object's content until the job ends. jobs_lease finds expired leases without
 * scanning finished jobs. The outbox holds one row per callback to deliver, written in the
 * transaction that ends its job; state 0 pending (leased while owner is set: next_ms is then the
 * lease's expiry, so "due" is one index range), 2 given up. The columns are added by migrate(). */
static const char schema_v5[] =
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(lease_until) WHERE state = 1;"
    "CREATE TABLE IF NOT EXISTS outbox("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id TEXT NOT NULL,"
    "  bucket TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  format TEXT NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  lease_until INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL,"
    "  create_ms INTEGER NOT NULL,"
    "  last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(next_ms) WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS outbox_job ON outbox(job_id);"
    /* values every node shares (store_setting_init) */
    "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);";

/* One step of the schema: first add_column (table, column, declaration; up to MIGRATION_MAX_ADD,
 * unused entries NULL) unless the table already has that column, then sql, which must be safe to
 * run again. */
#define MIGRATION_MAX_ADD 5
typedef struct migration {
    const char *add_column[MIGRATION_MAX_ADD][3];
    const char *sql;
} migration;

static const migration migrations[] = {
    {{{NULL}}, schema_v1},
    {{{NULL}}, schema_v2},
    {{{"queues", "last_turn", "INTEGER NOT NULL DEFAULT 0"}}, schema_v3},
    {{{NULL}}, schema_v4},
    {{{"jobs", "owner", "TEXT NOT NULL DEFAULT ''"},
      {"jobs", "lease_until", "INTEGER NOT NULL DEFAULT 0"},
      {"jobs", "staged", "INTEGER NOT NULL DEFAULT 0"},
      {"jobs", "output_body", "TEXT"},
      {"jobs", "output_content_type", "TEXT NOT NULL DEFAULT ''"}},
     schema_v5},
    /* v6: the OpenAI-compatible endpoint's prompt and translate task */
    {{{"jobs", "p_prompt", "TEXT NOT NULL DEFAULT ''"},
      {"jobs", "p_translate", "INTEGER NOT NULL DEFAULT 0"},
      {"templates", "p_prompt", "TEXT NOT NULL DEFAULT ''"},
      {"templates", "p_translate", "INTEGER NOT NULL DEFAULT 0"}},
     "SELECT 1"},
    /* v7: how much of its audio a job has recognised (store_job_progress) */
    {{{"jobs", "progress", "REAL NOT NULL DEFAULT 0"}}, "SELECT 1"},
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- the job row <-> store_job mapping: store_job_cols and store_param_cols (store.c) ---- */


/* ---- statements ---- */

#define BUCKET_COLS "name, appid, region, create_ms"
#define QUEUE_COLS                                                                                          \
    "id, bucket, name, state, max_size, max_concurrent, notify_url, notify_event, notify_type, notify_state, " \
    "notify_format, create_ms, update_ms"
#define BUCKET_WHERE                                                                                        \
    " WHERE appid = ?1 AND (?2 IS NULL OR instr(',' || ?2 || ',', ',' || region || ',') > 0)"            \
    " AND (?3 IS NULL OR instr(',' || ?3 || ',', ',' || name || ',') > 0)"                                \
    " AND (?4 IS NULL OR substr(name, 1, length(?4)) = ?4)"
#define QUEUE_WHERE " WHERE bucket = ?1 AND (?2 IS NULL OR state = ?2)"
#define OUTBOX_COLS "id, job_id, bucket, url, format, attempts, owner, lease_until, next_ms, create_ms, last_error"
#define HOTVOCAB_COLS "id, bucket, name, description, create_ms, update_ms"
/* the columns before a template's parameters: ?1..?5 when binding, columns 1..5 after seq when reading */
#define TEMPLATE_COLS "id, bucket, name, create_ms, update_ms"
#define TEMPLATE_FIRST_PARAM 6
/* ?1 bucket, ?2 comma list of ids or NULL, ?3 name prefix or NULL. The ids test costs a scan of the
 * bucket's templates, fine for the few a bucket holds. */
#define TEMPLATE_WHERE                                                                                      \
    " FROM templates WHERE bucket = ?1 AND (?2 IS NULL OR instr(',' || ?2 || ',', ',' || id || ',') > 0)"  \
    " AND (?3 IS NULL OR substr(name, 1, length(?3)) = ?3)"
/* ?1 bucket, ?2 queue or NULL, ?3 tag or NULL, ?4 state mask (0 = all), ?5..?6 creation range,
 * ?7 page bound on seq, ?8 limit */
#define JOB_LIST_WHERE                                                                                      \
    " FROM jobs WHERE bucket = ?1 AND (?2 IS NULL OR queue_id = ?2) AND (?3 IS NULL OR tag = ?3)"          \
    " AND (?4 = 0 OR ((1 << state) & ?4) <> 0) AND create_ms >= ?5 AND create_ms <= ?6"

typedef enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_BUCKET_INSERT,
    ST_BUCKET_DELETE,
    ST_BUCKET_GET,
    ST_BUCKET_COUNT,
    ST_BUCKET_PAGE,
    ST_QUEUE_INSERT,
    ST_QUEUE_FIRST,
    ST_QUEUE_GET,
    ST_QUEUE_UPDATE,
    ST_QUEUE_COUNT,
    ST_QUEUE_PAGE,
    ST_QUEUE_ADMIT,
    ST_JOB_INSERT,   /* built from store_job_cols */
    ST_JOB_GET,      /* built */
    ST_JOB_BY_SEQ,   /* built */
    ST_JOB_LIST_ASC, /* built */
    ST_JOB_LIST_DESC,
    ST_JOB_STATE,
    ST_JOB_CANCEL,
    ST_JOB_PICK,
    ST_QUEUE_TURN,
    ST_JOB_START,
    ST_JOB_EXPIRED,
    ST_JOB_TAKEOVER,
    ST_JOB_RENEW,
    ST_JOB_PROGRESS,
    ST_JOB_STAGE,
    ST_JOB_FINISH,
    ST_JOB_FENCE,
    ST_JOB_RELEASE,
    ST_OUTBOX_RELEASE,
    ST_JOB_COUNT,
    ST_OUTBOX_INSERT,
    ST_OUTBOX_PICK,
    ST_OUTBOX_CLAIM,
    ST_OUTBOX_GET,
    ST_OUTBOX_DELIVERED,
    ST_OUTBOX_RETRY,
    ST_OUTBOX_GIVE_UP,
    ST_OUTBOX_COUNT,
    ST_OUTBOX_OF_JOB,
    ST_SETTING_INSERT,
    ST_SETTING_GET,
    ST_HV_INSERT,
    ST_HV_WORD_INSERT,
    ST_HV_GET,
    ST_HV_WORDS,
    ST_HV_UPDATE,
    ST_HV_WORDS_DELETE,
    ST_HV_DELETE,
    ST_HV_COUNT,
    ST_HV_PAGE,
    ST_TPL_INSERT,   /* built from store_param_cols */
    ST_TPL_GET,      /* built */
    ST_TPL_UPDATE,   /* built */
    ST_TPL_PAGE,     /* built */
    ST_TPL_COUNT,
    ST_TPL_NAME_TAKEN,
    ST_TPL_DELETE,
    ST_COUNT
} stmt_id;

static const char *const static_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_BUCKET_INSERT] = "INSERT INTO buckets(" BUCKET_COLS ") VALUES(?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
    [ST_BUCKET_DELETE] = "DELETE FROM buckets WHERE name = ?1",
    [ST_BUCKET_GET] = "SELECT " BUCKET_COLS " FROM buckets WHERE name = ?1",
    [ST_BUCKET_COUNT] = "SELECT count(*) FROM buckets" BUCKET_WHERE,
    [ST_BUCKET_PAGE] = "SELECT " BUCKET_COLS " FROM buckets" BUCKET_WHERE " ORDER BY name LIMIT ?5 OFFSET ?6",
    [ST_QUEUE_INSERT] = "INSERT INTO queues(" QUEUE_COLS ")"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_QUEUE_FIRST] = "SELECT " QUEUE_COLS " FROM queues WHERE bucket = ?1 ORDER BY create_ms, rowid LIMIT 1",
    [ST_QUEUE_GET] = "SELECT " QUEUE_COLS " FROM queues WHERE id = ?1",
    [ST_QUEUE_UPDATE] = "UPDATE queues SET name = ?3, state = ?4, notify_url = ?5, notify_event = ?6, notify_type = ?7,"
                        " notify_state = ?8, notify_format = ?9, update_ms = ?10 WHERE id = ?1 AND bucket = ?2",
    [ST_QUEUE_COUNT] = "SELECT count(*) FROM queues" QUEUE_WHERE,
    [ST_QUEUE_PAGE] = "SELECT " QUEUE_COLS " FROM queues" QUEUE_WHERE " ORDER BY create_ms, rowid LIMIT ?3 OFFSET ?4",
    [ST_QUEUE_ADMIT] = "SELECT max_size, waiting FROM queues WHERE id = ?1 AND bucket = ?2"
                       " AND EXISTS (SELECT 1 FROM buckets WHERE name = ?2)",
    [ST_JOB_STATE] = "SELECT state FROM jobs WHERE id = ?1 AND bucket = ?2",
    [ST_JOB_CANCEL] = "UPDATE jobs SET state = 5, end_ms = ?3 WHERE id = ?1 AND bucket = ?2 AND state IN (0, 4)",
    /* Of the queues that may start a job, the one whose last claim is oldest (ties: the older
     * queue); of its Submitted jobs, the highest JobLevel, then the oldest. Walks queues_turn in
     * order and stops at the first queue that qualifies, so the cost grows with the queues skipped
     * (Paused or at MaxConcurrent while holding work), not with idle buckets or waiting jobs; its
     * job is one jobs_queue_state probe. INDEXED BY pins that plan: without the index, open fails. */
    [ST_JOB_PICK] = "SELECT j.seq, q.id FROM queues q INDEXED BY queues_turn JOIN jobs j ON j.seq = ("
                    "   SELECT seq FROM jobs WHERE queue_id = q.id AND state = 0 ORDER BY job_level DESC, seq LIMIT 1)"
                    " WHERE q.waiting > 0 AND q.state = 'Active' AND q.running < q.max_concurrent"
                    " ORDER BY q.last_turn, q.rowid LIMIT 1",
    /* the queue just picked goes to the back of the turns */
    [ST_QUEUE_TURN] = "UPDATE queues SET last_turn = 1 + (SELECT coalesce(max(last_turn), 0) FROM queues)"
                      " WHERE id = ?1",
    [ST_JOB_START] = "UPDATE jobs SET state = 1, start_ms = ?2, attempts = attempts + 1, owner = ?3, lease_until = ?4"
                     " WHERE seq = ?1 AND state = 0",
    /* a Running job whose lease ran out, the oldest expiry first; taken over as it is (still
     * Running, so the queue's counters do not move) */
    [ST_JOB_EXPIRED] = "SELECT seq FROM jobs INDEXED BY jobs_lease WHERE state = 1 AND lease_until < ?1"
                       " ORDER BY lease_until LIMIT 1",
    [ST_JOB_TAKEOVER] = "UPDATE jobs SET attempts = attempts + 1, owner = ?2, lease_until = ?3"
                        " WHERE seq = ?1 AND state = 1",
    /* the fence of every later step: ?1 id, ?2 owner, ?3 attempt */
#define JOB_FENCE " WHERE id = ?1 AND owner = ?2 AND attempts = ?3 AND state = 1"
    [ST_JOB_RENEW] = "UPDATE jobs SET lease_until = ?4" JOB_FENCE,
    /* never down: a takeover shows the furthest point reached until it passes it */
    [ST_JOB_PROGRESS] = "UPDATE jobs SET progress = max(progress, ?4)" JOB_FENCE,
    [ST_JOB_STAGE] = "UPDATE jobs SET staged = 1, audio_time = ?4, result = ?5, result_detail = ?6, object_name = ?7,"
                     " detail_object_name = ?8, output_body = ?9, output_content_type = ?10" JOB_FENCE,
    /* Success only from a staged result; output_body is not needed once the job has ended */
    [ST_JOB_FINISH] = "UPDATE jobs SET state = ?4, code = ?5, message = ?6, end_ms = ?7, lease_until = 0,"
                      " output_body = NULL, progress = CASE WHEN ?4 = 2 THEN 1 ELSE progress END" JOB_FENCE
                      " AND (?4 <> 2 OR staged = 1)",
    [ST_JOB_FENCE] = "SELECT state, owner, attempts, staged, bucket FROM jobs WHERE id = ?1",
    [ST_JOB_RELEASE] = "UPDATE jobs SET lease_until = 0 WHERE state = 1 AND owner = ?1",
    [ST_OUTBOX_RELEASE] = "UPDATE outbox SET owner = '', lease_until = 0, next_ms = 0 WHERE state = 0 AND owner = ?1",
#undef JOB_FENCE
    [ST_JOB_COUNT] = "SELECT count(*) FROM jobs WHERE queue_id = ?1 AND state = ?2",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox(job_id, bucket, url, format, next_ms, create_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
    /* due: pending and next_ms passed (a leased row's next_ms is its lease's expiry) */
    [ST_OUTBOX_PICK] = "SELECT id FROM outbox INDEXED BY outbox_due WHERE state = 0 AND next_ms <= ?1"
                       " ORDER BY next_ms, id LIMIT 1",
    [ST_OUTBOX_CLAIM] = "UPDATE outbox SET owner = ?2, attempts = attempts + 1, lease_until = ?3, next_ms = ?3"
                        " WHERE id = ?1 AND state = 0",
    [ST_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?1",
#define OUTBOX_FENCE " WHERE id = ?1 AND owner = ?2 AND attempts = ?3 AND state = 0"
    [ST_OUTBOX_DELIVERED] = "DELETE FROM outbox" OUTBOX_FENCE,
    [ST_OUTBOX_RETRY] = "UPDATE outbox SET owner = '', lease_until = 0, next_ms = ?4, last_error = ?5" OUTBOX_FENCE,
    [ST_OUTBOX_GIVE_UP] = "UPDATE outbox SET state = 2, owner = '', lease_until = 0, last_error = ?5" OUTBOX_FENCE,
#undef OUTBOX_FENCE
    [ST_OUTBOX_COUNT] = "SELECT coalesce(sum(state = 0), 0), coalesce(sum(state = 2), 0) FROM outbox",
    [ST_OUTBOX_OF_JOB] = "SELECT " OUTBOX_COLS " FROM outbox WHERE job_id = ?1 ORDER BY id LIMIT ?2",
    [ST_SETTING_INSERT] = "INSERT INTO settings(name, value) VALUES(?1, ?2) ON CONFLICT(name) DO NOTHING",
    [ST_SETTING_GET] = "SELECT value FROM settings WHERE name = ?1",
    [ST_HV_INSERT] = "INSERT INTO hotvocab(" HOTVOCAB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_HV_WORD_INSERT] = "INSERT INTO hotvocab_words(table_id, pos, word, weight) VALUES(?1, ?2, ?3, ?4)",
    [ST_HV_GET] = "SELECT " HOTVOCAB_COLS " FROM hotvocab WHERE id = ?1 AND bucket = ?2",
    [ST_HV_WORDS] = "SELECT word, weight FROM hotvocab_words WHERE table_id = ?1 ORDER BY pos",
    /* ?3 / ?5: whether name / description are replaced */
    [ST_HV_UPDATE] = "UPDATE hotvocab SET name = CASE WHEN ?3 THEN ?4 ELSE name END,"
                     " description = CASE WHEN ?5 THEN ?6 ELSE description END, update_ms = ?7"
                     " WHERE id = ?1 AND bucket = ?2",
    [ST_HV_WORDS_DELETE] = "DELETE FROM hotvocab_words WHERE table_id = ?1",
    [ST_HV_DELETE] = "DELETE FROM hotvocab WHERE id = ?1 AND bucket = ?2",
    [ST_HV_COUNT] = "SELECT count(*) FROM hotvocab WHERE bucket = ?1",
    [ST_HV_PAGE] = "SELECT " HOTVOCAB_COLS " FROM hotvocab WHERE bucket = ?1 ORDER BY create_ms, rowid"
                   " LIMIT ?2 OFFSET ?3",
    [ST_TPL_COUNT] = "SELECT count(*)" TEMPLATE_WHERE,
    [ST_TPL_NAME_TAKEN] = "SELECT id FROM templates WHERE bucket = ?1 AND name = ?2",
    [ST_TPL_DELETE] = "DELETE FROM templates WHERE id = ?1 AND bucket = ?2",
};

/* ---- connections and the pool ---- */

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
} sq_conn;

typedef struct sq_store {
    char *path;
    int busy_timeout_ms;
    const char *sql[ST_COUNT];
    char *built_sql[ST_COUNT]; /* owned copies of the statements built at open */
    store_pool *pool;
    pthread_mutex_t write_mu; /* one writer at a time inside this process */
} sq_store;

static store_rc db_fail(sqlite3 *db, const char *what)
{
    store_set_error("sqlite %s: %s", what, db ? sqlite3_errmsg(db) : "no connection");
    return STORE_ERROR;
}

static bool exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return false;
}

static void conn_free(sq_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static sq_conn *conn_new(sq_store *sq, char *err, size_t errlen)
{
    sq_conn *c = xcalloc(1, sizeof *c);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(sq->path, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", sq->path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        conn_free(c);
        return NULL;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, sq->busy_timeout_ms);
    if (!exec_sql(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", err, errlen)) {
        conn_free(c);
        return NULL;
    }
    return c;
}

static void *pool_open(void *backend, char *err, size_t errlen)
{
    return conn_new(backend, err, errlen);
}

static void pool_close(void *conn)
{
    conn_free(conn);
}

static sq_conn *conn_acquire(sq_store *sq)
{
    return store_pool_acquire(sq->pool);
}

static void conn_release(sq_store *sq, sq_conn *c)
{
    store_pool_release(sq->pool, c, false);
}

/* The connection's cached statement, prepared on first use; NULL (error set) on failure. */
static sqlite3_stmt *stmt(sq_store *sq, sq_conn *c, stmt_id id)
{
    if (!c->st[id] &&
        sqlite3_prepare_v3(c->db, sq->sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL) != SQLITE_OK) {
        db_fail(c->db, "prepare");
        return NULL;
    }
    return c->st[id];
}

static void stmt_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Runs a statement without result rows (BEGIN, COMMIT, UPDATE ...). */
static bool step_done(sq_store *sq, sq_conn *c, stmt_id id)
{
    sqlite3_stmt *st = stmt(sq, c, id);
    if (!st)
        return false;
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc != SQLITE_DONE) {
        db_fail(c->db, sq->sql[id]);
        return false;
    }
    return true;
}

/* ---- transactions ---- */

static bool write_begin(sq_store *sq, sq_conn *c)
{
    pthread_mutex_lock(&sq->write_mu);
    if (step_done(sq, c, ST_BEGIN_IMMEDIATE))
        return true;
    pthread_mutex_unlock(&sq->write_mu);
    return false;
}

/* Commits (when ok) or rolls back, and releases the write lock. Returns whether it committed. */
static bool write_end(sq_store *sq, sq_conn *c, bool ok)
{
    if (ok && !step_done(sq, c, ST_COMMIT))
        ok = false;
    if (!ok && !sqlite3_get_autocommit(c->db)) {
        sqlite3_stmt *st = stmt(sq, c, ST_ROLLBACK);
        if (st) {
            sqlite3_step(st);
            stmt_done(st);
        }
    }
    pthread_mutex_unlock(&sq->write_mu);
    return ok;
}

static bool read_begin(sq_store *sq, sq_conn *c)
{
    return step_done(sq, c, ST_BEGIN);
}

static void read_end(sq_store *sq, sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db) && !step_done(sq, c, ST_COMMIT))
        step_done(sq, c, ST_ROLLBACK);
}

/* The body of one store operation, run on a pooled connection. */
typedef store_rc (*op_body)(sq_store *sq, sq_conn *c, void *arg);

/* Runs body inside BEGIN IMMEDIATE .. COMMIT under the write lock; STORE_ERROR rolls back, any
 * other result commits (NOT_FOUND / CONFLICT / FULL changed nothing, so that is harmless). */
static store_rc run_write(sq_store *sq, op_body body, void *arg)
{
    sq_conn *c = conn_acquire(sq);
    if (!c)
        return STORE_ERROR;
    store_rc rc = STORE_ERROR;
    if (write_begin(sq, c)) {
        rc = body(sq, c, arg);
        if (!write_end(sq, c, rc != STORE_ERROR))
            rc = STORE_ERROR;
    }
    conn_release(sq, c);
    return rc;
}

/* Runs body on a connection; with snapshot, all its statements read one consistent state. */
static store_rc run_read(sq_store *sq, bool snapshot, op_body body, void *arg)
{
    sq_conn *c = conn_acquire(sq);
    if (!c)
        return STORE_ERROR;
    store_rc rc = STORE_ERROR;
    if (!snapshot || read_begin(sq, c)) {
        rc = body(sq, c, arg);
        read_end(sq, c);
    }
    conn_release(sq, c);
    return rc;
}

/* Steps a statement that returns no rows and resets it; *changes (if given) gets the row count. */
static store_rc exec_stmt(sq_conn *c, sqlite3_stmt *st, const char *what, int *changes)
{
    int r = sqlite3_step(st);
    if (changes)
        *changes = sqlite3_changes(c->db);
    store_rc rc = r == SQLITE_DONE ? STORE_OK : db_fail(c->db, what);
    stmt_done(st);
    return rc;
}

/* Steps to the first row: STORE_OK with the row ready to read (the caller resets the statement),
 * else STORE_NOT_FOUND or STORE_ERROR with the statement already reset. */
static store_rc first_row(sq_conn *c, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        return STORE_OK;
    store_rc rc = r == SQLITE_DONE ? STORE_NOT_FOUND : db_fail(c->db, what);
    stmt_done(st);
    return rc;
}

/* ---- binding and reading helpers ---- */

/* Binds a C string (NULL stays NULL); the string must outlive the step. */
static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* "" and NULL both mean "no filter". */
static void bind_filter(sqlite3_stmt *st, int i, const char *s)
{
    bind_str(st, i, s && s[0] ? s : NULL);
}

static void bind_fixed(sqlite3_stmt *st, int i, const char *field, size_t size)
{
    sqlite3_bind_text(st, i, field, (int)strnlen(field, size), SQLITE_STATIC);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    strlcpy_ok(dst, t ? (const char *)t : "", size);
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void read_bucket(sqlite3_stmt *st, store_bucket *b)
{
    memset(b, 0, sizeof *b);
    col_text(st, 0, b->name, sizeof b->name);
    col_text(st, 1, b->appid, sizeof b->appid);
    col_text(st, 2, b->region, sizeof b->region);
    b->create_ms = sqlite3_column_int64(st, 3);
}

static void read_queue(sqlite3_stmt *st, store_queue *q)
{
    memset(q, 0, sizeof *q);
    col_text(st, 0, q->id, sizeof q->id);
    col_text(st, 1, q->bucket, sizeof q->bucket);
    col_text(st, 2, q->name, sizeof q->name);
    col_text(st, 3, q->state, sizeof q->state);
    q->max_size = sqlite3_column_int(st, 4);
    q->max_concurrent = sqlite3_column_int(st, 5);
    col_text(st, 6, q->notify_url, sizeof q->notify_url);
    col_text(st, 7, q->notify_event, sizeof q->notify_event);
    col_text(st, 8, q->notify_type, sizeof q->notify_type);
    col_text(st, 9, q->notify_state, sizeof q->notify_state);
    col_text(st, 10, q->notify_format, sizeof q->notify_format);
    q->create_ms = sqlite3_column_int64(st, 11);
    q->update_ms = sqlite3_column_int64(st, 12);
}

static void bind_queue(sqlite3_stmt *st, const store_queue *q)
{
    bind_fixed(st, 1, q->id, sizeof q->id);
    bind_fixed(st, 2, q->bucket, sizeof q->bucket);
    bind_fixed(st, 3, q->name, sizeof q->name);
    bind_fixed(st, 4, q->state, sizeof q->state);
    sqlite3_bind_int(st, 5, q->max_size);
    sqlite3_bind_int(st, 6, q->max_concurrent);
    bind_fixed(st, 7, q->notify_url, sizeof q->notify_url);
    bind_fixed(st, 8, q->notify_event, sizeof q->notify_event);
    bind_fixed(st, 9, q->notify_type, sizeof q->notify_type);
    bind_fixed(st, 10, q->notify_state, sizeof q->notify_state);
    bind_fixed(st, 11, q->notify_format, sizeof q->notify_format);
    sqlite3_bind_int64(st, 12, q->create_ms);
    sqlite3_bind_int64(st, 13, q->update_ms);
}

/* Binds every job column, in store_job_cols order, from parameter 1. */
static void bind_job(sqlite3_stmt *st, const store_job *j)
{
    const char *base = (const char *)j;
    for (size_t i = 0; i < store_job_ncols; i++) {
        const store_col *c = &store_job_cols[i];
        const void *p = base + c->off;
        int at = (int)i + 1;
        switch (c->kind) {
        case STORE_COL_TEXT: bind_fixed(st, at, p, c->size); break;
        case STORE_COL_INT: sqlite3_bind_int(st, at, *(const int *)p); break;
        case STORE_COL_I64: sqlite3_bind_int64(st, at, *(const int64_t *)p); break;
        case STORE_COL_REAL: sqlite3_bind_double(st, at, *(const double *)p); break;
        case STORE_COL_STATE: sqlite3_bind_int(st, at, (int)*(const job_state *)p); break;
        case STORE_COL_HEAP: bind_str(st, at, *(char *const *)p); break;
        case STORE_COL_BOOL: sqlite3_bind_int(st, at, *(const bool *)p ? 1 : 0); break;
        }
    }
}

/* Reads "seq, <store_job_cols>" from the current row into a freshly initialised job. */
static void read_job(sqlite3_stmt *st, store_job *j)
{
    store_job_init(j);
    j->seq = sqlite3_column_int64(st, 0);
    char *base = (char *)j;
    for (size_t i = 0; i < store_job_ncols; i++) {
        const store_col *c = &store_job_cols[i];
        void *p = base + c->off;
        int at = (int)i + 1;
        switch (c->kind) {
        case STORE_COL_TEXT: col_text(st, at, p, c->size); break;
        case STORE_COL_INT: *(int *)p = sqlite3_column_int(st, at); break;
        case STORE_COL_I64: *(int64_t *)p = sqlite3_column_int64(st, at); break;
        case STORE_COL_REAL: *(double *)p = sqlite3_column_double(st, at); break;
        case STORE_COL_STATE: *(job_state *)p = (job_state)sqlite3_column_int(st, at); break;
        case STORE_COL_HEAP: {
            const unsigned char *t = sqlite3_column_text(st, at);
            *(char **)p = t ? xstrdup((const char *)t) : NULL;
            break;
        }
        case STORE_COL_BOOL: *(bool *)p = sqlite3_column_int(st, at) != 0; break;
        }
    }
}

/* ---- open / close ---- */

static void build_job_sql(sq_store *sq)
{
    buf cols;
    buf_init(&cols);
    for (size_t i = 0; i < store_job_ncols; i++)
        buf_printf(&cols, "%s%s", i ? ", " : "", store_job_cols[i].name);

    buf b;
    buf_init(&b);
    buf_printf(&b, "INSERT INTO jobs(%s) VALUES(", cols.data);
    for (size_t i = 0; i < store_job_ncols; i++)
        buf_puts(&b, i ? ", ?" : "?");
    buf_puts(&b, ")");
    sq->built_sql[ST_JOB_INSERT] = buf_steal(&b);

    buf_printf(&b, "SELECT seq, %s FROM jobs WHERE id = ?1 AND bucket = ?2", cols.data);
    sq->built_sql[ST_JOB_GET] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, %s FROM jobs WHERE seq = ?1", cols.data);
    sq->built_sql[ST_JOB_BY_SEQ] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, %s" JOB_LIST_WHERE " AND seq > ?7 ORDER BY seq ASC LIMIT ?8", cols.data);
    sq->built_sql[ST_JOB_LIST_ASC] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, %s" JOB_LIST_WHERE " AND seq < ?7 ORDER BY seq DESC LIMIT ?8", cols.data);
    sq->built_sql[ST_JOB_LIST_DESC] = buf_steal(&b);
    buf_free(&cols);

    for (int i = 0; i < ST_COUNT; i++)
        sq->sql[i] = sq->built_sql[i] ? sq->built_sql[i] : static_sql[i];
}

/* The template statements that name every parameter column, built from store_param_cols. Must run before
 * build_job_sql, which settles sq->sql. */
static void build_template_sql(sq_store *sq)
{
    buf cols, sets, marks;
    buf_init(&cols);
    buf_init(&sets);
    buf_init(&marks);
    for (size_t i = 0; i < store_param_ncols; i++) {
        int at = TEMPLATE_FIRST_PARAM + (int)i;
        buf_printf(&cols, ", %s", store_param_cols[i].name);
        buf_printf(&sets, ", %s = ?%d", store_param_cols[i].name, at);
        buf_printf(&marks, ", ?%d", at);
    }
    buf b;
    buf_init(&b);
    buf_printf(&b, "INSERT INTO templates(" TEMPLATE_COLS "%s) VALUES(?1, ?2, ?3, ?4, ?5%s)", cols.data, marks.data);
    sq->built_sql[ST_TPL_INSERT] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, " TEMPLATE_COLS "%s FROM templates WHERE id = ?1 AND bucket = ?2", cols.data);
    sq->built_sql[ST_TPL_GET] = buf_steal(&b);
    /* ?4 (create_ms) is bound like the insert's and left unused: an update keeps the creation time */
    buf_printf(&b, "UPDATE templates SET name = ?3, update_ms = ?5%s WHERE id = ?1 AND bucket = ?2", sets.data);
    sq->built_sql[ST_TPL_UPDATE] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, " TEMPLATE_COLS "%s" TEMPLATE_WHERE " ORDER BY seq DESC LIMIT ?4 OFFSET ?5",
               cols.data);
    sq->built_sql[ST_TPL_PAGE] = buf_steal(&b);
    buf_free(&cols);
    buf_free(&sets);
    buf_free(&marks);
}

/* Runs ALTER TABLE ADD COLUMN for a migration's {table, column, declaration} unless the column is
 * already there (a database whose user_version was set back). False, with err set, on failure. */
static bool add_column_unless_present(sqlite3 *db, const char *const add[3], char *err, size_t errlen)
{
    if (!add[0])
        return true;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot inspect table %s: %s", add[0], sqlite3_errmsg(db));
        return false;
    }
    sqlite3_bind_text(st, 1, add[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, add[1], -1, SQLITE_STATIC);
    bool present = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (present)
        return true;
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", add[0], add[1], add[2]);
    return exec_sql(db, sql, err, errlen);
}

/* Brings the schema to SCHEMA_VERSION and recounts the per-queue counters. */
static bool migrate(sqlite3 *db, char *err, size_t errlen)
{
    if (!exec_sql(db, "BEGIN IMMEDIATE", err, errlen))
        return false;
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    bool ok = true;
    if (version < 0 || version > SCHEMA_VERSION) {
        snprintf(err, errlen, "database schema version %d is not one this build knows (%d)", version, SCHEMA_VERSION);
        ok = false;
    }
    for (int v = version; ok && v < SCHEMA_VERSION; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        for (int i = 0; ok && i < MIGRATION_MAX_ADD; i++)
            ok = add_column_unless_present(db, migrations[v].add_column[i], err, errlen);
        ok = ok && exec_sql(db, migrations[v].sql, err, errlen) && exec_sql(db, sql, err, errlen);
    }
    /* The counters are kept by triggers; recounting at start-up is cheap insurance. */
    ok = ok && exec_sql(db,
                        "UPDATE queues SET"
                        " waiting = (SELECT count(*) FROM jobs WHERE queue_id = queues.id AND state = 0),"
                        " running = (SELECT count(*) FROM jobs WHERE queue_id = queues.id AND state = 1)",
                        err, errlen);
    char ignored[64];
    if (!exec_sql(db, ok ? "COMMIT" : "ROLLBACK", ok ? err : ignored, ok ? errlen : sizeof ignored))
        ok = false;
    return ok;
}

static bool enable_wal(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        ok = mode && strcmp((const char *)mode, "wal") == 0;
    }
    if (!ok)
        snprintf(err, errlen, "cannot switch the database to WAL mode: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ok;
}

static void sq_close(void *impl)
{
    sq_store *sq = impl;
    if (!sq)
        return;
    store_pool_free(sq->pool);
    for (int i = 0; i < ST_COUNT; i++)
        free(sq->built_sql[i]);
    pthread_mutex_destroy(&sq->write_mu);
    free(sq->path);
    free(sq);
}

/* SQLite's memory statistics take one process-wide mutex on every allocation, which serialises all
 * connections under load (measured: GET /asr_jobs/<id> with 64 clients). They must be switched off
 * before SQLite initialises; if something initialised it first, the call fails harmlessly. */
static void sqlite_global_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void *store_sqlite_open(const store_params *p, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_global_setup);
    if (!p->sqlite_path || !p->sqlite_path[0]) {
        snprintf(err, errlen, "no sqlite path given");
        return NULL;
    }
    sq_store *sq = xcalloc(1, sizeof *sq);
    sq->path = xstrdup(p->sqlite_path);
    sq->busy_timeout_ms = p->busy_timeout_ms > 0 ? p->busy_timeout_ms : 5000;
    pthread_mutex_init(&sq->write_mu, NULL);
    build_template_sql(sq);
    build_job_sql(sq);

    sq_conn *c = conn_new(sq, err, errlen);
    if (!c || !enable_wal(c->db, err, errlen) || !migrate(c->db, err, errlen)) {
        conn_free(c);
        sq_close(sq);
        return NULL;
    }
    /* Prepare every statement once now, so a schema/column mismatch fails at open, not later. */
    for (int i = 0; i < ST_COUNT; i++) {
        if (!stmt(sq, c, (stmt_id)i)) {
            snprintf(err, errlen, "%s", store_last_error());
            conn_free(c);
            sq_close(sq);
            return NULL;
        }
    }
    sq->pool = store_pool_new(SQ_MAX_CONNECTIONS, sq, pool_open, pool_close, c);
    return sq;
}

/* ---- buckets ---- */

static store_rc insert_bucket_row(sq_store *sq, sq_conn *c, const store_bucket *b)
{
    sqlite3_stmt *st = stmt(sq, c, ST_BUCKET_INSERT);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, b->name, sizeof b->name);
    bind_fixed(st, 2, b->appid, sizeof b->appid);
    bind_fixed(st, 3, b->region, sizeof b->region);
    sqlite3_bind_int64(st, 4, b->create_ms > 0 ? b->create_ms : time_now_ms());
    return exec_stmt(c, st, "insert bucket", NULL);
}

/* The bucket's first queue, created with the defaults when it has none. */
static store_rc default_queue_of(sq_store *sq, sq_conn *c, const char *bucket, store_queue *q)
{
    sqlite3_stmt *st = stmt(sq, c, ST_QUEUE_FIRST);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, bucket);
    store_rc rc = first_row(c, st, "find queue");
    if (rc == STORE_OK) {
        read_queue(st, q);
        stmt_done(st);
        return STORE_OK;
    }
    if (rc != STORE_NOT_FOUND)
        return rc;
    store_default_queue(q, bucket, time_now_ms());
    sqlite3_stmt *ins = stmt(sq, c, ST_QUEUE_INSERT);
    if (!ins)
        return STORE_ERROR;
    bind_queue(ins, q);
    return exec_stmt(c, ins, "insert queue", NULL);
}

typedef struct bucket_open_args {
    const store_bucket *b;
    store_queue q;
} bucket_open_args;

static store_rc bucket_open_body(sq_store *sq, sq_conn *c, void *arg)
{
    bucket_open_args *a = arg;
    store_rc rc = insert_bucket_row(sq, c, a->b);
    return rc == STORE_OK ? default_queue_of(sq, c, a->b->name, &a->q) : rc;
}

static store_rc sq_bucket_open(void *impl, const store_bucket *b, store_queue *out_queue)
{
    bucket_open_args a = {.b = b};
    store_rc rc = run_write(impl, bucket_open_body, &a);
    if (rc == STORE_OK && out_queue)
        *out_queue = a.q;
    return rc;
}

static store_rc bucket_close_body(sq_store *sq, sq_conn *c, void *arg)
{
    sqlite3_stmt *st = stmt(sq, c, ST_BUCKET_DELETE);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, arg);
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "delete bucket", &changes);
    return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

static store_rc sq_bucket_close(void *impl, const char *name)
{
    return run_write(impl, bucket_close_body, (void *)name);
}

/* Runs a bound "SELECT count(*)" statement. */
static store_rc count_rows(sq_conn *c, sqlite3_stmt *st, int64_t *out)
{
    store_rc rc = first_row(c, st, "count");
    if (rc == STORE_OK) {
        *out = sqlite3_column_int64(st, 0);
        stmt_done(st);
    }
    return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
}

/* One row by its key: the statement takes ?1 = key1 (and ?2 = key2 when given), and read_row(st, out,
 * 0) copies the row out. The shape of every "get by id" here. */
typedef struct row_get {
    stmt_id id;
    const char *what;              /* names the read in an error */
    const char *key1, *key2;       /* key2 NULL: a one-parameter statement */
    void (*read_row)(sqlite3_stmt *st, void *out, size_t i);
    void *out;
} row_get;

static store_rc row_get_body(sq_store *sq, sq_conn *c, void *arg)
{
    row_get *g = arg;
    sqlite3_stmt *st = stmt(sq, c, g->id);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, g->key1);
    if (g->key2)
        bind_str(st, 2, g->key2);
    store_rc rc = first_row(c, st, g->what);
    if (rc == STORE_OK) {
        g->read_row(st, g->out, 0);
        stmt_done(st);
    }
    return rc;
}

static store_rc get_row(void *impl, row_get g)
{
    return run_read(impl, false, row_get_body, &g);
}

/* A page of a pageNumber/pageSize listing: count, then the rows of the page. */
typedef struct page_query {
    stmt_id count_id, page_id;
    void (*bind_filter)(sqlite3_stmt *st, const void *filter);
    const void *filter;
    int size;         /* 1..100 */
    int64_t offset;
    int limit_param;  /* index of the LIMIT parameter; OFFSET follows it */
    void (*read_row)(sqlite3_stmt *st, void *out, size_t i);
    void *out;
    size_t *n;
    int64_t *total;
} page_query;

static store_rc page_body(sq_store *sq, sq_conn *c, void *arg)
{
    page_query *q = arg;
    sqlite3_stmt *cnt = stmt(sq, c, q->count_id), *page = stmt(sq, c, q->page_id);
    if (!cnt || !page)
        return STORE_ERROR;
    q->bind_filter(cnt, q->filter);
    if (count_rows(c, cnt, q->total) != STORE_OK)
        return STORE_ERROR;
    q->bind_filter(page, q->filter);
    sqlite3_bind_int(page, q->limit_param, q->size);
    sqlite3_bind_int64(page, q->limit_param + 1, q->offset);
    int r;
    while ((r = sqlite3_step(page)) == SQLITE_ROW)
        q->read_row(page, q->out, (*q->n)++);
    store_rc rc = r == SQLITE_DONE ? STORE_OK : db_fail(c->db, "list page");
    stmt_done(page);
    return rc;
}

static store_rc run_page(sq_store *sq, page_query *q, int page_number, int page_size)
{
    *q->n = 0;
    *q->total = 0;
    q->size = clamp(page_size, 1, 100);
    q->offset = (int64_t)(page_number > 1 ? page_number - 1 : 0) * q->size;
    return run_read(sq, true, page_body, q);
}

static void bind_bucket_filter(sqlite3_stmt *st, const void *filter)
{
    const store_bucket_filter *f = filter;
    bind_str(st, 1, f->appid ? f->appid : "");
    bind_filter(st, 2, f->regions);
    bind_filter(st, 3, f->names);
    bind_filter(st, 4, f->name_prefix);
}

static void read_bucket_at(sqlite3_stmt *st, void *out, size_t i)
{
    read_bucket(st, (store_bucket *)out + i);
}

static store_rc sq_bucket_get(void *impl, const char *name, store_bucket *out)
{
    return get_row(impl, (row_get){ST_BUCKET_GET, "get bucket", name, NULL, read_bucket_at, out});
}

static store_rc sq_bucket_list(void *impl, const store_bucket_filter *f, store_bucket *out, size_t *n,
                               int64_t *total)
{
    page_query q = {.count_id = ST_BUCKET_COUNT, .page_id = ST_BUCKET_PAGE, .bind_filter = bind_bucket_filter,
                    .filter = f, .limit_param = 5, .read_row = read_bucket_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

/* ---- queues ---- */

static void read_queue_at(sqlite3_stmt *st, void *out, size_t i)
{
    read_queue(st, (store_queue *)out + i);
}

static store_rc sq_queue_get(void *impl, const char *id, store_queue *out)
{
    return get_row(impl, (row_get){ST_QUEUE_GET, "get queue", id, NULL, read_queue_at, out});
}

static store_rc queue_update_body(sq_store *sq, sq_conn *c, void *arg)
{
    const store_queue *q = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_QUEUE_UPDATE);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, q->id, sizeof q->id);
    bind_fixed(st, 2, q->bucket, sizeof q->bucket);
    bind_fixed(st, 3, q->name, sizeof q->name);
    bind_fixed(st, 4, q->state, sizeof q->state);
    bind_fixed(st, 5, q->notify_url, sizeof q->notify_url);
    bind_fixed(st, 6, q->notify_event, sizeof q->notify_event);
    bind_fixed(st, 7, q->notify_type, sizeof q->notify_type);
    bind_fixed(st, 8, q->notify_state, sizeof q->notify_state);
    bind_fixed(st, 9, q->notify_format, sizeof q->notify_format);
    sqlite3_bind_int64(st, 10, q->update_ms > 0 ? q->update_ms : time_now_ms());
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "update queue", &changes);
    return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

static store_rc sq_queue_update(void *impl, const store_queue *q)
{
    return run_write(impl, queue_update_body, (void *)q);
}

static void bind_queue_filter(sqlite3_stmt *st, const void *filter)
{
    const store_queue_filter *f = filter;
    bind_str(st, 1, f->bucket ? f->bucket : "");
    bool any = !f->state || !f->state[0] || strcmp(f->state, "All") == 0;
    bind_str(st, 2, any ? NULL : f->state);
}

static store_rc sq_queue_list(void *impl, const store_queue_filter *f, store_queue *out, size_t *n, int64_t *total)
{
    page_query q = {.count_id = ST_QUEUE_COUNT, .page_id = ST_QUEUE_PAGE, .bind_filter = bind_queue_filter,
                    .filter = f, .limit_param = 3, .read_row = read_queue_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

/* ---- job insert (one batch of a group commit) ---- */

static void item_fail(store_insert_item *it, store_rc rc, const char *msg)
{
    it->rc = rc;
    it->job->seq = 0;
    snprintf(it->err, sizeof it->err, "%s", msg);
}

/* MaxSize check for one job inside the batch transaction: STORE_OK when it may be added. */
static store_rc admit_job(sq_store *sq, sq_conn *c, const store_job *j)
{
    sqlite3_stmt *st = stmt(sq, c, ST_QUEUE_ADMIT);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, j->queue_id, sizeof j->queue_id);
    bind_fixed(st, 2, j->bucket, sizeof j->bucket);
    store_rc rc = first_row(c, st, "admit job");
    if (rc == STORE_NOT_FOUND)
        store_set_error("queue %s of bucket %s does not exist, or the bucket is not open", j->queue_id, j->bucket);
    if (rc != STORE_OK)
        return rc;
    int64_t max_size = sqlite3_column_int64(st, 0), waiting = sqlite3_column_int64(st, 1);
    stmt_done(st);
    if (waiting < max_size)
        return STORE_OK;
    store_set_error("queue %s already holds %lld waiting jobs", j->queue_id, (long long)waiting);
    return STORE_FULL;
}

/* Inserts one job inside the batch transaction. */
static void insert_one(sq_store *sq, sq_conn *c, store_insert_item *it)
{
    store_job *j = it->job;
    j->state = JOB_SUBMITTED;
    store_rc rc = admit_job(sq, c, j);
    sqlite3_stmt *st = rc == STORE_OK ? stmt(sq, c, ST_JOB_INSERT) : NULL;
    if (rc == STORE_OK && !st)
        rc = STORE_ERROR;
    if (rc != STORE_OK) {
        item_fail(it, rc, store_last_error());
        return;
    }
    bind_job(st, j);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_DONE) {
        it->rc = STORE_OK;
        j->seq = sqlite3_last_insert_rowid(c->db);
        return;
    }
    db_fail(c->db, "insert job");
    bool dup = r == SQLITE_CONSTRAINT_UNIQUE || r == SQLITE_CONSTRAINT_PRIMARYKEY;
    item_fail(it, dup ? STORE_CONFLICT : STORE_ERROR, store_last_error());
}

/* After a failed transaction: every job that was not refused on its own merits failed. */
static void fail_batch(store_insert_item **items, size_t n, const char *msg)
{
    for (size_t i = 0; i < n; i++)
        if (items[i]->rc == STORE_OK || items[i]->rc == STORE_ERROR)
            item_fail(items[i], STORE_ERROR, msg);
}

typedef struct batch_args {
    store_insert_item **items;
    size_t n;
} batch_args;

static store_rc insert_batch_body(sq_store *sq, sq_conn *c, void *arg)
{
    batch_args *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        insert_one(sq, c, a->items[i]);
        if (sqlite3_get_autocommit(c->db)) {
            /* a severe error rolled the whole transaction back: nothing of this batch stands */
            store_set_error("%s", a->items[i]->rc == STORE_ERROR ? a->items[i]->err : "transaction rolled back");
            return STORE_ERROR;
        }
    }
    return STORE_OK; /* each item carries its own result */
}

static void sq_job_insert_batch(void *impl, store_insert_item **items, size_t n)
{
    batch_args a = {items, n};
    if (run_write(impl, insert_batch_body, &a) != STORE_OK)
        fail_batch(items, n, store_last_error()); /* nothing committed */
}

/* ---- job reads ---- */

static void read_job_at(sqlite3_stmt *st, void *out, size_t i)
{
    read_job(st, (store_job *)out + i);
}

static store_rc sq_job_get(void *impl, const char *bucket, const char *id, store_job *out)
{
    return get_row(impl, (row_get){ST_JOB_GET, "get job", id, bucket, read_job_at, out});
}

typedef struct job_list_args {
    const store_job_filter *f;
    store_job *out;
    size_t *n;
    int64_t *next_seq;
} job_list_args;

static void bind_job_filter(sqlite3_stmt *st, const store_job_filter *f, int size)
{
    bind_str(st, 1, f->bucket ? f->bucket : "");
    bind_filter(st, 2, f->queue_id);
    bind_filter(st, 3, f->tag);
    sqlite3_bind_int64(st, 4, f->state_mask);
    sqlite3_bind_int64(st, 5, f->start_create_ms > 0 ? f->start_create_ms : INT64_MIN);
    sqlite3_bind_int64(st, 6, f->end_create_ms > 0 ? f->end_create_ms : INT64_MAX);
    /* always a real bound on seq, so the (bucket, seq) index seeks straight to the page */
    sqlite3_bind_int64(st, 7, f->after_seq > 0 ? f->after_seq : (f->descending ? INT64_MAX : 0));
    sqlite3_bind_int(st, 8, size + 1); /* one more than asked tells whether a next page exists */
}

static store_rc job_list_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_list_args *a = arg;
    int size = clamp(a->f->size, 1, 100);
    sqlite3_stmt *st = stmt(sq, c, a->f->descending ? ST_JOB_LIST_DESC : ST_JOB_LIST_ASC);
    if (!st)
        return STORE_ERROR;
    bind_job_filter(st, a->f, size);
    int r;
    bool more = false;
    while (!more && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*a->n == (size_t)size)
            more = true;
        else
            read_job(st, &a->out[(*a->n)++]);
    }
    store_rc rc = more || r == SQLITE_DONE ? STORE_OK : db_fail(c->db, "list jobs");
    stmt_done(st);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < *a->n; i++)
            store_job_clear(&a->out[i]);
        *a->n = 0;
    } else if (more) {
        *a->next_seq = a->out[*a->n - 1].seq;
    }
    return rc;
}

static store_rc sq_job_list(void *impl, const store_job_filter *f, store_job *out, size_t *n, int64_t *next_seq)
{
    *n = 0;
    *next_seq = 0;
    job_list_args a = {f, out, n, next_seq};
    return run_read(impl, false, job_list_body, &a);
}

typedef struct job_count_args {
    const char *queue_id;
    job_state state;
    int64_t *out;
} job_count_args;

static store_rc job_count_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_count_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_COUNT);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->queue_id);
    sqlite3_bind_int(st, 2, (int)a->state);
    return count_rows(c, st, a->out);
}

static store_rc sq_job_count(void *impl, const char *queue_id, job_state state, int64_t *out)
{
    job_count_args a = {queue_id, state, out};
    return run_read(impl, false, job_count_body, &a);
}

/* ---- job state changes ---- */

/* After an UPDATE matched nothing: was the job missing (NOT_FOUND) or in the wrong state? */
static store_rc why_unchanged(sq_store *sq, sq_conn *c, const char *bucket, const char *id)
{
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_STATE);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, id);
    bind_str(st, 2, bucket);
    store_rc rc = first_row(c, st, "job state");
    if (rc == STORE_NOT_FOUND)
        store_set_error("job %s does not exist in bucket %s", id, bucket);
    if (rc != STORE_OK)
        return rc;
    store_set_error("job %s is %s", id, job_state_name((job_state)sqlite3_column_int(st, 0)));
    stmt_done(st);
    return STORE_CONFLICT;
}

/* Queues a job's callback in the outbox: called inside the transaction that ends the job. */
static store_rc outbox_add(sq_store *sq, sq_conn *c, const char *job_id, const char *bucket, const store_callback *cb,
                           int64_t now_ms)
{
    if (!cb)
        return STORE_OK;
    sqlite3_stmt *st = stmt(sq, c, ST_OUTBOX_INSERT);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, job_id);
    bind_str(st, 2, bucket);
    bind_fixed(st, 3, cb->url, sizeof cb->url);
    bind_fixed(st, 4, cb->format[0] ? cb->format : "XML", sizeof cb->format);
    sqlite3_bind_int64(st, 5, now_ms);
    return exec_stmt(c, st, "queue callback", NULL);
}

typedef struct job_cancel_args {
    const char *bucket, *id;
    int64_t now_ms;
    const store_callback *cb;
} job_cancel_args;

static store_rc job_cancel_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_cancel_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_CANCEL);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->id);
    bind_str(st, 2, a->bucket);
    sqlite3_bind_int64(st, 3, a->now_ms);
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "cancel job", &changes);
    if (rc == STORE_OK && changes == 0)
        return why_unchanged(sq, c, a->bucket, a->id);
    return rc == STORE_OK ? outbox_add(sq, c, a->id, a->bucket, a->cb, a->now_ms) : rc;
}

static store_rc sq_job_cancel(void *impl, const char *bucket, const char *id, int64_t now_ms, const store_callback *cb)
{
    job_cancel_args a = {bucket, id, now_ms, cb};
    return run_write(impl, job_cancel_body, &a);
}

typedef struct job_claim_args {
    const store_claim *claim;
    store_job *out;
} job_claim_args;

/* The seq of the next job to run (see ST_JOB_PICK), or STORE_NOT_FOUND; its queue's turn is taken.
 *
 * The decision lives here, in the claim's write transaction, rather than in the scheduler's memory:
 * whose turn it is then survives restarts, and several server processes claiming from one database
 * share one rotation (BEGIN IMMEDIATE serialises their claims; store_pg.c does the same with the
 * queue row locked). */
static store_rc pick_runnable(sq_store *sq, sq_conn *c, int64_t *seq)
{
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_PICK), *turn = stmt(sq, c, ST_QUEUE_TURN);
    if (!st || !turn)
        return STORE_ERROR;
    store_rc rc = first_row(c, st, "pick job");
    if (rc != STORE_OK)
        return rc;
    *seq = sqlite3_column_int64(st, 0);
    sqlite3_bind_text(turn, 1, (const char *)sqlite3_column_text(st, 1), -1, SQLITE_TRANSIENT);
    stmt_done(st);
    return exec_stmt(c, turn, "take the queue's turn", NULL);
}

/* The seq of a Running job whose lease has expired, or STORE_NOT_FOUND. */
static store_rc pick_expired(sq_store *sq, sq_conn *c, int64_t now_ms, int64_t *seq)
{
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_EXPIRED);
    if (!st)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now_ms);
    store_rc rc = first_row(c, st, "find expired lease");
    if (rc == STORE_OK) {
        *seq = sqlite3_column_int64(st, 0);
        stmt_done(st);
    }
    return rc;
}

/* Takes over an expired lease if there is one, else starts the next runnable job. */
static store_rc job_claim_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_claim_args *a = arg;
    const store_claim *cl = a->claim;
    int64_t seq = 0, lease_until = cl->now_ms + cl->lease_ms;
    bool takeover = true;
    store_rc rc = pick_expired(sq, c, cl->now_ms, &seq);
    if (rc == STORE_NOT_FOUND) {
        takeover = false;
        rc = pick_runnable(sq, c, &seq);
    }
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *up = stmt(sq, c, takeover ? ST_JOB_TAKEOVER : ST_JOB_START), *get = stmt(sq, c, ST_JOB_BY_SEQ);
    if (!up || !get)
        return STORE_ERROR;
    sqlite3_bind_int64(up, 1, seq);
    if (takeover) {
        bind_str(up, 2, cl->node);
        sqlite3_bind_int64(up, 3, lease_until);
    } else {
        sqlite3_bind_int64(up, 2, cl->now_ms);
        bind_str(up, 3, cl->node);
        sqlite3_bind_int64(up, 4, lease_until);
    }
    int changes = 0;
    if (exec_stmt(c, up, takeover ? "take over job" : "start job", &changes) != STORE_OK)
        return STORE_ERROR;
    if (changes != 1) {
        store_set_error("job seq %lld changed state while being claimed", (long long)seq);
        return STORE_ERROR;
    }
    sqlite3_bind_int64(get, 1, seq);
    rc = first_row(c, get, "read claimed job");
    if (rc != STORE_OK)
        return STORE_ERROR;
    read_job(get, a->out);
    stmt_done(get);
    return STORE_OK;
}

static store_rc sq_job_claim(void *impl, const store_claim *claim, store_job *out)
{
    store_job_init(out);
    job_claim_args a = {claim, out};
    store_rc rc = run_write(impl, job_claim_body, &a);
    if (rc != STORE_OK)
        store_job_clear(out); /* a job read before a failed commit is not claimed */
    return rc;
}

/* After a fenced UPDATE matched nothing: the job is gone (NOT_FOUND), or its lease is not the
 * caller's any more / it is not Running (CONFLICT), or it is the caller's but a Success has no
 * staged result (ERROR: a caller bug, not a lost lease). */
static store_rc why_fenced(sq_store *sq, sq_conn *c, const store_job *j, bool success)
{
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_FENCE);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, j->id);
    store_rc rc = first_row(c, st, "job lease");
    if (rc == STORE_OK && strcmp((const char *)sqlite3_column_text(st, 4), j->bucket) != 0) {
        stmt_done(st);
        rc = STORE_NOT_FOUND;
    }
    if (rc == STORE_NOT_FOUND)
        store_set_error("job %s does not exist in bucket %s", j->id, j->bucket);
    if (rc != STORE_OK)
        return rc;
    job_state state = (job_state)sqlite3_column_int(st, 0);
    bool mine = state == JOB_RUNNING && strcmp((const char *)sqlite3_column_text(st, 1), j->owner) == 0 &&
                sqlite3_column_int(st, 2) == j->attempts;
    bool staged = sqlite3_column_int(st, 3) != 0;
    char owner[64];
    col_text(st, 1, owner, sizeof owner);
    int attempt = sqlite3_column_int(st, 2);
    stmt_done(st);
    if (mine && success && !staged) {
        store_set_error("job %s cannot end as Success: its result was not staged", j->id);
        return STORE_ERROR;
    }
    if (state == JOB_RUNNING)
        store_set_error("job %s: the lease of attempt %d (%s) was lost to attempt %d (%s)", j->id, j->attempts,
                        j->owner, attempt, owner);
    else
        store_set_error("job %s is %s", j->id, job_state_name(state));
    return STORE_CONFLICT;
}

/* Binds the fence (?1 id, ?2 owner, ?3 attempt) of a Running job. */
static void bind_fence(sqlite3_stmt *st, const store_job *j)
{
    bind_fixed(st, 1, j->id, sizeof j->id);
    bind_fixed(st, 2, j->owner, sizeof j->owner);
    sqlite3_bind_int(st, 3, j->attempts);
}

/* Runs a fenced statement (already bound); CONFLICT & co. via why_fenced when it matched nothing.
 * success: the statement ends the job as Success (which needs a staged result). */
static store_rc run_fenced(sq_store *sq, sq_conn *c, sqlite3_stmt *st, const store_job *j, bool success,
                           const char *what)
{
    int changes = 0;
    store_rc rc = exec_stmt(c, st, what, &changes);
    return rc == STORE_OK && changes == 0 ? why_fenced(sq, c, j, success) : rc;
}

typedef struct job_renew_args {
    store_job *j;
    int64_t lease_until;
} job_renew_args;

static store_rc job_renew_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_renew_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_RENEW);
    if (!st)
        return STORE_ERROR;
    bind_fence(st, a->j);
    sqlite3_bind_int64(st, 4, a->lease_until);
    return run_fenced(sq, c, st, a->j, false, "renew lease");
}

static store_rc sq_job_renew(void *impl, store_job *j, int64_t now_ms, int64_t lease_ms)
{
    job_renew_args a = {j, now_ms + lease_ms};
    store_rc rc = run_write(impl, job_renew_body, &a);
    if (rc == STORE_OK)
        j->lease_until_ms = a.lease_until;
    return rc;
}

typedef struct job_progress_args {
    const store_job *j;
    double progress;
} job_progress_args;

static store_rc job_progress_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_progress_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_PROGRESS);
    if (!st)
        return STORE_ERROR;
    bind_fence(st, a->j);
    sqlite3_bind_double(st, 4, a->progress);
    return run_fenced(sq, c, st, a->j, false, "record progress");
}

static store_rc sq_job_progress(void *impl, const store_job *j, double progress)
{
    job_progress_args a = {j, progress};
    return run_write(impl, job_progress_body, &a);
}

static store_rc job_stage_body(sq_store *sq, sq_conn *c, void *arg)
{
    store_job *j = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_STAGE);
    if (!st)
        return STORE_ERROR;
    bind_fence(st, j);
    sqlite3_bind_double(st, 4, j->audio_time);
    bind_str(st, 5, j->result);
    bind_str(st, 6, j->result_detail);
    bind_fixed(st, 7, j->object_name, sizeof j->object_name);
    bind_fixed(st, 8, j->detail_object_name, sizeof j->detail_object_name);
    bind_str(st, 9, j->output_body);
    bind_fixed(st, 10, j->output_content_type, sizeof j->output_content_type);
    return run_fenced(sq, c, st, j, false, "stage result");
}

static store_rc sq_job_stage(void *impl, store_job *j)
{
    store_rc rc = run_write(impl, job_stage_body, j);
    if (rc == STORE_OK)
        j->staged = true;
    return rc;
}

typedef struct job_finish_args {
    const store_job *j;
    const store_callback *cb;
} job_finish_args;

static store_rc job_finish_body(sq_store *sq, sq_conn *c, void *arg)
{
    job_finish_args *a = arg;
    const store_job *j = a->j;
    sqlite3_stmt *st = stmt(sq, c, ST_JOB_FINISH);
    if (!st)
        return STORE_ERROR;
    bind_fence(st, j);
    sqlite3_bind_int(st, 4, (int)j->state);
    bind_fixed(st, 5, j->code, sizeof j->code);
    bind_fixed(st, 6, j->message, sizeof j->message);
    sqlite3_bind_int64(st, 7, j->end_ms);
    store_rc rc = run_fenced(sq, c, st, j, j->state == JOB_SUCCESS, "finish job");
    return rc == STORE_OK ? outbox_add(sq, c, j->id, j->bucket, a->cb, j->end_ms ? j->end_ms : time_now_ms()) : rc;
}

static store_rc sq_job_finish(void *impl, const store_job *j, const store_callback *cb)
{
    job_finish_args a = {j, cb};
    return run_write(impl, job_finish_body, &a);
}

static store_rc release_body(sq_store *sq, sq_conn *c, void *arg)
{
    const void *const *a = arg;
    sqlite3_stmt *jobs = stmt(sq, c, ST_JOB_RELEASE), *outbox = stmt(sq, c, ST_OUTBOX_RELEASE);
    if (!jobs || !outbox)
        return STORE_ERROR;
    bind_str(jobs, 1, a[0]);
    bind_str(outbox, 1, a[0]);
    store_rc rc = exec_stmt(c, jobs, "release leases", (int *)a[1]);
    return rc == STORE_OK ? exec_stmt(c, outbox, "release callback leases", NULL) : rc;
}

static store_rc sq_job_release(void *impl, const char *node, int *count)
{
    *count = 0;
    const void *a[2] = {node, count};
    return run_write(impl, release_body, a);
}

/* ---- the callback outbox ---- */

static void read_outbox(sqlite3_stmt *st, store_outbox *o)
{
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, o->job_id, sizeof o->job_id);
    col_text(st, 2, o->bucket, sizeof o->bucket);
    col_text(st, 3, o->url, sizeof o->url);
    col_text(st, 4, o->format, sizeof o->format);
    o->attempts = sqlite3_column_int(st, 5);
    col_text(st, 6, o->owner, sizeof o->owner);
    o->lease_until_ms = sqlite3_column_int64(st, 7);
    o->next_ms = sqlite3_column_int64(st, 8);
    o->create_ms = sqlite3_column_int64(st, 9);
    col_text(st, 10, o->last_error, sizeof o->last_error);
}

typedef struct outbox_claim_args {
    const store_claim *claim;
    store_outbox *out;
} outbox_claim_args;

static store_rc outbox_claim_body(sq_store *sq, sq_conn *c, void *arg)
{
    outbox_claim_args *a = arg;
    sqlite3_stmt *pick = stmt(sq, c, ST_OUTBOX_PICK), *claim = stmt(sq, c, ST_OUTBOX_CLAIM),
                 *get = stmt(sq, c, ST_OUTBOX_GET);
    if (!pick || !claim || !get)
        return STORE_ERROR;
    sqlite3_bind_int64(pick, 1, a->claim->now_ms);
    store_rc rc = first_row(c, pick, "pick callback");
    if (rc != STORE_OK)
        return rc;
    int64_t id = sqlite3_column_int64(pick, 0);
    stmt_done(pick);
    sqlite3_bind_int64(claim, 1, id);
    bind_str(claim, 2, a->claim->node);
    sqlite3_bind_int64(claim, 3, a->claim->now_ms + a->claim->lease_ms);
    if (exec_stmt(c, claim, "claim callback", NULL) != STORE_OK)
        return STORE_ERROR;
    sqlite3_bind_int64(get, 1, id);
    if (first_row(c, get, "read callback") != STORE_OK)
        return STORE_ERROR;
    read_outbox(get, a->out);
    stmt_done(get);
    return STORE_OK;
}

static store_rc sq_outbox_claim(void *impl, const store_claim *claim, store_outbox *out)
{
    outbox_claim_args a = {claim, out};
    return run_write(impl, outbox_claim_body, &a);
}

typedef struct outbox_settle_args {
    const store_outbox *o;
    store_outbox_outcome how;
    int64_t next_ms;
    const char *error;
} outbox_settle_args;

static store_rc outbox_settle_body(sq_store *sq, sq_conn *c, void *arg)
{
    outbox_settle_args *a = arg;
    stmt_id id = a->how == STORE_OUTBOX_DELIVERED ? ST_OUTBOX_DELIVERED
                 : a->how == STORE_OUTBOX_RETRY   ? ST_OUTBOX_RETRY
                                                  : ST_OUTBOX_GIVE_UP;
    sqlite3_stmt *st = stmt(sq, c, id);
    if (!st)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, a->o->id);
    bind_fixed(st, 2, a->o->owner, sizeof a->o->owner);
    sqlite3_bind_int(st, 3, a->o->attempts);
    if (id != ST_OUTBOX_DELIVERED) {
        if (id == ST_OUTBOX_RETRY)
            sqlite3_bind_int64(st, 4, a->next_ms);
        bind_str(st, 5, a->error ? a->error : "");
    }
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "settle callback", &changes);
    if (rc == STORE_OK && changes == 0) {
        store_set_error("callback %lld of job %s: attempt %d by %s was taken over", (long long)a->o->id, a->o->job_id,
                        a->o->attempts, a->o->owner);
        return STORE_CONFLICT;
    }
    return rc;
}

static store_rc sq_outbox_settle(void *impl, const store_outbox *o, store_outbox_outcome how, int64_t next_ms,
                                 const char *error)
{
    outbox_settle_args a = {o, how, next_ms, error};
    return run_write(impl, outbox_settle_body, &a);
}

typedef struct outbox_count_args {
    int64_t *pending, *given_up;
} outbox_count_args;

static store_rc outbox_count_body(sq_store *sq, sq_conn *c, void *arg)
{
    outbox_count_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_OUTBOX_COUNT);
    if (!st)
        return STORE_ERROR;
    store_rc rc = first_row(c, st, "count callbacks");
    if (rc != STORE_OK)
        return rc;
    *a->pending = sqlite3_column_int64(st, 0);
    *a->given_up = sqlite3_column_int64(st, 1);
    stmt_done(st);
    return STORE_OK;
}

static store_rc sq_outbox_count(void *impl, int64_t *pending, int64_t *given_up)
{
    outbox_count_args a = {pending, given_up};
    return run_read(impl, false, outbox_count_body, &a);
}

/* The file at the path must still open and start with SQLite's header: the connections' own
 * descriptors would keep reading a file that was deleted, replaced or made unreadable. */
static store_rc sq_ping(void *impl)
{
    sq_store *sq = impl;
    static const char magic[16] = "SQLite format 3";
    char head[16] = {0};
    FILE *f = fopen(sq->path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    if (!f) {
        store_set_error("sqlite %s: %s", sq->path, strerror(errno));
        return STORE_ERROR;
    }
    if (got != sizeof head || memcmp(head, magic, sizeof magic) != 0) {
        store_set_error("sqlite %s: not a database file any more", sq->path);
        return STORE_ERROR;
    }
    int64_t pending, given_up;
    return sq_outbox_count(impl, &pending, &given_up);
}

typedef struct outbox_of_job_args {
    const char *job_id;
    store_outbox *out;
    size_t max, *n;
} outbox_of_job_args;

static store_rc outbox_of_job_body(sq_store *sq, sq_conn *c, void *arg)
{
    outbox_of_job_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_OUTBOX_OF_JOB);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->job_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)a->max);
    while (*a->n < a->max && sqlite3_step(st) == SQLITE_ROW)
        read_outbox(st, &a->out[(*a->n)++]);
    stmt_done(st);
    return STORE_OK;
}

static store_rc sq_outbox_of_job(void *impl, const char *job_id, store_outbox *out, size_t max, size_t *n)
{
    *n = 0;
    outbox_of_job_args a = {job_id, out, max, n};
    return run_read(impl, false, outbox_of_job_body, &a);
}

/* ---- settings ---- */

typedef struct setting_args {
    const char *name, *value;
    char *out;
    size_t outlen;
} setting_args;

static store_rc setting_body(sq_store *sq, sq_conn *c, void *arg)
{
    setting_args *a = arg;
    sqlite3_stmt *ins = stmt(sq, c, ST_SETTING_INSERT), *get = stmt(sq, c, ST_SETTING_GET);
    if (!ins || !get)
        return STORE_ERROR;
    bind_str(ins, 1, a->name);
    bind_str(ins, 2, a->value);
    if (exec_stmt(c, ins, "store setting", NULL) != STORE_OK)
        return STORE_ERROR;
    bind_str(get, 1, a->name);
    if (first_row(c, get, "read setting") != STORE_OK)
        return STORE_ERROR;
    col_text(get, 0, a->out, a->outlen);
    stmt_done(get);
    return STORE_OK;
}

static store_rc sq_setting_init(void *impl, const char *name, const char *value_if_absent, char *out, size_t outlen)
{
    setting_args a = {name, value_if_absent, out, outlen};
    return run_write(impl, setting_body, &a);
}

/* ---- hot-vocabulary tables ---- */

static void read_hotvocab(sqlite3_stmt *st, store_hotvocab *h)
{
    store_hotvocab_init(h);
    col_text(st, 0, h->id, sizeof h->id);
    col_text(st, 1, h->bucket, sizeof h->bucket);
    col_text(st, 2, h->name, sizeof h->name);
    col_text(st, 3, h->description, sizeof h->description);
    h->create_ms = sqlite3_column_int64(st, 4);
    h->update_ms = sqlite3_column_int64(st, 5);
}

/* Appends the stored words of table h->id to h, in table order. */
static store_rc read_hotwords(sq_store *sq, sq_conn *c, store_hotvocab *h)
{
    sqlite3_stmt *st = stmt(sq, c, ST_HV_WORDS);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, h->id, sizeof h->id);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *w = sqlite3_column_text(st, 0);
        store_hotvocab_add_word(h, w ? (const char *)w : "", sqlite3_column_int(st, 1));
    }
    store_rc rc = r == SQLITE_DONE ? STORE_OK : db_fail(c->db, "read hot words");
    stmt_done(st);
    return rc;
}

/* Inserts h's words for table h->id (inside the caller's write transaction); *duplicate is set when
 * a word appears twice. */
static store_rc insert_hotwords(sq_store *sq, sq_conn *c, const store_hotvocab *h, bool *duplicate)
{
    sqlite3_stmt *st = stmt(sq, c, ST_HV_WORD_INSERT);
    if (!st)
        return STORE_ERROR;
    for (size_t i = 0; i < h->nwords; i++) {
        bind_fixed(st, 1, h->id, sizeof h->id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        bind_fixed(st, 3, h->words[i].word, sizeof h->words[i].word);
        sqlite3_bind_int(st, 4, h->words[i].weight);
        int r = sqlite3_step(st);
        stmt_done(st);
        if (r == SQLITE_CONSTRAINT_UNIQUE) {
            store_set_error("hot word \"%s\" appears more than once in table %s", h->words[i].word, h->id);
            *duplicate = true;
            return STORE_ERROR; /* rolls the whole change back; reported as STORE_CONFLICT */
        }
        if (r != SQLITE_DONE)
            return db_fail(c->db, "insert hot word");
    }
    return STORE_OK;
}

/* An insert or update; duplicate: its STORE_ERROR came from a duplicate id or word, which the
 * caller sees as STORE_CONFLICT. */
typedef struct hv_write_args {
    const store_hotvocab *h;
    unsigned fields;
    bool duplicate;
} hv_write_args;

static store_rc hv_insert_body(sq_store *sq, sq_conn *c, void *arg)
{
    hv_write_args *a = arg;
    const store_hotvocab *h = a->h;
    sqlite3_stmt *st = stmt(sq, c, ST_HV_INSERT);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, h->id, sizeof h->id);
    bind_fixed(st, 2, h->bucket, sizeof h->bucket);
    bind_fixed(st, 3, h->name, sizeof h->name);
    bind_fixed(st, 4, h->description, sizeof h->description);
    int64_t now = time_now_ms();
    sqlite3_bind_int64(st, 5, h->create_ms > 0 ? h->create_ms : now);
    sqlite3_bind_int64(st, 6, h->update_ms > 0 ? h->update_ms : now);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_CONSTRAINT_PRIMARYKEY) {
        store_set_error("hot-vocabulary table %s already exists", h->id);
        a->duplicate = true;
        return STORE_ERROR;
    }
    if (r != SQLITE_DONE)
        return db_fail(c->db, "insert hot-vocabulary table");
    return insert_hotwords(sq, c, h, &a->duplicate);
}

static store_rc hv_write(sq_store *sq, op_body body, hv_write_args *a)
{
    store_rc rc = run_write(sq, body, a);
    return rc == STORE_ERROR && a->duplicate ? STORE_CONFLICT : rc;
}

static store_rc sq_hotvocab_insert(void *impl, const store_hotvocab *h)
{
    hv_write_args a = {.h = h};
    return hv_write(impl, hv_insert_body, &a);
}

typedef struct hv_get_args {
    const char *bucket, *id;
    store_hotvocab *out;
} hv_get_args;

static store_rc hv_get_body(sq_store *sq, sq_conn *c, void *arg)
{
    hv_get_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_HV_GET);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->id);
    bind_str(st, 2, a->bucket);
    store_rc rc = first_row(c, st, "get hot-vocabulary table");
    if (rc != STORE_OK)
        return rc;
    read_hotvocab(st, a->out);
    stmt_done(st);
    return read_hotwords(sq, c, a->out);
}

static store_rc sq_hotvocab_get(void *impl, const char *bucket, const char *id, store_hotvocab *out)
{
    store_hotvocab_init(out);
    hv_get_args a = {bucket, id, out};
    store_rc rc = run_read(impl, true, hv_get_body, &a);
    if (rc != STORE_OK)
        store_hotvocab_clear(out);
    return rc;
}

static store_rc hv_update_body(sq_store *sq, sq_conn *c, void *arg)
{
    hv_write_args *a = arg;
    const store_hotvocab *h = a->h;
    sqlite3_stmt *st = stmt(sq, c, ST_HV_UPDATE);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, h->id, sizeof h->id);
    bind_fixed(st, 2, h->bucket, sizeof h->bucket);
    sqlite3_bind_int(st, 3, (a->fields & STORE_HOTVOCAB_NAME) != 0);
    bind_fixed(st, 4, h->name, sizeof h->name);
    sqlite3_bind_int(st, 5, (a->fields & STORE_HOTVOCAB_DESCRIPTION) != 0);
    bind_fixed(st, 6, h->description, sizeof h->description);
    sqlite3_bind_int64(st, 7, h->update_ms > 0 ? h->update_ms : time_now_ms());
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "update hot-vocabulary table", &changes);
    if (rc != STORE_OK)
        return rc;
    if (changes == 0) {
        store_set_error("hot-vocabulary table %s does not exist in bucket %s", h->id, h->bucket);
        return STORE_NOT_FOUND;
    }
    if (!(a->fields & STORE_HOTVOCAB_WORDS))
        return STORE_OK;
    sqlite3_stmt *del = stmt(sq, c, ST_HV_WORDS_DELETE);
    if (!del)
        return STORE_ERROR;
    bind_fixed(del, 1, h->id, sizeof h->id);
    rc = exec_stmt(c, del, "replace hot words", NULL);
    return rc == STORE_OK ? insert_hotwords(sq, c, h, &a->duplicate) : rc;
}

static store_rc sq_hotvocab_update(void *impl, const store_hotvocab *h, unsigned fields)
{
    hv_write_args a = {.h = h, .fields = fields};
    return hv_write(impl, hv_update_body, &a);
}

typedef struct hv_delete_args {
    const char *bucket, *id;
} hv_delete_args;

static store_rc hv_delete_body(sq_store *sq, sq_conn *c, void *arg)
{
    hv_delete_args *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_HV_DELETE);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->id);
    bind_str(st, 2, a->bucket);
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "delete hot-vocabulary table", &changes); /* words go by ON DELETE CASCADE */
    if (rc == STORE_OK && changes == 0) {
        store_set_error("hot-vocabulary table %s does not exist in bucket %s", a->id, a->bucket);
        return STORE_NOT_FOUND;
    }
    return rc;
}

static store_rc sq_hotvocab_delete(void *impl, const char *bucket, const char *id)
{
    hv_delete_args a = {bucket, id};
    return run_write(impl, hv_delete_body, &a);
}

static void bind_hotvocab_bucket(sqlite3_stmt *st, const void *bucket)
{
    bind_str(st, 1, bucket ? bucket : "");
}

static void read_hotvocab_at(sqlite3_stmt *st, void *out, size_t i)
{
    read_hotvocab(st, (store_hotvocab *)out + i);
}

/* One page of tables, then each table's words, all from the same snapshot. */
static store_rc hv_list_body(sq_store *sq, sq_conn *c, void *arg)
{
    page_query *q = arg;
    store_rc rc = page_body(sq, c, q);
    store_hotvocab *out = q->out;
    for (size_t i = 0; rc == STORE_OK && i < *q->n; i++)
        rc = read_hotwords(sq, c, &out[i]);
    return rc;
}

static store_rc sq_hotvocab_list(void *impl, const char *bucket, int64_t offset, int limit, store_hotvocab *out,
                                 size_t *n, int64_t *total)
{
    *n = 0;
    *total = 0;
    page_query q = {.count_id = ST_HV_COUNT, .page_id = ST_HV_PAGE, .bind_filter = bind_hotvocab_bucket,
                    .filter = bucket, .size = clamp(limit, 1, 100), .offset = offset > 0 ? offset : 0,
                    .limit_param = 2, .read_row = read_hotvocab_at, .out = out, .n = n, .total = total};
    store_rc rc = run_read(impl, true, hv_list_body, &q);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < *n; i++)
            store_hotvocab_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

/* ---- templates ---- */

/* Binds a template's parameters, in store_param_cols order, from TEMPLATE_FIRST_PARAM. */
static void bind_params(sqlite3_stmt *st, const job_params *p)
{
    const char *base = (const char *)p;
    for (size_t i = 0; i < store_param_ncols; i++) {
        const store_col *c = &store_param_cols[i];
        int at = TEMPLATE_FIRST_PARAM + (int)i;
        if (c->kind == STORE_COL_TEXT)
            bind_fixed(st, at, base + c->off, c->size);
        else
            sqlite3_bind_int(st, at, *(const int *)(base + c->off));
    }
}

/* Reads "seq, TEMPLATE_COLS, <store_param_cols>" from the current row. */
static void read_template(sqlite3_stmt *st, store_template *t)
{
    memset(t, 0, sizeof *t);
    t->seq = sqlite3_column_int64(st, 0);
    col_text(st, 1, t->id, sizeof t->id);
    col_text(st, 2, t->bucket, sizeof t->bucket);
    col_text(st, 3, t->name, sizeof t->name);
    t->create_ms = sqlite3_column_int64(st, 4);
    t->update_ms = sqlite3_column_int64(st, 5);
    char *base = (char *)&t->params;
    for (size_t i = 0; i < store_param_ncols; i++) {
        const store_col *c = &store_param_cols[i];
        int at = TEMPLATE_FIRST_PARAM + (int)i;
        if (c->kind == STORE_COL_TEXT)
            col_text(st, at, base + c->off, c->size);
        else
            *(int *)(base + c->off) = sqlite3_column_int(st, at);
    }
}

/* Binds ?1..?5 and the parameters of an insert or update. */
static void bind_template(sqlite3_stmt *st, const store_template *t)
{
    int64_t now = time_now_ms();
    bind_fixed(st, 1, t->id, sizeof t->id);
    bind_fixed(st, 2, t->bucket, sizeof t->bucket);
    bind_fixed(st, 3, t->name, sizeof t->name);
    sqlite3_bind_int64(st, 4, t->create_ms > 0 ? t->create_ms : now);
    sqlite3_bind_int64(st, 5, t->update_ms > 0 ? t->update_ms : now);
    bind_params(st, &t->params);
}

static store_rc name_taken(const store_template *t)
{
    store_set_error("template name \"%s\" already exists in bucket %s", t->name, t->bucket);
    return STORE_CONFLICT;
}

/* STORE_OK when no template of t's bucket has t's name, STORE_CONFLICT (message set) when one has. */
static store_rc name_free(sq_store *sq, sq_conn *c, const store_template *t)
{
    sqlite3_stmt *st = stmt(sq, c, ST_TPL_NAME_TAKEN);
    if (!st)
        return STORE_ERROR;
    bind_fixed(st, 1, t->bucket, sizeof t->bucket);
    bind_fixed(st, 2, t->name, sizeof t->name);
    store_rc rc = first_row(c, st, "find template name");
    if (rc == STORE_OK) {
        stmt_done(st);
        return name_taken(t);
    }
    return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static store_rc tpl_insert_body(sq_store *sq, sq_conn *c, void *arg)
{
    store_template *t = arg;
    store_rc rc = name_free(sq, c, t);
    sqlite3_stmt *st = rc == STORE_OK ? stmt(sq, c, ST_TPL_INSERT) : NULL;
    if (!st)
        return rc == STORE_OK ? STORE_ERROR : rc;
    bind_template(st, t);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_CONSTRAINT_UNIQUE) {
        store_set_error("template %s already exists", t->id);
        return STORE_CONFLICT;
    }
    if (r != SQLITE_DONE)
        return db_fail(c->db, "insert template");
    t->seq = sqlite3_last_insert_rowid(c->db);
    return STORE_OK;
}

static store_rc sq_template_insert(void *impl, store_template *t)
{
    return run_write(impl, tpl_insert_body, t);
}

static void read_template_at(sqlite3_stmt *st, void *out, size_t i)
{
    read_template(st, (store_template *)out + i);
}

static store_rc sq_template_get(void *impl, const char *bucket, const char *id, store_template *out)
{
    return get_row(impl, (row_get){ST_TPL_GET, "get template", id, bucket, read_template_at, out});
}

/* The UPDATE can only break UNIQUE(bucket, name): the id does not change. A template that does not
 * exist is NOT_FOUND even when its new name is taken (no row is updated, so nothing collides). */
static store_rc tpl_update_body(sq_store *sq, sq_conn *c, void *arg)
{
    const store_template *t = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_TPL_UPDATE);
    if (!st)
        return STORE_ERROR;
    bind_template(st, t);
    int r = sqlite3_step(st);
    int changes = sqlite3_changes(c->db);
    stmt_done(st);
    if (r == SQLITE_CONSTRAINT_UNIQUE)
        return name_taken(t);
    if (r != SQLITE_DONE)
        return db_fail(c->db, "update template");
    if (changes == 0) {
        store_set_error("template %s does not exist in bucket %s", t->id, t->bucket);
        return STORE_NOT_FOUND;
    }
    return STORE_OK;
}

static store_rc sq_template_update(void *impl, const store_template *t)
{
    return run_write(impl, tpl_update_body, (void *)t);
}

typedef struct tpl_key {
    const char *bucket, *id;
} tpl_key;

static store_rc tpl_delete_body(sq_store *sq, sq_conn *c, void *arg)
{
    tpl_key *a = arg;
    sqlite3_stmt *st = stmt(sq, c, ST_TPL_DELETE);
    if (!st)
        return STORE_ERROR;
    bind_str(st, 1, a->id);
    bind_str(st, 2, a->bucket);
    int changes = 0;
    store_rc rc = exec_stmt(c, st, "delete template", &changes);
    if (rc == STORE_OK && changes == 0) {
        store_set_error("template %s does not exist in bucket %s", a->id, a->bucket);
        return STORE_NOT_FOUND;
    }
    return rc;
}

static store_rc sq_template_delete(void *impl, const char *bucket, const char *id)
{
    tpl_key a = {bucket, id};
    return run_write(impl, tpl_delete_body, &a);
}

static void bind_template_filter(sqlite3_stmt *st, const void *filter)
{
    const store_template_filter *f = filter;
    bind_str(st, 1, f->bucket ? f->bucket : "");
    bind_filter(st, 2, f->ids);
    bind_filter(st, 3, f->name_prefix);
}

static store_rc sq_template_list(void *impl, const store_template_filter *f, store_template *out, size_t *n,
                                 int64_t *total)
{
    page_query q = {.count_id = ST_TPL_COUNT, .page_id = ST_TPL_PAGE, .bind_filter = bind_template_filter,
                    .filter = f, .limit_param = 4, .read_row = read_template_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .close = sq_close,
    .bucket_open = sq_bucket_open,
    .bucket_close = sq_bucket_close,
    .bucket_get = sq_bucket_get,
    .bucket_list = sq_bucket_list,
    .queue_get = sq_queue_get,
    .queue_update = sq_queue_update,
    .queue_list = sq_queue_list,
    .job_insert_batch = sq_job_insert_batch,
    .job_get = sq_job_get,
    .job_list = sq_job_list,
    .job_cancel = sq_job_cancel,
    .job_claim = sq_job_claim,
    .job_renew = sq_job_renew,
    .job_progress = sq_job_progress,
    .job_stage = sq_job_stage,
    .job_finish = sq_job_finish,
    .job_release = sq_job_release,
    .job_count = sq_job_count,
    .outbox_claim = sq_outbox_claim,
    .outbox_settle = sq_outbox_settle,
    .outbox_count = sq_outbox_count,
    .ping = sq_ping,
    .outbox_of_job = sq_outbox_of_job,
    .setting_init = sq_setting_init,
    .wait_wakeup = NULL,
    .hotvocab_insert = sq_hotvocab_insert,
    .hotvocab_get = sq_hotvocab_get,
    .hotvocab_update = sq_hotvocab_update,
    .hotvocab_delete = sq_hotvocab_delete,
    .hotvocab_list = sq_hotvocab_list,
    .template_insert = sq_template_insert,
    .template_get = sq_template_get,
    .template_update = sq_template_update,
    .template_delete = sq_template_delete,
    .template_list = sq_template_list,
};
