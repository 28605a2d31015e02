/* store_pg.c — the PostgreSQL backend of the store (store_params.database_url): several Cicada
 * nodes share one database. Same tables and columns as the SQLite backend, created and upgraded by
 * Cicada itself; a pool of libpq connections per handle, each with its own prepared statements;
 * every value travels as a statement parameter, never spliced into SQL.
 *
 * Schema. Versioned in cicada_schema (one row). store_pg_open upgrades it inside one transaction
 * holding pg_advisory_xact_lock(PG_LOCK_SCHEMA), so nodes starting at once against a fresh database
 * queue on the lock and the later ones find the work done (DDL is transactional in PostgreSQL). A
 * database already at this version needs no DDL at all, so a role with only read/write rights on the
 * tables can run Cicada once an owner has created them.
 *
 * Counters. queues.waiting and queues.running count the queue's Submitted and Running jobs. They are
 * kept by triggers on jobs (per statement for inserts, per row for a change of state or a delete),
 * i.e. in the very transaction that changes a job's state, by an UPDATE of the queue row. An UPDATE takes the row's lock and, under READ
 * COMMITTED, recomputes "running + 1" from the newest committed version once it holds the lock, so
 * concurrent changes serialise on the queue row and none is lost: at every commit, the counters equal
 * the committed jobs. (Nothing recounts them at start-up, as SQLite does: a recount by a count(*)
 * subquery reads a statement snapshot that misses other nodes' commits, and would corrupt them.)
 *
 * Claiming, and why it is right under READ COMMITTED. A claim is one transaction:
 *  1. Takeover: the Running job with the oldest expired lease, locked FOR UPDATE SKIP LOCKED, gets a
 *     new owner, lease and attempt. Its state does not change, so neither do the counters.
 *  2. Else the fair pick: the runnable queue (Active, waiting > 0, running < max_concurrent) whose
 *     last turn is oldest, locked FOR UPDATE SKIP LOCKED. Locking a row re-reads its newest committed
 *     version and re-checks the WHERE clause on it (a row that no longer qualifies is passed over), and
 *     every writer of running holds the same lock, so "running < max_concurrent" is true of the real
 *     count and stays true until this transaction commits. A "count(*) of Running jobs" in the same
 *     statement would not be: its snapshot predates the lock and misses commits made meanwhile.
 *  3. The queue's best Submitted job (job_level DESC, seq), FOR UPDATE SKIP LOCKED, becomes Running
 *     with owner, lease, attempts + 1 and start_ms; the trigger moves the counters on the queue row
 *     this transaction already holds; the queue's last_turn takes the next value of queue_turns.
 * A job is claimed once per attempt: the row lock plus the re-checked "state = Submitted" (or "lease
 * expired") admits only one transaction per version of the row. If every queue that qualifies is
 * locked by another transaction (a finish or an insert moving its counters), step 2 is repeated
 * waiting for the lock instead of skipping, with no other lock held, so a claim answers NOT_FOUND
 * only when nothing is runnable, and cannot take part in a deadlock.
 *
 * Lock order, so nothing deadlocks: job-then-queue (finish, cancel: UPDATE of the job, then the
 * trigger's UPDATE of its queue); queue-then-job only with SKIP LOCKED (a claim never waits for a job
 * row); inserts take their buckets' advisory locks, then their queue rows, each in sorted order.
 *
 * Fences. Renew, progress, stage and finish match "id AND owner AND attempts AND state = Running":
 * a node whose lease was taken over matches nothing and gets STORE_CONFLICT; Success needs staged.
 * Finish and cancel write the callback's outbox row in their own transaction. Outbox rows are leased
 * like jobs (next_ms doubles as the lease's expiry while leased) and settled with the same kind of
 * fence.
 *
 * Job lists and seq. seq is a bigserial, and sequence values are handed out when a row is inserted,
 * not when it commits: without care a job could commit after a page boundary with a lower seq, and a
 * listing paging upward would skip it. Inserts therefore hold an advisory lock per bucket (and the
 * queue row) from before their first seq is drawn until commit: within a bucket, seq order is commit
 * order. Guarantee: a listing of one bucket paged with after_seq sees every job committed before it
 * began exactly once; ascending, it also sees every job committed before its last page was read;
 * it never sees a job twice.
 *
 * Wake-ups. A transaction that makes work (inserts into a queue that can start one now, a queue
 * update, a finish or release that frees a slot, a callback queued) runs NOTIFY cicada_work,
 * delivered at commit. wait_wakeup blocks in poll() on a dedicated LISTEN connection; one thread of
 * the handle polls, the others wait on a condition variable for its news. A dropped connection
 * reports a wake-up (notifications may have been lost) and is reopened on the next wait. */
#include "store/store_internal.h"

#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_MAX_CONNECTIONS 16       /* pooled connections per handle (the LISTEN one not counted) */
#define PG_MAX_PARAMS 64            /* most parameters of one statement (a job insert has 45 arrays) */
#define PG_TX_ATTEMPTS 3            /* a transaction hit by a deadlock or a dead connection runs again */
#define PG_PICK_TRIES 8             /* queues a claim passes over when their Submitted jobs are all locked */
#define PG_CHANNEL "cicada_work"    /* the NOTIFY channel of new work */
#define PG_LOCK_SCHEMA 0x43696361646101LL   /* advisory lock key of schema upgrades ("Cicada" 1) */
#define PG_LOCK_BUCKET_CLASS "1128874817"   /* first key of the per-bucket insert locks (0x43494341, "CICA") */

/* Job states as stored (job_state values; persisted, never renumbered). */
#define S_SUBMITTED "0"
#define S_RUNNING "1"
#define S_SUCCESS "2"
#define S_PAUSE "4"
#define S_CANCEL "5"
/* outbox states */
#define OB_PENDING "0"
#define OB_GIVEN_UP "2"

/* ---- schema: migrations[i] takes cicada_schema.version i to i+1 ---- */

static const char schema_v1[] =
    "CREATE TABLE buckets("
    "  name text COLLATE \"C\" PRIMARY KEY,"
    "  appid text NOT NULL,"
    "  region text NOT NULL DEFAULT '',"
    "  create_ms bigint NOT NULL);"
    "CREATE INDEX buckets_appid ON buckets(appid, name);"
    /* whose turn it is between queues: each claim gives its queue the next value */
    "CREATE SEQUENCE queue_turns;"
    "CREATE TABLE queues("
    "  id text PRIMARY KEY,"
    "  qseq bigserial NOT NULL UNIQUE," /* creation order: ties of create_ms and of last_turn */
    "  bucket text NOT NULL,"
    "  name text NOT NULL,"
    "  state text NOT NULL,"
    "  max_size integer NOT NULL,"
    "  max_concurrent integer NOT NULL,"
    "  notify_url text NOT NULL DEFAULT '',"
    "  notify_event text NOT NULL DEFAULT '',"
    "  notify_type text NOT NULL DEFAULT '',"
    "  notify_state text NOT NULL DEFAULT '',"
    "  notify_format text NOT NULL DEFAULT '',"
    "  create_ms bigint NOT NULL,"
    "  update_ms bigint NOT NULL,"
    "  waiting integer NOT NULL DEFAULT 0," /* jobs Submitted: kept by triggers */
    "  running integer NOT NULL DEFAULT 0," /* jobs Running: kept by triggers */
    "  last_turn bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX queues_bucket ON queues(bucket, create_ms, qseq);"
    "CREATE INDEX queues_turn ON queues(last_turn, qseq) WHERE waiting > 0;"
    "CREATE TABLE jobs("
    "  seq bigserial PRIMARY KEY,"
    "  id text NOT NULL UNIQUE,"
    "  tag text NOT NULL DEFAULT '',"
    "  bucket text NOT NULL,"
    "  region text NOT NULL DEFAULT '',"
    "  queue_id text NOT NULL REFERENCES queues(id),"
    "  state integer NOT NULL,"
    "  code text NOT NULL DEFAULT '',"
    "  message text NOT NULL DEFAULT '',"
    "  create_ms bigint NOT NULL DEFAULT 0,"
    "  start_ms bigint NOT NULL DEFAULT 0,"
    "  end_ms bigint NOT NULL DEFAULT 0,"
    "  job_level integer NOT NULL DEFAULT 0,"
    "  input_object text NOT NULL DEFAULT '',"
    "  input_url text NOT NULL DEFAULT '',"
    "  template_id text NOT NULL DEFAULT '',"
    "  template_name text NOT NULL DEFAULT '',"
    "  p_engine_model_type text NOT NULL DEFAULT '',"
    "  p_channel_num integer NOT NULL DEFAULT 1,"
    "  p_res_text_format integer NOT NULL DEFAULT 0,"
    "  p_filter_dirty integer NOT NULL DEFAULT 0,"
    "  p_filter_modal integer NOT NULL DEFAULT 0,"
    "  p_filter_punc integer NOT NULL DEFAULT 0,"
    "  p_convert_num_mode integer NOT NULL DEFAULT 0,"
    "  p_speaker_diarization integer NOT NULL DEFAULT 0,"
    "  p_speaker_number integer NOT NULL DEFAULT 0,"
    "  p_sentence_max_length integer NOT NULL DEFAULT 0,"
    "  p_output_file_type text NOT NULL DEFAULT '',"
    "  p_hot_vocabulary_table_id text NOT NULL DEFAULT '',"
    "  p_flash_asr text NOT NULL DEFAULT '',"
    "  p_format text NOT NULL DEFAULT '',"
    "  p_first_channel_only text NOT NULL DEFAULT '',"
    "  p_word_info text NOT NULL DEFAULT '',"
    "  output_region text NOT NULL DEFAULT '',"
    "  output_bucket text NOT NULL DEFAULT '',"
    "  output_object text NOT NULL DEFAULT '',"
    "  user_data text NOT NULL DEFAULT '',"
    "  callback text NOT NULL DEFAULT '',"
    "  callback_format text NOT NULL DEFAULT '',"
    "  callback_type text NOT NULL DEFAULT '',"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  audio_time double precision NOT NULL DEFAULT 0,"
    "  result text,"
    "  result_detail text,"
    "  object_name text NOT NULL DEFAULT '',"
    "  detail_object_name text NOT NULL DEFAULT '',"
    "  owner text NOT NULL DEFAULT '',"
    "  lease_until bigint NOT NULL DEFAULT 0,"
    "  staged boolean NOT NULL DEFAULT false,"
    "  output_body text,"
    "  output_content_type text NOT NULL DEFAULT '');"
    "CREATE INDEX jobs_bucket_seq ON jobs(bucket, seq);"
    "CREATE INDEX jobs_queue_state ON jobs(queue_id, state, job_level DESC, seq);"
    "CREATE INDEX jobs_lease ON jobs(lease_until, seq) WHERE state = " S_RUNNING ";"
    "CREATE INDEX jobs_owner ON jobs(owner) WHERE state = " S_RUNNING ";"
    "CREATE FUNCTION cicada_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  IF TG_OP = 'INSERT' THEN\n"
    "    UPDATE queues SET waiting = waiting + (NEW.state = " S_SUBMITTED ")::int,\n"
    "                      running = running + (NEW.state = " S_RUNNING ")::int WHERE id = NEW.queue_id;\n"
    "  ELSIF TG_OP = 'UPDATE' THEN\n"
    "    UPDATE queues SET waiting = waiting + (NEW.state = " S_SUBMITTED ")::int - (OLD.state = " S_SUBMITTED ")::int,\n"
    "                      running = running + (NEW.state = " S_RUNNING ")::int - (OLD.state = " S_RUNNING ")::int\n"
    "     WHERE id = NEW.queue_id;\n"
    "  ELSE\n"
    "    UPDATE queues SET waiting = waiting - (OLD.state = " S_SUBMITTED ")::int,\n"
    "                      running = running - (OLD.state = " S_RUNNING ")::int WHERE id = OLD.queue_id;\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$;"
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION cicada_count_jobs();"
    "CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs FOR EACH ROW"
    "  WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION cicada_count_jobs();"
    "CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION cicada_count_jobs();"
    "CREATE TABLE hotvocab("
    "  id text PRIMARY KEY,"
    "  hseq bigserial NOT NULL UNIQUE," /* insertion order: ties of create_ms */
    "  bucket text NOT NULL,"
    "  name text NOT NULL,"
    "  description text NOT NULL DEFAULT '',"
    "  create_ms bigint NOT NULL,"
    "  update_ms bigint NOT NULL);"
    "CREATE INDEX hotvocab_bucket ON hotvocab(bucket, create_ms, hseq);"
    "CREATE TABLE hotvocab_words("
    "  table_id text NOT NULL REFERENCES hotvocab(id) ON DELETE CASCADE,"
    "  pos integer NOT NULL,"
    "  word text NOT NULL,"
    "  weight integer NOT NULL,"
    "  PRIMARY KEY(table_id, pos),"
    "  UNIQUE(table_id, word));"
    "CREATE TABLE templates("
    "  seq bigserial PRIMARY KEY,"
    "  id text NOT NULL UNIQUE,"
    "  bucket text NOT NULL,"
    "  name text COLLATE \"C\" NOT NULL,"
    "  create_ms bigint NOT NULL,"
    "  update_ms bigint NOT NULL,"
    "  p_engine_model_type text NOT NULL DEFAULT '',"
    "  p_channel_num integer NOT NULL DEFAULT 1,"
    "  p_res_text_format integer NOT NULL DEFAULT 0,"
    "  p_filter_dirty integer NOT NULL DEFAULT 0,"
    "  p_filter_modal integer NOT NULL DEFAULT 0,"
    "  p_filter_punc integer NOT NULL DEFAULT 0,"
    "  p_convert_num_mode integer NOT NULL DEFAULT 0,"
    "  p_speaker_diarization integer NOT NULL DEFAULT 0,"
    "  p_speaker_number integer NOT NULL DEFAULT 0,"
    "  p_sentence_max_length integer NOT NULL DEFAULT 0,"
    "  p_output_file_type text NOT NULL DEFAULT '',"
    "  p_hot_vocabulary_table_id text NOT NULL DEFAULT '',"
    "  p_flash_asr text NOT NULL DEFAULT '',"
    "  p_format text NOT NULL DEFAULT '',"
    "  p_first_channel_only text NOT NULL DEFAULT '',"
    "  p_word_info text NOT NULL DEFAULT '',"
    "  CONSTRAINT templates_name_unique UNIQUE(bucket, name));"
    "CREATE INDEX templates_bucket_seq ON templates(bucket, seq);"
    /* state 0 pending (leased while owner is set: next_ms is then the lease's expiry), 2 given up */
    "CREATE TABLE outbox("
    "  id bigserial PRIMARY KEY,"
    "  job_id text NOT NULL,"
    "  bucket text NOT NULL,"
    "  url text NOT NULL,"
    "  format text NOT NULL,"
    "  state integer NOT NULL DEFAULT " OB_PENDING ","
    "  attempts integer NOT NULL DEFAULT 0,"
    "  owner text NOT NULL DEFAULT '',"
    "  lease_until bigint NOT NULL DEFAULT 0,"
    "  next_ms bigint NOT NULL,"
    "  create_ms bigint NOT NULL,"
    "  last_error text NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_due ON outbox(next_ms, id) WHERE state = " OB_PENDING ";"
    "CREATE INDEX outbox_job ON outbox(job_id, id);"
    /* values every node shares (store_setting_init) */
    "CREATE TABLE settings(name text PRIMARY KEY, value text NOT NULL);";

/* v2: a statement inserting jobs moves each queue's counters once, from its transition table,
 * instead of once per row (a group commit inserts up to hundreds of jobs in one statement). */
static const char schema_v2[] =
    "DROP TRIGGER jobs_count_insert ON jobs;"
    "CREATE FUNCTION cicada_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  UPDATE queues q SET waiting = q.waiting + d.w, running = q.running + d.r\n"
    "    FROM (SELECT queue_id, count(*) FILTER (WHERE state = " S_SUBMITTED ") AS w,\n"
    "                 count(*) FILTER (WHERE state = " S_RUNNING ") AS r\n"
    "            FROM inserted GROUP BY queue_id) d\n"
    "   WHERE q.id = d.queue_id;\n"
    "  RETURN NULL;\n"
    "END $$;"
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS inserted"
    "  FOR EACH STATEMENT EXECUTE FUNCTION cicada_count_inserted();";

/* v3: the OpenAI-compatible endpoint's prompt and translate task */
static const char schema_v3[] =
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS p_prompt text NOT NULL DEFAULT '',"
    "  ADD COLUMN IF NOT EXISTS p_translate integer NOT NULL DEFAULT 0;"
    "ALTER TABLE templates ADD COLUMN IF NOT EXISTS p_prompt text NOT NULL DEFAULT '',"
    "  ADD COLUMN IF NOT EXISTS p_translate integer NOT NULL DEFAULT 0;";

/* v4: how much of its audio a job has recognised (store_job_progress) */
static const char schema_v4[] =
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS progress double precision NOT NULL DEFAULT 0;";

static const char *const migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4};
#define PG_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- the job row <-> store_job mapping: store_job_cols and store_param_cols (store.c) ---- */


/* ---- statements ---- */

#define BUCKET_COLS "name, appid, region, create_ms"
#define QUEUE_COLS                                                                                          \
    "id, bucket, name, state, max_size, max_concurrent, notify_url, notify_event, notify_type, notify_state, " \
    "notify_format, create_ms, update_ms"
/* $2 regions and $3 names are comma lists (no empty items), $4 a prefix; NULL = any */
#define BUCKET_WHERE                                                                                        \
    " WHERE appid = $1 AND ($2::text IS NULL OR region = ANY(string_to_array($2::text, ',')))"              \
    " AND ($3::text IS NULL OR name = ANY(string_to_array($3::text, ',')))"                                 \
    " AND ($4::text IS NULL OR starts_with(name, $4::text))"
#define QUEUE_WHERE " WHERE bucket = $1 AND ($2::text IS NULL OR state = $2::text)"
#define OUTBOX_COLS "id, job_id, bucket, url, format, attempts, owner, lease_until, next_ms, create_ms, last_error"
#define HOTVOCAB_COLS "id, bucket, name, description, create_ms, update_ms"
#define TEMPLATE_COLS "id, bucket, name, create_ms, update_ms"
#define TEMPLATE_WHERE                                                                                      \
    " FROM templates WHERE bucket = $1 AND ($2::text IS NULL OR id = ANY(string_to_array($2::text, ',')))"  \
    " AND ($3::text IS NULL OR starts_with(name, $3::text))"
/* $1 bucket, $2 queue or NULL, $3 tag or NULL, $4 state mask (0 = all), $5..$6 creation range,
 * $7 page bound on seq, $8 limit */
#define JOB_LIST_WHERE                                                                                      \
    " FROM jobs WHERE bucket = $1 AND ($2::text IS NULL OR queue_id = $2::text)"                            \
    " AND ($3::text IS NULL OR tag = $3::text) AND ($4::int = 0 OR ((1 << state) & $4::int) <> 0)"          \
    " AND create_ms >= $5 AND create_ms <= $6"
/* the fence of every step after a claim: $1 id, $2 owner, $3 attempt */
#define JOB_FENCE " WHERE id = $1 AND owner = $2 AND attempts = $3::int AND state = " S_RUNNING
#define OUTBOX_FENCE " WHERE id = $1 AND owner = $2 AND attempts = $3::int AND state = " OB_PENDING
#define RUNNABLE_QUEUE                                                                                      \
    "SELECT id FROM queues WHERE waiting > 0 AND state = 'Active' AND running < max_concurrent"

typedef enum stmt_id {
    ST_BUCKET_INSERT,
    ST_BUCKET_LOCK,
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
    ST_INSERT_LOCK_BUCKETS,
    ST_INSERT_LOCK_QUEUES,
    ST_JOB_INSERT,   /* built from store_job_cols */
    ST_JOB_GET,      /* built */
    ST_JOB_LIST_ASC, /* built */
    ST_JOB_LIST_DESC,
    ST_JOB_STATE,
    ST_JOB_CANCEL,
    ST_JOB_TAKEOVER, /* built */
    ST_QUEUE_PICK,
    ST_QUEUE_PICK_WAIT,
    ST_JOB_PICK,
    ST_JOB_START, /* built */
    ST_QUEUE_TURN,
    ST_JOB_RENEW,
    ST_JOB_PROGRESS,
    ST_JOB_STAGE,
    ST_JOB_FINISH,
    ST_JOB_FENCE,
    ST_JOB_RELEASE,
    ST_OUTBOX_RELEASE,
    ST_SETTING_INSERT,
    ST_SETTING_GET,
    ST_JOB_COUNT,
    ST_OUTBOX_INSERT,
    ST_OUTBOX_CLAIM,
    ST_OUTBOX_DELIVERED,
    ST_OUTBOX_RETRY,
    ST_OUTBOX_GIVE_UP,
    ST_OUTBOX_COUNT,
    ST_OUTBOX_OF_JOB,
    ST_HV_INSERT,
    ST_HV_WORDS_INSERT,
    ST_HV_GET,
    ST_HV_WORDS,
    ST_HV_UPDATE,
    ST_HV_WORDS_DELETE,
    ST_HV_DELETE,
    ST_HV_COUNT,
    ST_HV_PAGE,
    ST_TPL_INSERT, /* built from store_param_cols */
    ST_TPL_GET,    /* built */
    ST_TPL_UPDATE, /* built */
    ST_TPL_PAGE,   /* built */
    ST_TPL_COUNT,
    ST_TPL_NAME_TAKEN,
    ST_TPL_DELETE,
    ST_COUNT
} stmt_id;

static const char *const static_sql[ST_COUNT] = {
    [ST_BUCKET_INSERT] = "INSERT INTO buckets(" BUCKET_COLS ") VALUES($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
    /* serialises "find the bucket's queue or create it" between nodes opening the same bucket */
    [ST_BUCKET_LOCK] = "SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE",
    [ST_BUCKET_DELETE] = "DELETE FROM buckets WHERE name = $1",
    [ST_BUCKET_GET] = "SELECT " BUCKET_COLS " FROM buckets WHERE name = $1",
    [ST_BUCKET_COUNT] = "SELECT count(*) FROM buckets" BUCKET_WHERE,
    [ST_BUCKET_PAGE] = "SELECT " BUCKET_COLS " FROM buckets" BUCKET_WHERE " ORDER BY name LIMIT $5 OFFSET $6",
    [ST_QUEUE_INSERT] = "INSERT INTO queues(" QUEUE_COLS ")"
                        " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    [ST_QUEUE_FIRST] = "SELECT " QUEUE_COLS " FROM queues WHERE bucket = $1 ORDER BY create_ms, qseq LIMIT 1",
    [ST_QUEUE_GET] = "SELECT " QUEUE_COLS " FROM queues WHERE id = $1",
    [ST_QUEUE_UPDATE] = "UPDATE queues SET name = $3, state = $4, notify_url = $5, notify_event = $6, notify_type = $7,"
                        " notify_state = $8, notify_format = $9, update_ms = $10 WHERE id = $1 AND bucket = $2",
    [ST_QUEUE_COUNT] = "SELECT count(*) FROM queues" QUEUE_WHERE,
    [ST_QUEUE_PAGE] = "SELECT " QUEUE_COLS " FROM queues" QUEUE_WHERE " ORDER BY create_ms, qseq LIMIT $3 OFFSET $4",
    /* An insert batch's locks, taken before its first seq is drawn and held to commit: the buckets'
     * advisory locks (seq order = commit order within a bucket), then the queue rows (admission
     * against MaxSize sees the real waiting count), each set in sorted order. */
    [ST_INSERT_LOCK_BUCKETS] = "SELECT pg_advisory_xact_lock(" PG_LOCK_BUCKET_CLASS ", k) FROM"
                               " (SELECT DISTINCT hashtext(b) AS k FROM unnest($1::text[]) AS b ORDER BY 1) AS s",
    [ST_INSERT_LOCK_QUEUES] = "SELECT id, bucket, max_size, waiting, state = 'Active' AND running < max_concurrent"
                              " FROM queues q WHERE id = ANY($1::text[])"
                              " AND EXISTS (SELECT 1 FROM buckets b WHERE b.name = q.bucket) ORDER BY id FOR UPDATE OF q",
    [ST_JOB_STATE] = "SELECT state FROM jobs WHERE id = $1 AND bucket = $2",
    [ST_JOB_CANCEL] = "UPDATE jobs SET state = " S_CANCEL ", end_ms = $3 WHERE id = $1 AND bucket = $2"
                      " AND state IN (" S_SUBMITTED ", " S_PAUSE ")",
    /* the fair pick (see the top of the file); $1 the queues already passed over */
    [ST_QUEUE_PICK] = RUNNABLE_QUEUE " AND id <> ALL($1::text[]) ORDER BY last_turn, qseq LIMIT 1"
                                     " FOR UPDATE SKIP LOCKED",
    [ST_QUEUE_PICK_WAIT] = RUNNABLE_QUEUE " ORDER BY last_turn, qseq LIMIT 1 FOR UPDATE",
    [ST_JOB_PICK] = "SELECT seq FROM jobs WHERE queue_id = $1 AND state = " S_SUBMITTED
                    " ORDER BY job_level DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED",
    [ST_QUEUE_TURN] = "UPDATE queues SET last_turn = nextval('queue_turns') WHERE id = $1",
    [ST_JOB_RENEW] = "UPDATE jobs SET lease_until = $4" JOB_FENCE,
    /* never down: a takeover shows the furthest point reached until it passes it */
    [ST_JOB_PROGRESS] = "UPDATE jobs SET progress = GREATEST(progress, $4::double precision)" JOB_FENCE,
    [ST_JOB_STAGE] = "UPDATE jobs SET staged = true, audio_time = $4, result = $5, result_detail = $6, object_name = $7,"
                     " detail_object_name = $8, output_body = $9, output_content_type = $10" JOB_FENCE,
    /* Success only from a staged result; output_body is not needed once the job has ended */
    [ST_JOB_FINISH] = "UPDATE jobs SET state = $4::int, code = $5, message = $6, end_ms = $7, lease_until = 0,"
                      " output_body = NULL, progress = CASE WHEN $4::int = " S_SUCCESS " THEN 1 ELSE progress END"
                      JOB_FENCE " AND ($4::int <> " S_SUCCESS " OR staged)",
    [ST_JOB_FENCE] = "SELECT state, owner, attempts, staged, bucket FROM jobs WHERE id = $1",
    /* rows locked in seq order, so two releases never deadlock */
    [ST_JOB_RELEASE] = "UPDATE jobs SET lease_until = 0 WHERE seq IN (SELECT seq FROM jobs WHERE state = " S_RUNNING
                       " AND owner = $1 ORDER BY seq FOR UPDATE)",
    /* the node's callback deliveries: due at once, the dead sender's settle refused (owner changed) */
    [ST_OUTBOX_RELEASE] = "UPDATE outbox SET owner = '', lease_until = 0, next_ms = 0 WHERE id IN (SELECT id FROM outbox"
                          " WHERE state = " OB_PENDING " AND owner = $1 ORDER BY id FOR UPDATE)",
    [ST_JOB_COUNT] = "SELECT count(*) FROM jobs WHERE queue_id = $1 AND state = $2::int",
    [ST_SETTING_INSERT] = "INSERT INTO settings(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING",
    [ST_SETTING_GET] = "SELECT value FROM settings WHERE name = $1",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox(job_id, bucket, url, format, next_ms, create_ms)"
                         " VALUES($1, $2, $3, $4, $5, $5)",
    /* due: pending and next_ms passed (a leased row's next_ms is its lease's expiry) */
    [ST_OUTBOX_CLAIM] = "UPDATE outbox SET owner = $2, attempts = attempts + 1, lease_until = $3, next_ms = $3"
                        " WHERE id = (SELECT id FROM outbox WHERE state = " OB_PENDING " AND next_ms <= $1"
                        "   ORDER BY next_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                        " AND state = " OB_PENDING " AND next_ms <= $1 RETURNING " OUTBOX_COLS,
    [ST_OUTBOX_DELIVERED] = "DELETE FROM outbox" OUTBOX_FENCE,
    [ST_OUTBOX_RETRY] = "UPDATE outbox SET owner = '', lease_until = 0, next_ms = $4, last_error = $5" OUTBOX_FENCE,
    [ST_OUTBOX_GIVE_UP] = "UPDATE outbox SET state = " OB_GIVEN_UP ", owner = '', lease_until = 0, last_error = $4"
                          OUTBOX_FENCE,
    [ST_OUTBOX_COUNT] = "SELECT count(*) FILTER (WHERE state = " OB_PENDING "),"
                        " count(*) FILTER (WHERE state = " OB_GIVEN_UP ") FROM outbox",
    [ST_OUTBOX_OF_JOB] = "SELECT " OUTBOX_COLS " FROM outbox WHERE job_id = $1 ORDER BY id LIMIT $2",
    [ST_HV_INSERT] = "INSERT INTO hotvocab(" HOTVOCAB_COLS ") VALUES($1, $2, $3, $4, $5, $6)",
    /* all of a table's words in one statement: $2 words, $3 weights, in table order */
    [ST_HV_WORDS_INSERT] = "INSERT INTO hotvocab_words(table_id, pos, word, weight)"
                           " SELECT $1, u.o - 1, u.w, u.wt FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS u(w, wt, o)",
    [ST_HV_GET] = "SELECT " HOTVOCAB_COLS " FROM hotvocab WHERE id = $1 AND bucket = $2",
    [ST_HV_WORDS] = "SELECT word, weight FROM hotvocab_words WHERE table_id = $1 ORDER BY pos",
    /* $3 / $5: whether name / description are replaced */
    [ST_HV_UPDATE] = "UPDATE hotvocab SET name = CASE WHEN $3::bool THEN $4 ELSE name END,"
                     " description = CASE WHEN $5::bool THEN $6 ELSE description END, update_ms = $7"
                     " WHERE id = $1 AND bucket = $2",
    [ST_HV_WORDS_DELETE] = "DELETE FROM hotvocab_words WHERE table_id = $1",
    [ST_HV_DELETE] = "DELETE FROM hotvocab WHERE id = $1 AND bucket = $2",
    [ST_HV_COUNT] = "SELECT count(*) FROM hotvocab WHERE bucket = $1",
    [ST_HV_PAGE] = "SELECT " HOTVOCAB_COLS " FROM hotvocab WHERE bucket = $1 ORDER BY create_ms, hseq"
                   " LIMIT $2 OFFSET $3",
    [ST_TPL_COUNT] = "SELECT count(*)" TEMPLATE_WHERE,
    [ST_TPL_NAME_TAKEN] = "SELECT id FROM templates WHERE bucket = $1 AND name = $2",
    [ST_TPL_DELETE] = "DELETE FROM templates WHERE id = $1 AND bucket = $2",
};

/* ---- connections, the pool and statement parameters ---- */

typedef struct pg_conn {
    PGconn *db;
    bool prepared[ST_COUNT];
    char sqlstate[6];      /* of the last failed statement, "" if none */
    char constraint[64];   /* the constraint a 23505 (unique violation) names */
    const char *begin;     /* a BEGIN not sent yet: it goes with the transaction's first statement */
    bool notify;           /* NOTIFY the work channel with the COMMIT */
    bool dead_at_start;    /* the connection was found dead by the transaction's first statement */
} pg_conn;

typedef struct pg_store {
    char *conninfo;
    char where[512];                 /* "database "x" on socket /run/pg (port 5432) as user "y"" */
    const char *sql[ST_COUNT];
    char *built_sql[ST_COUNT];       /* owned copies of the statements built at open */
    store_pool *pool;
    /* wake-ups (guarded by wake_mu, except listen, used only by the thread that set polling) */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;          /* on CLOCK_MONOTONIC */
    PGconn *listen;
    bool polling;
    uint64_t wake_gen;               /* +1 per wake-up seen */
} pg_store;

/* A statement's parameters, as text (NULL = SQL NULL). */
typedef struct pq_args {
    int n;
    const char *val[PG_MAX_PARAMS];
    char *own[PG_MAX_PARAMS];
} pq_args;

static void a_add(pq_args *a, const char *v, char *owned)
{
    if (a->n >= PG_MAX_PARAMS)
        abort(); /* a statement of this file with too many parameters: a programming error */
    a->own[a->n] = owned;
    a->val[a->n++] = v;
}

/* A NUL-terminated string that outlives the statement (NULL stays NULL). */
static void a_str(pq_args *a, const char *s)
{
    a_add(a, s, NULL);
}

/* "" and NULL both mean "no filter". */
static void a_filter(pq_args *a, const char *s)
{
    a_add(a, s && s[0] ? s : NULL, NULL);
}

/* A fixed-size field, which may fill its array without a NUL. */
static void a_fixed(pq_args *a, const char *field, size_t size)
{
    char *s = xstrndup(field, strnlen(field, size));
    a_add(a, s, s);
}

static void a_i64(pq_args *a, int64_t v)
{
    char *s = xmalloc(24);
    snprintf(s, 24, "%" PRId64, v);
    a_add(a, s, s);
}

static void a_real(pq_args *a, double v)
{
    char *s = xmalloc(32);
    snprintf(s, 32, "%.17g", v);
    a_add(a, s, s);
}

static void a_bool(pq_args *a, bool v)
{
    a_add(a, v ? "true" : "false", NULL);
}

/* Takes ownership of a heap string. */
static void a_take(pq_args *a, char *s)
{
    a_add(a, s, s);
}

static void a_free(pq_args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->own[i]);
    a->n = 0;
}

/* Appends s to a text-array literal being built in b ("{" ... "}" added by the caller). */
static void array_item(buf *b, const char *s)
{
    if (b->len > 1)
        buf_putc(b, ',');
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

/* libpq messages end with a newline; the store's do not. */
static const char *trimmed(const char *msg, char *out, size_t size)
{
    strlcpy_ok(out, msg ? msg : "", size);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return out;
}

static bool conn_ok(pg_conn *c)
{
    return PQstatus(c->db) == CONNECTION_OK;
}

/* Runs a statement without parameters or results (BEGIN, COMMIT ...). */
static bool simple(pg_store *pg, pg_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->db, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        char msg[400];
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        strlcpy_ok(c->sqlstate, st ? st : "", sizeof c->sqlstate);
        store_set_error("PostgreSQL %s: %s: %s", pg->where, sql, trimmed(PQerrorMessage(c->db), msg, sizeof msg));
    }
    PQclear(r);
    return ok;
}

/* One statement of a pipeline: prepared statement id with its parameters (freed by q_pipeline), or,
 * when sql is set, plain SQL without parameters. */
typedef struct pl_step {
    stmt_id id;
    pq_args *args;
    const char *sql;
    PGresult *res; /* its result when all went well (NULL for plain SQL); the caller PQclears it */
} pl_step;

/* What q_pipeline sent, in order: the pending BEGIN, a PREPARE, a step. */
typedef struct pl_sent {
    int step;      /* -1: the BEGIN */
    bool prepare;
} pl_sent;

/* Sends the pending BEGIN, each step (with its PREPARE the first time) in one round trip (libpq
 * pipeline mode) and reads the answers. A BEGIN would cost a round trip of its own otherwise, and
 * most transactions here are two or three statements. STORE_OK when every step succeeded; else
 * STORE_ERROR with the first failure's message and c->sqlstate set, the later steps not run, and no
 * result kept. */
static store_rc q_pipeline(pg_store *pg, pg_conn *c, pl_step *steps, int n)
{
    const char *begin = c->begin;
    c->begin = NULL;
    c->sqlstate[0] = '\0';
    c->constraint[0] = '\0';
    pl_sent sent[2 * 8 + 1];
    int nsent = 0;
    bool ok = n <= 8 && PQenterPipelineMode(c->db) == 1;
    if (ok && begin) {
        ok = PQsendQueryParams(c->db, begin, 0, NULL, NULL, NULL, NULL, 0) == 1;
        sent[nsent++] = (pl_sent){-1, false};
    }
    for (int i = 0; ok && i < n; i++) {
        pl_step *st = &steps[i];
        st->res = NULL;
        if (st->sql) {
            ok = PQsendQueryParams(c->db, st->sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
            sent[nsent++] = (pl_sent){i, false};
            continue;
        }
        char name[16];
        snprintf(name, sizeof name, "c%d", (int)st->id);
        if (!c->prepared[st->id]) {
            ok = PQsendPrepare(c->db, name, pg->sql[st->id], 0, NULL) == 1;
            sent[nsent++] = (pl_sent){i, true};
        }
        ok = ok && PQsendQueryPrepared(c->db, name, st->args ? st->args->n : 0, st->args ? st->args->val : NULL, NULL,
                                       NULL, 0) == 1;
        sent[nsent++] = (pl_sent){i, false};
    }
    ok = ok && PQpipelineSync(c->db) == 1;
    bool synced = ok; /* else (a send failed) nothing is read: the connection is left unusable and
                       * run_op's release closes it */
    bool failed = !ok;
    char msg[400] = "";
    if (!ok)
        trimmed(PQerrorMessage(c->db), msg, sizeof msg);
    for (int q = 0; ok && q < nsent;) {
        PGresult *r = PQgetResult(c->db);
        if (!r) {
            q++; /* the end of one query's results */
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        bool good = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (good && sent[q].prepare)
            c->prepared[steps[sent[q].step].id] = true;
        if (!good && !failed) {
            failed = true;
            const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
            strlcpy_ok(c->sqlstate, code ? code : "", sizeof c->sqlstate);
            strlcpy_ok(c->constraint, cons ? cons : "", sizeof c->constraint);
            trimmed(st == PGRES_PIPELINE_ABORTED ? PQerrorMessage(c->db) : PQresultErrorMessage(r), msg, sizeof msg);
        }
        if (good && !sent[q].prepare && sent[q].step >= 0 && !steps[sent[q].step].sql)
            steps[sent[q].step].res = r;
        else
            PQclear(r);
        if (!conn_ok(c))
            break;
    }
    for (PGresult *r; synced && conn_ok(c) && PQpipelineStatus(c->db) != PQ_PIPELINE_OFF &&
                      (r = PQgetResult(c->db)) != NULL;) {
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC; /* drain to the sync point */
        PQclear(r);
        if (sync)
            break;
    }
    if (PQpipelineStatus(c->db) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(c->db);
    for (int i = 0; i < n; i++)
        if (steps[i].args)
            a_free(steps[i].args);
    if (!conn_ok(c)) {
        failed = true;
        if (!msg[0])
            trimmed(PQerrorMessage(c->db), msg, sizeof msg);
        if (begin)
            c->dead_at_start = true; /* nothing of the transaction was done */
    }
    if (!failed)
        return STORE_OK;
    for (int i = 0; i < n; i++) {
        PQclear(steps[i].res);
        steps[i].res = NULL;
    }
    store_set_error("PostgreSQL %s: %s", pg->where, msg[0] ? msg : "a statement failed");
    return STORE_ERROR;
}

/* Runs statement id with a's parameters (freed here). On success *out (if given) gets the result
 * for the caller to PQclear; on failure STORE_ERROR with the message set and c->sqlstate filled. */
static store_rc q_run(pg_store *pg, pg_conn *c, stmt_id id, pq_args *a, PGresult **out)
{
    char name[16];
    snprintf(name, sizeof name, "c%d", (int)id);
    if (c->begin) { /* the transaction's first statement: with its BEGIN */
        pl_step step = {.id = id, .args = a};
        store_rc rc = q_pipeline(pg, c, &step, 1);
        if (rc == STORE_OK && out)
            *out = step.res;
        else
            PQclear(step.res);
        return rc;
    }
    c->sqlstate[0] = '\0';
    c->constraint[0] = '\0';
    PGresult *r = NULL;
    if (!c->prepared[id]) {
        r = PQprepare(c->db, name, pg->sql[id], 0, NULL);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            c->prepared[id] = true;
            PQclear(r);
            r = NULL;
        }
    }
    if (!r)
        r = PQexecPrepared(c->db, name, a ? a->n : 0, a ? a->val : NULL, NULL, NULL, 0);
    if (a)
        a_free(a);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return STORE_OK;
    }
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    strlcpy_ok(c->sqlstate, st ? st : "", sizeof c->sqlstate);
    strlcpy_ok(c->constraint, cons ? cons : "", sizeof c->constraint);
    char msg[400];
    store_set_error("PostgreSQL %s: %s", pg->where,
                    trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c->db), msg, sizeof msg));
    PQclear(r);
    return STORE_ERROR;
}

/* Rows changed by an INSERT/UPDATE/DELETE result. */
static int changes_of(PGresult *r)
{
    return atoi(PQcmdTuples(r));
}

/* Runs a statement without result rows; *changes (if given) gets the rows it changed. */
static store_rc q_exec(pg_store *pg, pg_conn *c, stmt_id id, pq_args *a, int *changes)
{
    PGresult *r = NULL;
    store_rc rc = q_run(pg, c, id, a, &r);
    if (rc == STORE_OK && changes)
        *changes = changes_of(r);
    PQclear(r);
    return rc;
}

static bool unique_violation(const pg_conn *c)
{
    return strcmp(c->sqlstate, "23505") == 0;
}

/* ---- reading result values ---- */

static const char *g_val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void g_text(PGresult *r, int row, int col, char *dst, size_t size)
{
    const char *v = g_val(r, row, col);
    strlcpy_ok(dst, v ? v : "", size);
}

static int64_t g_i64(PGresult *r, int row, int col)
{
    const char *v = g_val(r, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

static int g_int(PGresult *r, int row, int col)
{
    return (int)g_i64(r, row, col);
}

static bool g_bool(PGresult *r, int row, int col)
{
    const char *v = g_val(r, row, col);
    return v && v[0] == 't';
}

static char *g_heap(PGresult *r, int row, int col)
{
    const char *v = g_val(r, row, col);
    return v ? xstrdup(v) : NULL;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- where we are connected: for messages, never with the password ---- */

static void describe_target(PGconn *db, char *out, size_t size)
{
    const char *host = PQhost(db), *port = PQport(db), *dbname = PQdb(db), *user = PQuser(db);
    bool socket = !host || !host[0] || host[0] == '/';
    snprintf(out, size, "database \"%s\" on %s %s (port %s) as user \"%s\"", dbname && dbname[0] ? dbname : "?",
             socket ? "socket" : "host", host && host[0] ? host : "(default)", port && port[0] ? port : "5432",
             user && user[0] ? user : "?");
}

/* Why a connection failed, in words, from libpq's message (the server's FATAL or the client's). */
static const char *connect_failure_kind(const char *msg)
{
    if (strstr(msg, "authentication failed") || strstr(msg, "no password supplied") || strstr(msg, "pg_hba.conf"))
        return "login refused";
    if (strstr(msg, "database") && strstr(msg, "does not exist"))
        return "no such database";
    if (strstr(msg, "role") && strstr(msg, "does not exist"))
        return "no such role";
    if (strstr(msg, "permission denied") || strstr(msg, "not permitted"))
        return "the role may not connect";
    if (strstr(msg, "too many") || strstr(msg, "remaining connection slots"))
        return "the server has no free connection";
    return "server unreachable";
}

/* The server's notices and its messages outside a query (e.g. "terminating connection") go to the
 * log at debug level rather than straight to stderr. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    char msg[400];
    log_debug("postgresql: %s", trimmed(message, msg, sizeof msg));
}

/* Opens one connection. On failure NULL, with a message naming the database in err. */
static PGconn *connect_db(pg_store *pg, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *vals[] = {pg->conninfo, "cicada", "UTF8", NULL};
    PGconn *db = PQconnectdbParams(keys, vals, 1);
    if (db && PQstatus(db) == CONNECTION_OK) {
        PQsetNoticeProcessor(db, log_notice, NULL);
        return db;
    }
    char msg[400], where[512];
    trimmed(db ? PQerrorMessage(db) : "out of memory", msg, sizeof msg);
    describe_target(db, where, sizeof where);
    snprintf(err, errlen, "cannot connect to PostgreSQL %s: %s: %s", where, connect_failure_kind(msg), msg);
    PQfinish(db);
    return NULL;
}

static void conn_free(pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}

static pg_conn *conn_new(pg_store *pg, char *err, size_t errlen)
{
    PGconn *db = connect_db(pg, err, errlen);
    if (!db)
        return NULL;
    pg_conn *c = xcalloc(1, sizeof *c);
    c->db = db;
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

static pg_conn *conn_acquire(pg_store *pg)
{
    return store_pool_acquire(pg->pool);
}

/* Returns a connection to the pool; a broken one (dead, or left inside a transaction) is closed. */
static void conn_release(pg_store *pg, pg_conn *c)
{
    store_pool_release(pg->pool, c, !conn_ok(c) || PQtransactionStatus(c->db) != PQTRANS_IDLE);
}

/* ---- transactions ---- */

typedef enum tx_kind {
    TX_NONE,      /* one statement, autocommit */
    TX_WRITE,     /* READ COMMITTED read-write */
    TX_SNAPSHOT,  /* several reads of one snapshot */
} tx_kind;

/* The body of one store operation, run on a pooled connection. It may run again (deadlock, a
 * connection found dead before anything was done), so it sets its outputs from scratch. */
typedef store_rc (*op_body)(pg_store *pg, pg_conn *c, void *arg);

/* Runs body in a transaction of the given kind: STORE_ERROR rolls back, any other result commits
 * (NOT_FOUND / CONFLICT / FULL changed nothing, or nothing wrong) unless a statement failed, which
 * PostgreSQL makes roll back too. The BEGIN travels with the body's first statement and a NOTIFY
 * with the COMMIT (see q_pipeline, notify_work): a claim or a group of submits costs two round
 * trips fewer. */
static store_rc run_op(pg_store *pg, tx_kind kind, op_body body, void *arg)
{
    for (int attempt = 1;; attempt++) {
        pg_conn *c = conn_acquire(pg);
        if (!c)
            return STORE_ERROR;
        c->sqlstate[0] = '\0';
        c->begin = kind == TX_WRITE      ? "BEGIN"
                   : kind == TX_SNAPSHOT ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                         : NULL;
        c->notify = false;
        c->dead_at_start = false;
        store_rc rc = body(pg, c, arg);
        bool in_tx = conn_ok(c) && PQtransactionStatus(c->db) != PQTRANS_IDLE;
        if (in_tx) {
            bool commit = rc != STORE_ERROR && PQtransactionStatus(c->db) == PQTRANS_INTRANS;
            if (commit && !simple(pg, c, c->notify ? "NOTIFY " PG_CHANNEL "; COMMIT" : "COMMIT"))
                rc = STORE_ERROR;
            else if (!commit && conn_ok(c) && PQtransactionStatus(c->db) != PQTRANS_IDLE) {
                PGresult *r = PQexec(c->db, "ROLLBACK");
                PQclear(r);
            }
        } else if (c->notify && rc != STORE_ERROR && !simple(pg, c, "NOTIFY " PG_CHANNEL)) {
            rc = STORE_ERROR; /* outside a transaction (TX_NONE) */
        }
        c->begin = NULL;
        /* again: a deadlock or serialization failure (rolled back whole), or a connection that was
         * dead before the body's first statement (a server restart leaves the pool full of them) */
        bool again = rc == STORE_ERROR && attempt < PG_TX_ATTEMPTS &&
                     (c->dead_at_start || strcmp(c->sqlstate, "40P01") == 0 || strcmp(c->sqlstate, "40001") == 0);
        conn_release(pg, c);
        if (!again)
            return rc;
    }
}

/* NOTIFY the other nodes (and this one) of new work, at commit (sent with the COMMIT). */
static store_rc notify_work(pg_store *pg, pg_conn *c)
{
    (void)pg;
    c->notify = true;
    return STORE_OK;
}

/* ---- binding and reading records ---- */

static void read_bucket(PGresult *r, int row, store_bucket *b)
{
    memset(b, 0, sizeof *b);
    g_text(r, row, 0, b->name, sizeof b->name);
    g_text(r, row, 1, b->appid, sizeof b->appid);
    g_text(r, row, 2, b->region, sizeof b->region);
    b->create_ms = g_i64(r, row, 3);
}

static void read_queue(PGresult *r, int row, store_queue *q)
{
    memset(q, 0, sizeof *q);
    g_text(r, row, 0, q->id, sizeof q->id);
    g_text(r, row, 1, q->bucket, sizeof q->bucket);
    g_text(r, row, 2, q->name, sizeof q->name);
    g_text(r, row, 3, q->state, sizeof q->state);
    q->max_size = g_int(r, row, 4);
    q->max_concurrent = g_int(r, row, 5);
    g_text(r, row, 6, q->notify_url, sizeof q->notify_url);
    g_text(r, row, 7, q->notify_event, sizeof q->notify_event);
    g_text(r, row, 8, q->notify_type, sizeof q->notify_type);
    g_text(r, row, 9, q->notify_state, sizeof q->notify_state);
    g_text(r, row, 10, q->notify_format, sizeof q->notify_format);
    q->create_ms = g_i64(r, row, 11);
    q->update_ms = g_i64(r, row, 12);
}

static void args_queue(pq_args *a, const store_queue *q)
{
    a_fixed(a, q->id, sizeof q->id);
    a_fixed(a, q->bucket, sizeof q->bucket);
    a_fixed(a, q->name, sizeof q->name);
    a_fixed(a, q->state, sizeof q->state);
    a_i64(a, q->max_size);
    a_i64(a, q->max_concurrent);
    a_fixed(a, q->notify_url, sizeof q->notify_url);
    a_fixed(a, q->notify_event, sizeof q->notify_event);
    a_fixed(a, q->notify_type, sizeof q->notify_type);
    a_fixed(a, q->notify_state, sizeof q->notify_state);
    a_fixed(a, q->notify_format, sizeof q->notify_format);
    a_i64(a, q->create_ms);
    a_i64(a, q->update_ms);
}

/* Reads "seq, <store_job_cols>" of a row into a freshly initialised job. */
static void read_job(PGresult *r, int row, store_job *j)
{
    store_job_init(j);
    j->seq = g_i64(r, row, 0);
    char *base = (char *)j;
    for (size_t i = 0; i < store_job_ncols; i++) {
        const store_col *c = &store_job_cols[i];
        void *p = base + c->off;
        int at = (int)i + 1;
        switch (c->kind) {
        case STORE_COL_TEXT: g_text(r, row, at, p, c->size); break;
        case STORE_COL_INT: *(int *)p = g_int(r, row, at); break;
        case STORE_COL_I64: *(int64_t *)p = g_i64(r, row, at); break;
        case STORE_COL_REAL: {
            const char *v = g_val(r, row, at);
            *(double *)p = v ? strtod(v, NULL) : 0;
            break;
        }
        case STORE_COL_STATE: *(job_state *)p = (job_state)g_int(r, row, at); break;
        case STORE_COL_HEAP: *(char **)p = g_heap(r, row, at); break;
        case STORE_COL_BOOL: *(bool *)p = g_bool(r, row, at); break;
        }
    }
}

static void read_outbox(PGresult *r, int row, store_outbox *o)
{
    memset(o, 0, sizeof *o);
    o->id = g_i64(r, row, 0);
    g_text(r, row, 1, o->job_id, sizeof o->job_id);
    g_text(r, row, 2, o->bucket, sizeof o->bucket);
    g_text(r, row, 3, o->url, sizeof o->url);
    g_text(r, row, 4, o->format, sizeof o->format);
    o->attempts = g_int(r, row, 5);
    g_text(r, row, 6, o->owner, sizeof o->owner);
    o->lease_until_ms = g_i64(r, row, 7);
    o->next_ms = g_i64(r, row, 8);
    o->create_ms = g_i64(r, row, 9);
    g_text(r, row, 10, o->last_error, sizeof o->last_error);
}

/* ---- open / close ---- */

/* The SQL type of a column kind, as the job insert's arrays are typed. */
static const char *sql_type_of(store_col_kind k)
{
    switch (k) {
    case STORE_COL_INT:
    case STORE_COL_STATE: return "integer";
    case STORE_COL_I64: return "bigint";
    case STORE_COL_REAL: return "double precision";
    case STORE_COL_BOOL: return "boolean";
    case STORE_COL_TEXT:
    case STORE_COL_HEAP: break;
    }
    return "text";
}

/* The statements that name every job or parameter column, built from the column tables. */
static void build_sql(pg_store *pg)
{
    buf cols, ins_cols, marks;
    buf_init(&cols);
    buf_init(&ins_cols);
    buf_init(&marks);
    int at = 0;
    for (size_t i = 0; i < store_job_ncols; i++) {
        buf_printf(&cols, ", %s", store_job_cols[i].name);
        if (store_job_cols[i].insert) {
            buf_printf(&ins_cols, "%s%s", at ? ", " : "", store_job_cols[i].name);
            buf_printf(&marks, "%s$%d::%s[]", at ? ", " : "", at + 1, sql_type_of(store_job_cols[i].kind));
            at++;
        }
    }
    buf b;
    buf_init(&b);
    /* a whole group in one statement: one array per column, rows taken in the arrays' order (so seq
     * follows it); a duplicate id is skipped and missing from the RETURNING rows */
    buf_printf(&b, "INSERT INTO jobs(%s) SELECT %s FROM unnest(%s) WITH ORDINALITY AS u(%s, ord) ORDER BY ord"
               " ON CONFLICT (id) DO NOTHING RETURNING id, seq",
               ins_cols.data, ins_cols.data, marks.data, ins_cols.data);
    pg->built_sql[ST_JOB_INSERT] = buf_steal(&b);
    buf_printf(&b, "SELECT seq%s FROM jobs WHERE id = $1 AND bucket = $2", cols.data);
    pg->built_sql[ST_JOB_GET] = buf_steal(&b);
    buf_printf(&b, "SELECT seq%s" JOB_LIST_WHERE " AND seq > $7 ORDER BY seq ASC LIMIT $8", cols.data);
    pg->built_sql[ST_JOB_LIST_ASC] = buf_steal(&b);
    buf_printf(&b, "SELECT seq%s" JOB_LIST_WHERE " AND seq < $7 ORDER BY seq DESC LIMIT $8", cols.data);
    pg->built_sql[ST_JOB_LIST_DESC] = buf_steal(&b);
    /* $1 node, $2 now, $3 lease expiry. The locked row's newest version is re-checked against the
     * subquery's WHERE, and again by the outer one. */
    buf_printf(&b,
               "UPDATE jobs SET attempts = attempts + 1, owner = $1, lease_until = $3"
               " WHERE seq = (SELECT seq FROM jobs WHERE state = " S_RUNNING " AND lease_until < $2"
               "   ORDER BY lease_until, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
               " AND state = " S_RUNNING " AND lease_until < $2 RETURNING seq%s",
               cols.data);
    pg->built_sql[ST_JOB_TAKEOVER] = buf_steal(&b);
    /* $1 seq (locked by ST_JOB_PICK), $2 now, $3 node, $4 lease expiry */
    buf_printf(&b,
               "UPDATE jobs SET state = " S_RUNNING ", start_ms = $2, attempts = attempts + 1, owner = $3,"
               " lease_until = $4 WHERE seq = $1 AND state = " S_SUBMITTED " RETURNING seq%s",
               cols.data);
    pg->built_sql[ST_JOB_START] = buf_steal(&b);
    buf_free(&cols);
    buf_free(&ins_cols);
    buf_free(&marks);

    /* templates: $1 id, $2 bucket, $3 name, then (insert) $4 create_ms, $5 update_ms, the params
     * from $6, or (update) $4 update_ms, the params from $5 */
    buf pcols, pins, pset;
    buf_init(&pcols);
    buf_init(&pins);
    buf_init(&pset);
    for (size_t i = 0; i < store_param_ncols; i++) {
        buf_printf(&pcols, ", %s", store_param_cols[i].name);
        buf_printf(&pins, ", $%d", 6 + (int)i);
        buf_printf(&pset, ", %s = $%d", store_param_cols[i].name, 5 + (int)i);
    }
    buf_printf(&b, "INSERT INTO templates(" TEMPLATE_COLS "%s) VALUES($1, $2, $3, $4, $5%s) RETURNING seq",
               pcols.data, pins.data);
    pg->built_sql[ST_TPL_INSERT] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, " TEMPLATE_COLS "%s FROM templates WHERE id = $1 AND bucket = $2", pcols.data);
    pg->built_sql[ST_TPL_GET] = buf_steal(&b);
    buf_printf(&b, "UPDATE templates SET name = $3, update_ms = $4%s WHERE id = $1 AND bucket = $2", pset.data);
    pg->built_sql[ST_TPL_UPDATE] = buf_steal(&b);
    buf_printf(&b, "SELECT seq, " TEMPLATE_COLS "%s" TEMPLATE_WHERE " ORDER BY seq DESC LIMIT $4 OFFSET $5",
               pcols.data);
    pg->built_sql[ST_TPL_PAGE] = buf_steal(&b);
    buf_free(&pcols);
    buf_free(&pins);
    buf_free(&pset);

    for (int i = 0; i < ST_COUNT; i++)
        pg->sql[i] = pg->built_sql[i] ? pg->built_sql[i] : static_sql[i];
}

/* One statement of the migration, with err naming the database (and the missing right, if so). */
static bool migrate_exec(pg_store *pg, PGconn *db, const char *sql, PGresult **out, char *err, size_t errlen)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return true;
    }
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char msg[400];
    trimmed(primary ? primary : PQresultErrorMessage(r), msg, sizeof msg);
    if (st && strcmp(st, "42501") == 0)
        snprintf(err, errlen,
                 "PostgreSQL %s: the role lacks the rights to create or use Cicada's tables (it needs CREATE on the"
                 " schema for the first start and each upgrade, then SELECT/INSERT/UPDATE/DELETE): %s",
                 pg->where, msg);
    else
        snprintf(err, errlen, "PostgreSQL %s: schema upgrade failed: %s", pg->where, msg);
    PQclear(r);
    return false;
}

/* Brings the schema to PG_SCHEMA_VERSION, in one transaction under the schema advisory lock. */
static bool migrate(pg_store *pg, PGconn *db, char *err, size_t errlen)
{
    char sql[128];
    snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld)", (long long)PG_LOCK_SCHEMA);
    if (!migrate_exec(pg, db, sql, NULL, err, errlen))
        return false;
    PGresult *r = NULL;
    bool ok = migrate_exec(pg, db, "SELECT to_regclass('cicada_schema') IS NOT NULL", &r, err, errlen);
    bool exists = ok && PQntuples(r) == 1 && g_bool(r, 0, 0);
    PQclear(r);
    r = NULL;
    if (ok && !exists)
        ok = migrate_exec(pg, db,
                          "CREATE TABLE cicada_schema(one integer PRIMARY KEY CHECK (one = 1), version integer NOT NULL);"
                          "INSERT INTO cicada_schema VALUES (1, 0)",
                          NULL, err, errlen);
    int version = -1;
    if (ok && (ok = migrate_exec(pg, db, "SELECT version FROM cicada_schema", &r, err, errlen)))
        version = PQntuples(r) == 1 ? g_int(r, 0, 0) : -1;
    PQclear(r);
    if (ok && (version < 0 || version > PG_SCHEMA_VERSION)) {
        snprintf(err, errlen, "PostgreSQL %s: schema version %d is not one this build knows (%d)", pg->where, version,
                 PG_SCHEMA_VERSION);
        ok = false;
    }
    for (int v = version; ok && v < PG_SCHEMA_VERSION; v++) {
        snprintf(sql, sizeof sql, "UPDATE cicada_schema SET version = %d", v + 1);
        ok = migrate_exec(pg, db, migrations[v], NULL, err, errlen) && migrate_exec(pg, db, sql, NULL, err, errlen);
    }
    char ignored[64];
    if (!migrate_exec(pg, db, ok ? "COMMIT" : "ROLLBACK", NULL, ok ? err : ignored, ok ? errlen : sizeof ignored))
        ok = false;
    return ok;
}

static void pg_close(void *impl)
{
    pg_store *pg = impl;
    if (!pg)
        return;
    store_pool_free(pg->pool);
    PQfinish(pg->listen);
    for (int i = 0; i < ST_COUNT; i++)
        free(pg->built_sql[i]);
    pthread_mutex_destroy(&pg->wake_mu);
    pthread_cond_destroy(&pg->wake_cv);
    free(pg->conninfo);
    free(pg);
}

/* A database URL libpq cannot parse: said without echoing it (it may hold a password). */
static bool conninfo_valid(const char *url, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (opts) {
        PQconninfoFree(opts);
        return true;
    }
    bool quiet = strstr(url, "pass") || strchr(url, '@'); /* libpq's message may quote it */
    snprintf(err, errlen, "the database URL is not a libpq connection string or URI%s%s", quiet ? "" : ": ",
             quiet ? "" : (msg ? msg : ""));
    size_t n = strlen(err);
    while (n > 0 && err[n - 1] == '\n')
        err[--n] = '\0';
    PQfreemem(msg);
    return false;
}

void *store_pg_open(const store_params *p, char *err, size_t errlen)
{
    if (!p->database_url || !p->database_url[0]) {
        snprintf(err, errlen, "no database URL given");
        return NULL;
    }
    if (!conninfo_valid(p->database_url, err, errlen))
        return NULL;
    pg_store *pg = xcalloc(1, sizeof *pg);
    pg->conninfo = xstrdup(p->database_url);
    pthread_mutex_init(&pg->wake_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pg->wake_cv, &ca);
    pthread_condattr_destroy(&ca);
    build_sql(pg);

    pg_conn *c = conn_new(pg, err, errlen);
    if (!c) {
        pg_close(pg);
        return NULL;
    }
    describe_target(c->db, pg->where, sizeof pg->where);
    if (!migrate(pg, c->db, err, errlen)) {
        conn_free(c);
        pg_close(pg);
        return NULL;
    }
    /* Prepare every statement once now, so a schema/column mismatch fails at open, not later. */
    for (int i = 0; i < ST_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        PGresult *r = PQprepare(c->db, name, pg->sql[i], 0, NULL);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            char msg[400];
            snprintf(err, errlen, "PostgreSQL %s: cannot prepare %.60s...: %s", pg->where, pg->sql[i],
                     trimmed(PQresultErrorMessage(r), msg, sizeof msg));
        }
        PQclear(r);
        if (!ok) {
            conn_free(c);
            pg_close(pg);
            return NULL;
        }
        c->prepared[i] = true;
    }
    pg->pool = store_pool_new(PG_MAX_CONNECTIONS, pg, pool_open, pool_close, c);
    return pg;
}

/* ---- buckets ---- */

typedef struct bucket_open_args {
    const store_bucket *b;
    store_queue q;
} bucket_open_args;

/* Inserts the bucket unless present, then (holding its row lock, so two nodes opening it at once do
 * not both create a queue) finds its first queue or creates the default one. */
static store_rc bucket_open_body(pg_store *pg, pg_conn *c, void *arg)
{
    bucket_open_args *a = arg;
    const store_bucket *b = a->b;
    pq_args x = {0};
    a_fixed(&x, b->name, sizeof b->name);
    a_fixed(&x, b->appid, sizeof b->appid);
    a_fixed(&x, b->region, sizeof b->region);
    a_i64(&x, b->create_ms > 0 ? b->create_ms : time_now_ms());
    if (q_exec(pg, c, ST_BUCKET_INSERT, &x, NULL) != STORE_OK)
        return STORE_ERROR;
    a_fixed(&x, b->name, sizeof b->name);
    if (q_exec(pg, c, ST_BUCKET_LOCK, &x, NULL) != STORE_OK)
        return STORE_ERROR;
    PGresult *r = NULL;
    a_fixed(&x, b->name, sizeof b->name);
    if (q_run(pg, c, ST_QUEUE_FIRST, &x, &r) != STORE_OK)
        return STORE_ERROR;
    bool found = PQntuples(r) > 0;
    if (found)
        read_queue(r, 0, &a->q);
    PQclear(r);
    if (found)
        return STORE_OK;
    char name[64];
    strlcpy_ok(name, b->name, sizeof name);
    store_default_queue(&a->q, name, time_now_ms());
    args_queue(&x, &a->q);
    return q_exec(pg, c, ST_QUEUE_INSERT, &x, NULL);
}

static store_rc pg_bucket_open(void *impl, const store_bucket *b, store_queue *out_queue)
{
    bucket_open_args a = {.b = b};
    store_rc rc = run_op(impl, TX_WRITE, bucket_open_body, &a);
    if (rc == STORE_OK && out_queue)
        *out_queue = a.q;
    return rc;
}

static store_rc bucket_close_body(pg_store *pg, pg_conn *c, void *arg)
{
    pq_args x = {0};
    a_str(&x, arg);
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_BUCKET_DELETE, &x, &changes);
    return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

static store_rc pg_bucket_close(void *impl, const char *name)
{
    return run_op(impl, TX_NONE, bucket_close_body, (void *)name);
}

/* One row by its key: the statement takes $1 = key1 (and $2 = key2 when given), and
 * read_row(r, 0, out, 0) copies the row out. The shape of every "get by id" here. */
typedef struct row_get {
    stmt_id id;
    const char *key1, *key2; /* key2 NULL: a one-parameter statement */
    void (*read_row)(PGresult *r, int row, void *out, size_t i);
    void *out;
} row_get;

static store_rc row_get_body(pg_store *pg, pg_conn *c, void *arg)
{
    row_get *g = arg;
    pq_args x = {0};
    a_str(&x, g->key1 ? g->key1 : "");
    if (g->key2)
        a_str(&x, g->key2);
    PGresult *r = NULL;
    if (q_run(pg, c, g->id, &x, &r) != STORE_OK)
        return STORE_ERROR;
    store_rc rc = PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
    if (rc == STORE_OK)
        g->read_row(r, 0, g->out, 0);
    PQclear(r);
    return rc;
}

static store_rc get_row(void *impl, row_get g)
{
    return run_op(impl, TX_NONE, row_get_body, &g);
}

/* A page of a pageNumber/pageSize listing: count, then the rows of the page, from one snapshot. */
typedef struct page_query {
    stmt_id count_id, page_id;
    void (*args_filter)(pq_args *a, const void *filter);
    const void *filter;
    int size; /* 1..100 */
    int64_t offset;
    void (*read_row)(PGresult *r, int row, void *out, size_t i);
    void *out;
    size_t *n;
    int64_t *total;
} page_query;

static store_rc page_body(pg_store *pg, pg_conn *c, void *arg)
{
    page_query *q = arg;
    *q->n = 0;
    pq_args x = {0};
    q->args_filter(&x, q->filter);
    PGresult *r = NULL;
    if (q_run(pg, c, q->count_id, &x, &r) != STORE_OK)
        return STORE_ERROR;
    *q->total = g_i64(r, 0, 0);
    PQclear(r);
    q->args_filter(&x, q->filter);
    a_i64(&x, q->size);
    a_i64(&x, q->offset);
    if (q_run(pg, c, q->page_id, &x, &r) != STORE_OK)
        return STORE_ERROR;
    for (int i = 0; i < PQntuples(r); i++)
        q->read_row(r, i, q->out, (*q->n)++);
    PQclear(r);
    return STORE_OK;
}

static store_rc run_page(pg_store *pg, page_query *q, int page_number, int page_size)
{
    *q->n = 0;
    *q->total = 0;
    q->size = clamp(page_size, 1, 100);
    q->offset = (int64_t)(page_number > 1 ? page_number - 1 : 0) * q->size;
    return run_op(pg, TX_SNAPSHOT, page_body, q);
}

static void args_bucket_filter(pq_args *a, const void *filter)
{
    const store_bucket_filter *f = filter;
    a_str(a, f->appid ? f->appid : "");
    a_filter(a, f->regions);
    a_filter(a, f->names);
    a_filter(a, f->name_prefix);
}

static void read_bucket_at(PGresult *r, int row, void *out, size_t i)
{
    read_bucket(r, row, (store_bucket *)out + i);
}

static store_rc pg_bucket_get(void *impl, const char *name, store_bucket *out)
{
    return get_row(impl, (row_get){ST_BUCKET_GET, name, NULL, read_bucket_at, out});
}

static store_rc pg_bucket_list(void *impl, const store_bucket_filter *f, store_bucket *out, size_t *n,
                               int64_t *total)
{
    page_query q = {.count_id = ST_BUCKET_COUNT, .page_id = ST_BUCKET_PAGE, .args_filter = args_bucket_filter,
                    .filter = f, .read_row = read_bucket_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

/* ---- queues ---- */

static void read_queue_at(PGresult *r, int row, void *out, size_t i)
{
    read_queue(r, row, (store_queue *)out + i);
}

static store_rc pg_queue_get(void *impl, const char *id, store_queue *out)
{
    return get_row(impl, (row_get){ST_QUEUE_GET, id, NULL, read_queue_at, out});
}

/* A queue update may resume a queue or free notification settings: wake the workers. */
static store_rc queue_update_body(pg_store *pg, pg_conn *c, void *arg)
{
    const store_queue *q = arg;
    pq_args x = {0};
    a_fixed(&x, q->id, sizeof q->id);
    a_fixed(&x, q->bucket, sizeof q->bucket);
    a_fixed(&x, q->name, sizeof q->name);
    a_fixed(&x, q->state, sizeof q->state);
    a_fixed(&x, q->notify_url, sizeof q->notify_url);
    a_fixed(&x, q->notify_event, sizeof q->notify_event);
    a_fixed(&x, q->notify_type, sizeof q->notify_type);
    a_fixed(&x, q->notify_state, sizeof q->notify_state);
    a_fixed(&x, q->notify_format, sizeof q->notify_format);
    a_i64(&x, q->update_ms > 0 ? q->update_ms : time_now_ms());
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_QUEUE_UPDATE, &x, &changes);
    if (rc == STORE_OK && changes == 0)
        return STORE_NOT_FOUND;
    return rc == STORE_OK ? notify_work(pg, c) : rc;
}

static store_rc pg_queue_update(void *impl, const store_queue *q)
{
    return run_op(impl, TX_WRITE, queue_update_body, (void *)q);
}

static void args_queue_filter(pq_args *a, const void *filter)
{
    const store_queue_filter *f = filter;
    a_str(a, f->bucket ? f->bucket : "");
    bool any = !f->state || !f->state[0] || strcmp(f->state, "All") == 0;
    a_str(a, any ? NULL : f->state);
}

static store_rc pg_queue_list(void *impl, const store_queue_filter *f, store_queue *out, size_t *n, int64_t *total)
{
    page_query q = {.count_id = ST_QUEUE_COUNT, .page_id = ST_QUEUE_PAGE, .args_filter = args_queue_filter,
                    .filter = f, .read_row = read_queue_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

/* ---- job insert (one batch of a group commit) ---- */

/* A refused or failed item. The message also goes to this (the leader's) thread's last error, as
 * store.c passes on only STORE_ERROR's. */
static void item_fail(store_insert_item *it, store_rc rc, const char *msg)
{
    if (msg != store_last_error())
        store_set_error("%s", msg);
    it->rc = rc;
    it->job->seq = 0;
    snprintf(it->err, sizeof it->err, "%s", msg);
}

/* A queue of the batch, as locked: admission counts this batch's own inserts on top of waiting. */
typedef struct batch_queue {
    char id[40];
    char bucket[64];
    int64_t max_size, waiting;
    bool startable; /* Active with a free slot: a job added now can start at once */
} batch_queue;

typedef struct batch_args {
    store_insert_item **items;
    size_t n;
    batch_queue *queues;
    size_t nqueues;
    char sqlstate[6]; /* of the statement that failed the group, if one did */
} batch_args;

/* Locks the batch's buckets (advisory) and queue rows; fills a->queues with the queues that exist in
 * open buckets. */
static store_rc lock_batch(pg_store *pg, pg_conn *c, batch_args *a)
{
    buf buckets, queues;
    buf_init(&buckets);
    buf_init(&queues);
    buf_putc(&buckets, '{');
    buf_putc(&queues, '{');
    for (size_t i = 0; i < a->n; i++) {
        const store_job *j = a->items[i]->job;
        char b[64], q[40];
        strlcpy_ok(b, j->bucket, sizeof b);
        strlcpy_ok(q, j->queue_id, sizeof q);
        array_item(&buckets, b); /* duplicates are fine: DISTINCT / ANY */
        array_item(&queues, q);
    }
    buf_putc(&buckets, '}');
    buf_putc(&queues, '}');
    pq_args xb = {0}, xq = {0};
    a_take(&xb, buf_steal(&buckets));
    a_take(&xq, buf_steal(&queues));
    pl_step steps[2] = {{.id = ST_INSERT_LOCK_BUCKETS, .args = &xb}, {.id = ST_INSERT_LOCK_QUEUES, .args = &xq}};
    if (q_pipeline(pg, c, steps, 2) != STORE_OK) /* one round trip, with the BEGIN */
        return STORE_ERROR;
    PQclear(steps[0].res);
    PGresult *r = steps[1].res;
    a->nqueues = (size_t)PQntuples(r);
    a->queues = xcalloc(a->nqueues ? a->nqueues : 1, sizeof *a->queues);
    for (size_t i = 0; i < a->nqueues; i++) {
        batch_queue *q = &a->queues[i];
        g_text(r, (int)i, 0, q->id, sizeof q->id);
        g_text(r, (int)i, 1, q->bucket, sizeof q->bucket);
        q->max_size = g_i64(r, (int)i, 2);
        q->waiting = g_i64(r, (int)i, 3);
        q->startable = g_bool(r, (int)i, 4);
    }
    PQclear(r);
    return STORE_OK;
}

static batch_queue *batch_queue_of(batch_args *a, const store_job *j)
{
    for (size_t i = 0; i < a->nqueues; i++)
        if (strncmp(a->queues[i].id, j->queue_id, sizeof j->queue_id) == 0 &&
            strncmp(a->queues[i].bucket, j->bucket, sizeof j->bucket) == 0)
            return &a->queues[i];
    return NULL;
}

/* Whether a job may join the batch: its queue exists and has room (counting the batch's own jobs
 * admitted before it). A refusal changes nothing and spoils nothing. */
static bool admit_one(batch_args *a, store_insert_item *it)
{
    store_job *j = it->job;
    j->state = JOB_SUBMITTED;
    batch_queue *q = batch_queue_of(a, j);
    char msg[200];
    if (!q) {
        snprintf(msg, sizeof msg, "queue %.40s of bucket %.64s does not exist, or the bucket is not open", j->queue_id,
                 j->bucket);
        item_fail(it, STORE_NOT_FOUND, msg);
        return false;
    }
    if (q->waiting >= q->max_size) {
        snprintf(msg, sizeof msg, "queue %.40s already holds %lld waiting jobs", q->id, (long long)q->waiting);
        item_fail(it, STORE_FULL, msg);
        return false;
    }
    q->waiting++;
    return true;
}

/* Appends one value of a job to the array literal of its column ("{" ... "}" added by the caller). */
static void array_value(buf *b, const store_col *c, const store_job *j)
{
    const char *p = (const char *)j + c->off;
    char num[32];
    switch (c->kind) {
    case STORE_COL_TEXT: {
        char *s = xstrndup(p, strnlen(p, c->size));
        array_item(b, s);
        free(s);
        return;
    }
    case STORE_COL_HEAP:
        if (*(char *const *)p)
            array_item(b, *(char *const *)p);
        else
            buf_puts(b, b->len > 1 ? ",NULL" : "NULL");
        return;
    case STORE_COL_INT: snprintf(num, sizeof num, "%d", *(const int *)p); break;
    case STORE_COL_STATE: snprintf(num, sizeof num, "%d", (int)*(const job_state *)p); break;
    case STORE_COL_I64: snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)p); break;
    case STORE_COL_REAL: snprintf(num, sizeof num, "%.17g", *(const double *)p); break;
    case STORE_COL_BOOL: snprintf(num, sizeof num, "%s", *(const bool *)p ? "t" : "f"); break;
    }
    if (b->len > 1)
        buf_putc(b, ',');
    buf_puts(b, num);
}

/* Whether row k of the insert's answer (id, seq) is job id's, and not yet given to another job. */
static bool answer_is(PGresult *r, int k, const bool *taken, const char *id)
{
    return !taken[k] && strcmp(PQgetvalue(r, k, 0), id) == 0;
}

/* Inserts the admitted jobs of the batch in one statement (one array per column; see build_sql) and
 * commits, in one round trip. Each job gets its seq from the RETURNING rows; a job missing from them had a duplicate id
 * (STORE_CONFLICT, the room it took given back). Before, each job was an INSERT of its own whose row
 * trigger moved its queue's counter: the per-statement and per-row work, not the rows, was most of
 * the group's time in the server. */
static store_rc insert_rows(pg_store *pg, pg_conn *c, batch_args *a)
{
    bool *sent = xcalloc(a->n ? a->n : 1, sizeof *sent);
    size_t nsend = 0;
    for (size_t i = 0; i < a->n; i++)
        if ((sent[i] = admit_one(a, a->items[i])))
            nsend++;
    if (nsend == 0) {
        free(sent);
        return STORE_OK;
    }
    pq_args x = {0};
    for (size_t k = 0; k < store_job_ncols; k++) {
        const store_col *col = &store_job_cols[k];
        if (!col->insert)
            continue;
        buf arr;
        buf_init(&arr);
        buf_putc(&arr, '{');
        for (size_t i = 0; i < a->n; i++)
            if (sent[i])
                array_value(&arr, col, a->items[i]->job);
        buf_putc(&arr, '}');
        a_take(&x, buf_steal(&arr));
    }
    /* The INSERT, the NOTIFY and the COMMIT in one round trip: a failed INSERT leaves the
     * transaction aborted (the later ones do not run) for run_op to roll back. The NOTIFY only when
     * a job can start now: jobs of a paused queue, or of one running MaxConcurrent jobs, wait for
     * the resume or the finish that will notify; waking every node's workers to claim nothing costs
     * each PostgreSQL a process wake-up per group and each node a claim. */
    bool wake = false;
    for (size_t i = 0; i < a->n; i++)
        wake = wake || (sent[i] && batch_queue_of(a, a->items[i]->job)->startable);
    pl_step steps[3] = {{.id = ST_JOB_INSERT, .args = &x}, {.sql = "NOTIFY " PG_CHANNEL}, {.sql = "COMMIT"}};
    if (!wake)
        steps[1] = steps[2];
    if (q_pipeline(pg, c, steps, wake ? 3 : 2) != STORE_OK) {
        free(sent);
        return STORE_ERROR;
    }
    PGresult *r = steps[0].res;
    int rows = PQntuples(r);
    bool *taken = xcalloc(rows ? (size_t)rows : 1, sizeof *taken);
    int next = 0;
    for (size_t i = 0; i < a->n; i++) {
        store_insert_item *it = a->items[i];
        if (!sent[i])
            continue;
        /* the first unclaimed answer for this id (an id twice in one group has one row); answers come
         * in the arrays' order, so it is nearly always the one after the previous job's */
        int row = next < rows && answer_is(r, next, taken, it->job->id) ? next : -1;
        for (int k = 0; k < rows && row < 0; k++)
            if (answer_is(r, k, taken, it->job->id))
                row = k;
        if (row >= 0) {
            next = row + 1;
            it->rc = STORE_OK;
            it->err[0] = '\0';
            it->job->seq = g_i64(r, row, 1);
            taken[row] = true;
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "job %.40s already exists", it->job->id);
            item_fail(it, STORE_CONFLICT, msg);
            batch_queue_of(a, it->job)->waiting--;
        }
    }
    PQclear(r);
    free(taken);
    free(sent);
    return STORE_OK;
}

static store_rc insert_batch_body(pg_store *pg, pg_conn *c, void *arg)
{
    batch_args *a = arg;
    free(a->queues);
    a->queues = NULL;
    a->nqueues = 0;
    if (lock_batch(pg, c, a) != STORE_OK || insert_rows(pg, c, a) != STORE_OK) {
        memcpy(a->sqlstate, c->sqlstate, sizeof a->sqlstate);
        return STORE_ERROR;
    }
    return STORE_OK; /* each item carries its own result; committed unless all were refused */
}

/* After a failed transaction: every job that was not refused on its own merits failed. */
static void fail_batch(store_insert_item **items, size_t n, const char *msg)
{
    for (size_t i = 0; i < n; i++)
        if (items[i]->rc == STORE_OK || items[i]->rc == STORE_ERROR)
            item_fail(items[i], STORE_ERROR, msg);
}

/* A group is one statement, so a job the server refuses (a data exception, class 22, or an integrity
 * violation, class 23) would fail the whole group: the group then runs again one job at a time, and
 * only that job fails, as on SQLite. */
static void pg_job_insert_batch(void *impl, store_insert_item **items, size_t n)
{
    batch_args a = {items, n, NULL, 0, ""};
    for (size_t i = 0; i < n; i++)
        items[i]->rc = STORE_ERROR;
    if (run_op(impl, TX_WRITE, insert_batch_body, &a) != STORE_OK) {
        if (n > 1 && (strncmp(a.sqlstate, "22", 2) == 0 || strncmp(a.sqlstate, "23", 2) == 0)) {
            for (size_t i = 0; i < n; i++)
                pg_job_insert_batch(impl, &items[i], 1);
        } else {
            fail_batch(items, n, store_last_error()); /* nothing committed */
        }
    }
    free(a.queues);
}

/* ---- job reads ---- */

static void read_job_at(PGresult *r, int row, void *out, size_t i)
{
    read_job(r, row, (store_job *)out + i);
}

static store_rc pg_job_get(void *impl, const char *bucket, const char *id, store_job *out)
{
    store_job_init(out);
    return get_row(impl, (row_get){ST_JOB_GET, id, bucket ? bucket : "", read_job_at, out});
}

typedef struct job_list_args {
    const store_job_filter *f;
    store_job *out;
    size_t *n;
    int64_t *next_seq;
} job_list_args;

static store_rc job_list_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_list_args *a = arg;
    const store_job_filter *f = a->f;
    int size = clamp(f->size, 1, 100);
    pq_args x = {0};
    a_str(&x, f->bucket ? f->bucket : "");
    a_filter(&x, f->queue_id);
    a_filter(&x, f->tag);
    a_i64(&x, f->state_mask);
    a_i64(&x, f->start_create_ms > 0 ? f->start_create_ms : INT64_MIN);
    a_i64(&x, f->end_create_ms > 0 ? f->end_create_ms : INT64_MAX);
    /* always a real bound on seq, so the (bucket, seq) index seeks straight to the page */
    a_i64(&x, f->after_seq > 0 ? f->after_seq : (f->descending ? INT64_MAX : 0));
    a_i64(&x, size + 1); /* one more than asked tells whether a next page exists */
    PGresult *r = NULL;
    if (q_run(pg, c, f->descending ? ST_JOB_LIST_DESC : ST_JOB_LIST_ASC, &x, &r) != STORE_OK)
        return STORE_ERROR;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && i < size; i++)
        read_job(r, i, &a->out[(*a->n)++]);
    if (rows > size)
        *a->next_seq = a->out[*a->n - 1].seq;
    PQclear(r);
    return STORE_OK;
}

static store_rc pg_job_list(void *impl, const store_job_filter *f, store_job *out, size_t *n, int64_t *next_seq)
{
    *n = 0;
    *next_seq = 0;
    job_list_args a = {f, out, n, next_seq};
    return run_op(impl, TX_NONE, job_list_body, &a);
}

typedef struct job_count_args {
    const char *queue_id;
    job_state state;
    int64_t *out;
} job_count_args;

static store_rc job_count_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_count_args *a = arg;
    pq_args x = {0};
    a_str(&x, a->queue_id ? a->queue_id : "");
    a_i64(&x, (int)a->state);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_JOB_COUNT, &x, &r) != STORE_OK)
        return STORE_ERROR;
    *a->out = g_i64(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

static store_rc pg_job_count(void *impl, const char *queue_id, job_state state, int64_t *out)
{
    job_count_args a = {queue_id, state, out};
    return run_op(impl, TX_NONE, job_count_body, &a);
}

/* ---- job state changes ---- */

/* Queues a job's callback in the outbox, inside the transaction that ends the job. */
static store_rc outbox_add(pg_store *pg, pg_conn *c, const char *job_id, const char *bucket, const store_callback *cb,
                           int64_t now_ms)
{
    if (!cb)
        return STORE_OK;
    pq_args x = {0};
    a_str(&x, job_id);
    a_str(&x, bucket);
    a_fixed(&x, cb->url, sizeof cb->url);
    a_fixed(&x, cb->format[0] ? cb->format : "XML", sizeof cb->format);
    a_i64(&x, now_ms);
    return q_exec(pg, c, ST_OUTBOX_INSERT, &x, NULL);
}

/* After a cancel matched nothing: was the job missing (NOT_FOUND) or in the wrong state? */
static store_rc why_not_cancelled(pg_store *pg, pg_conn *c, const char *bucket, const char *id)
{
    pq_args x = {0};
    a_str(&x, id);
    a_str(&x, bucket);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_JOB_STATE, &x, &r) != STORE_OK)
        return STORE_ERROR;
    store_rc rc = STORE_NOT_FOUND;
    if (PQntuples(r) == 0) {
        store_set_error("job %s does not exist in bucket %s", id, bucket);
    } else {
        store_set_error("job %s is %s", id, job_state_name((job_state)g_int(r, 0, 0)));
        rc = STORE_CONFLICT;
    }
    PQclear(r);
    return rc;
}

typedef struct job_cancel_args {
    const char *bucket, *id;
    int64_t now_ms;
    const store_callback *cb;
} job_cancel_args;

static store_rc job_cancel_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_cancel_args *a = arg;
    pq_args x = {0};
    a_str(&x, a->id);
    a_str(&x, a->bucket);
    a_i64(&x, a->now_ms);
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_JOB_CANCEL, &x, &changes);
    if (rc == STORE_OK && changes == 0)
        return why_not_cancelled(pg, c, a->bucket, a->id);
    if (rc == STORE_OK && a->cb)
        rc = outbox_add(pg, c, a->id, a->bucket, a->cb, a->now_ms);
    return rc == STORE_OK && a->cb ? notify_work(pg, c) : rc; /* a callback to send */
}

static store_rc pg_job_cancel(void *impl, const char *bucket, const char *id, int64_t now_ms, const store_callback *cb)
{
    job_cancel_args a = {bucket ? bucket : "", id ? id : "", now_ms, cb};
    return run_op(impl, TX_WRITE, job_cancel_body, &a);
}

typedef struct job_claim_args {
    const store_claim *claim;
    store_job *out;
} job_claim_args;

/* Reads the one row a claim's UPDATE ... RETURNING gave into the caller's job. */
static store_rc claimed(PGresult *r, job_claim_args *a)
{
    if (PQntuples(r) != 1) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    store_job_clear(a->out);
    read_job(r, 0, a->out);
    PQclear(r);
    return STORE_OK;
}

/* Step 3 of a claim: the best Submitted job of queue qid (locked by the caller) starts. NOT_FOUND
 * when all its Submitted jobs are locked by others (being cancelled). */
static store_rc start_best_job(pg_store *pg, pg_conn *c, job_claim_args *a, const char *qid)
{
    pq_args x = {0};
    a_str(&x, qid);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_JOB_PICK, &x, &r) != STORE_OK)
        return STORE_ERROR;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    int64_t seq = g_i64(r, 0, 0);
    PQclear(r);
    const store_claim *cl = a->claim;
    a_i64(&x, seq);
    a_i64(&x, cl->now_ms);
    a_str(&x, cl->node);
    a_i64(&x, cl->now_ms + cl->lease_ms);
    if (q_run(pg, c, ST_JOB_START, &x, &r) != STORE_OK)
        return STORE_ERROR;
    if (claimed(r, a) != STORE_OK) {
        store_set_error("job seq %lld changed state while being claimed", (long long)seq);
        return STORE_ERROR;
    }
    a_str(&x, qid);
    return q_exec(pg, c, ST_QUEUE_TURN, &x, NULL);
}

/* Step 2: the fair pick, first skipping queues locked by others; see the top of the file. */
static store_rc claim_runnable(pg_store *pg, pg_conn *c, job_claim_args *a)
{
    buf passed;
    buf_init(&passed);
    buf_putc(&passed, '{');
    bool locked_any = false;
    store_rc rc = STORE_NOT_FOUND;
    for (int i = 0; i < PG_PICK_TRIES && rc == STORE_NOT_FOUND; i++) {
        pq_args x = {0};
        char *lit = xmalloc(passed.len + 2);
        memcpy(lit, passed.data, passed.len);
        memcpy(lit + passed.len, "}", 2);
        a_take(&x, lit);
        PGresult *r = NULL;
        if (q_run(pg, c, ST_QUEUE_PICK, &x, &r) != STORE_OK) {
            rc = STORE_ERROR;
            break;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        char qid[40];
        g_text(r, 0, 0, qid, sizeof qid);
        PQclear(r);
        locked_any = true;
        rc = start_best_job(pg, c, a, qid);
        if (rc == STORE_NOT_FOUND)
            array_item(&passed, qid);
    }
    buf_free(&passed);
    if (rc != STORE_NOT_FOUND || locked_any)
        return rc;
    /* Nothing unlocked qualified. Wait for the locked ones, holding no lock of our own. */
    PGresult *r = NULL;
    if (q_run(pg, c, ST_QUEUE_PICK_WAIT, NULL, &r) != STORE_OK)
        return STORE_ERROR;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    char qid[40];
    g_text(r, 0, 0, qid, sizeof qid);
    PQclear(r);
    return start_best_job(pg, c, a, qid);
}

static store_rc job_claim_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_claim_args *a = arg;
    const store_claim *cl = a->claim;
    pq_args x = {0};
    a_str(&x, cl->node);
    a_i64(&x, cl->now_ms);
    a_i64(&x, cl->now_ms + cl->lease_ms);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_JOB_TAKEOVER, &x, &r) != STORE_OK)
        return STORE_ERROR;
    store_rc rc = claimed(r, a);
    return rc == STORE_NOT_FOUND ? claim_runnable(pg, c, a) : rc;
}

static store_rc pg_job_claim(void *impl, const store_claim *claim, store_job *out)
{
    store_job_init(out);
    job_claim_args a = {claim, out};
    store_rc rc = run_op(impl, TX_WRITE, job_claim_body, &a);
    if (rc != STORE_OK) {
        store_job_clear(out); /* a job read before a failed commit is not claimed */
        store_job_init(out);
    }
    return rc;
}

/* After a fenced statement matched nothing: the job is gone (NOT_FOUND), or its lease is not the
 * caller's any more / it is not Running (CONFLICT), or it is the caller's but a Success has no
 * staged result (ERROR: a caller bug, not a lost lease). */
static store_rc why_fenced(pg_store *pg, pg_conn *c, const store_job *j, bool success)
{
    pq_args x = {0};
    a_fixed(&x, j->id, sizeof j->id);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_JOB_FENCE, &x, &r) != STORE_OK)
        return STORE_ERROR;
    char bucket[64] = "";
    if (PQntuples(r) > 0)
        g_text(r, 0, 4, bucket, sizeof bucket);
    if (PQntuples(r) == 0 || strncmp(bucket, j->bucket, sizeof j->bucket) != 0) {
        PQclear(r);
        store_set_error("job %.40s does not exist in bucket %.64s", j->id, j->bucket);
        return STORE_NOT_FOUND;
    }
    job_state state = (job_state)g_int(r, 0, 0);
    char owner[64];
    g_text(r, 0, 1, owner, sizeof owner);
    int attempt = g_int(r, 0, 2);
    bool staged = g_bool(r, 0, 3);
    PQclear(r);
    bool mine = state == JOB_RUNNING && strncmp(owner, j->owner, sizeof j->owner) == 0 && attempt == j->attempts;
    if (mine && success && !staged) {
        store_set_error("job %.40s cannot end as Success: its result was not staged", j->id);
        return STORE_ERROR;
    }
    if (state == JOB_RUNNING)
        store_set_error("job %.40s: the lease of attempt %d (%.63s) was lost to attempt %d (%s)", j->id, j->attempts,
                        j->owner, attempt, owner);
    else
        store_set_error("job %.40s is %s", j->id, job_state_name(state));
    return STORE_CONFLICT;
}

static void args_fence(pq_args *x, const store_job *j)
{
    a_fixed(x, j->id, sizeof j->id);
    a_fixed(x, j->owner, sizeof j->owner);
    a_i64(x, j->attempts);
}

/* Runs a fenced statement; CONFLICT & co. via why_fenced when it matched nothing. */
static store_rc run_fenced(pg_store *pg, pg_conn *c, stmt_id id, pq_args *x, const store_job *j, bool success)
{
    int changes = 0;
    store_rc rc = q_exec(pg, c, id, x, &changes);
    return rc == STORE_OK && changes == 0 ? why_fenced(pg, c, j, success) : rc;
}

typedef struct job_renew_args {
    store_job *j;
    int64_t lease_until;
} job_renew_args;

static store_rc job_renew_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_renew_args *a = arg;
    pq_args x = {0};
    args_fence(&x, a->j);
    a_i64(&x, a->lease_until);
    return run_fenced(pg, c, ST_JOB_RENEW, &x, a->j, false);
}

static store_rc pg_job_renew(void *impl, store_job *j, int64_t now_ms, int64_t lease_ms)
{
    job_renew_args a = {j, now_ms + lease_ms};
    store_rc rc = run_op(impl, TX_WRITE, job_renew_body, &a);
    if (rc == STORE_OK)
        j->lease_until_ms = a.lease_until;
    return rc;
}

typedef struct job_progress_args {
    const store_job *j;
    double progress;
} job_progress_args;

static store_rc job_progress_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_progress_args *a = arg;
    pq_args x = {0};
    args_fence(&x, a->j);
    a_real(&x, a->progress);
    return run_fenced(pg, c, ST_JOB_PROGRESS, &x, a->j, false);
}

static store_rc pg_job_progress(void *impl, const store_job *j, double progress)
{
    job_progress_args a = {j, progress};
    return run_op(impl, TX_WRITE, job_progress_body, &a);
}

static store_rc job_stage_body(pg_store *pg, pg_conn *c, void *arg)
{
    store_job *j = arg;
    pq_args x = {0};
    args_fence(&x, j);
    a_real(&x, j->audio_time);
    a_str(&x, j->result);
    a_str(&x, j->result_detail);
    a_fixed(&x, j->object_name, sizeof j->object_name);
    a_fixed(&x, j->detail_object_name, sizeof j->detail_object_name);
    a_str(&x, j->output_body);
    a_fixed(&x, j->output_content_type, sizeof j->output_content_type);
    return run_fenced(pg, c, ST_JOB_STAGE, &x, j, false);
}

static store_rc pg_job_stage(void *impl, store_job *j)
{
    store_rc rc = run_op(impl, TX_WRITE, job_stage_body, j);
    if (rc == STORE_OK)
        j->staged = true;
    return rc;
}

typedef struct job_finish_args {
    const store_job *j;
    const store_callback *cb;
} job_finish_args;

/* The job ends, its queue's Running count drops (trigger), its callback is queued, and the workers
 * hear of the free slot: one transaction. */
static store_rc job_finish_body(pg_store *pg, pg_conn *c, void *arg)
{
    job_finish_args *a = arg;
    const store_job *j = a->j;
    pq_args x = {0};
    args_fence(&x, j);
    a_i64(&x, (int)j->state);
    a_fixed(&x, j->code, sizeof j->code);
    a_fixed(&x, j->message, sizeof j->message);
    a_i64(&x, j->end_ms);
    store_rc rc = run_fenced(pg, c, ST_JOB_FINISH, &x, j, j->state == JOB_SUCCESS);
    if (rc == STORE_OK) {
        char id[40], bucket[64];
        strlcpy_ok(id, j->id, sizeof id);
        strlcpy_ok(bucket, j->bucket, sizeof bucket);
        rc = outbox_add(pg, c, id, bucket, a->cb, j->end_ms ? j->end_ms : time_now_ms());
    }
    return rc == STORE_OK ? notify_work(pg, c) : rc;
}

static store_rc pg_job_finish(void *impl, const store_job *j, const store_callback *cb)
{
    job_finish_args a = {j, cb};
    return run_op(impl, TX_WRITE, job_finish_body, &a);
}

typedef struct release_args {
    const char *node;
    int *count;
} release_args;

static store_rc release_body(pg_store *pg, pg_conn *c, void *arg)
{
    release_args *a = arg;
    pq_args x = {0};
    a_str(&x, a->node);
    store_rc rc = q_exec(pg, c, ST_JOB_RELEASE, &x, a->count);
    if (rc == STORE_OK) {
        pq_args y = {0};
        a_str(&y, a->node);
        rc = q_exec(pg, c, ST_OUTBOX_RELEASE, &y, NULL);
    }
    return rc == STORE_OK && *a->count > 0 ? notify_work(pg, c) : rc;
}

static store_rc pg_job_release(void *impl, const char *node, int *count)
{
    *count = 0;
    release_args a = {node ? node : "", count};
    store_rc rc = run_op(impl, TX_WRITE, release_body, &a);
    if (rc != STORE_OK)
        *count = 0;
    return rc;
}

/* ---- settings ---- */

typedef struct setting_args {
    const char *name, *value;
    char *out;
    size_t outlen;
} setting_args;

/* Insert-if-absent then read, in one READ COMMITTED transaction: a concurrent first insert by
 * another node makes ours do nothing (ON CONFLICT waits for it), and the read then sees its row. */
static store_rc setting_body(pg_store *pg, pg_conn *c, void *arg)
{
    setting_args *a = arg;
    pq_args x = {0}, y = {0};
    a_str(&x, a->name);
    a_str(&x, a->value);
    if (q_exec(pg, c, ST_SETTING_INSERT, &x, NULL) != STORE_OK)
        return STORE_ERROR;
    a_str(&y, a->name);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_SETTING_GET, &y, &r) != STORE_OK)
        return STORE_ERROR;
    store_rc rc = PQntuples(r) == 1 ? STORE_OK : STORE_ERROR;
    if (rc == STORE_OK)
        g_text(r, 0, 0, a->out, a->outlen);
    else
        store_set_error("setting %s vanished", a->name);
    PQclear(r);
    return rc;
}

static store_rc pg_setting_init(void *impl, const char *name, const char *value_if_absent, char *out, size_t outlen)
{
    setting_args a = {name, value_if_absent, out, outlen};
    return run_op(impl, TX_WRITE, setting_body, &a);
}

/* ---- the callback outbox ---- */

typedef struct outbox_claim_args {
    const store_claim *claim;
    store_outbox *out;
} outbox_claim_args;

static store_rc outbox_claim_body(pg_store *pg, pg_conn *c, void *arg)
{
    outbox_claim_args *a = arg;
    pq_args x = {0};
    a_i64(&x, a->claim->now_ms);
    a_str(&x, a->claim->node);
    a_i64(&x, a->claim->now_ms + a->claim->lease_ms);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_OUTBOX_CLAIM, &x, &r) != STORE_OK)
        return STORE_ERROR;
    store_rc rc = PQntuples(r) == 1 ? STORE_OK : STORE_NOT_FOUND;
    if (rc == STORE_OK)
        read_outbox(r, 0, a->out);
    PQclear(r);
    return rc;
}

static store_rc pg_outbox_claim(void *impl, const store_claim *claim, store_outbox *out)
{
    outbox_claim_args a = {claim, out};
    return run_op(impl, TX_NONE, outbox_claim_body, &a);
}

typedef struct outbox_settle_args {
    const store_outbox *o;
    store_outbox_outcome how;
    int64_t next_ms;
    const char *error;
} outbox_settle_args;

static store_rc outbox_settle_body(pg_store *pg, pg_conn *c, void *arg)
{
    outbox_settle_args *a = arg;
    const store_outbox *o = a->o;
    stmt_id id = a->how == STORE_OUTBOX_DELIVERED ? ST_OUTBOX_DELIVERED
                 : a->how == STORE_OUTBOX_RETRY   ? ST_OUTBOX_RETRY
                                                  : ST_OUTBOX_GIVE_UP;
    pq_args x = {0};
    a_i64(&x, o->id);
    a_fixed(&x, o->owner, sizeof o->owner);
    a_i64(&x, o->attempts);
    if (id == ST_OUTBOX_RETRY)
        a_i64(&x, a->next_ms);
    if (id != ST_OUTBOX_DELIVERED) {
        char *e = xstrdup(a->error ? a->error : "");
        if (strlen(e) >= sizeof o->last_error)
            e[sizeof o->last_error - 1] = '\0'; /* may cut a UTF-8 sequence: PostgreSQL would refuse it */
        a_take(&x, e);
    }
    int changes = 0;
    store_rc rc = q_exec(pg, c, id, &x, &changes);
    if (rc == STORE_OK && changes == 0) {
        store_set_error("callback %lld of job %.40s: attempt %d by %.63s was taken over", (long long)o->id, o->job_id,
                        o->attempts, o->owner);
        return STORE_CONFLICT;
    }
    return rc;
}

static store_rc pg_outbox_settle(void *impl, const store_outbox *o, store_outbox_outcome how, int64_t next_ms,
                                 const char *error)
{
    outbox_settle_args a = {o, how, next_ms, error};
    return run_op(impl, TX_NONE, outbox_settle_body, &a);
}

typedef struct outbox_count_args {
    int64_t *pending, *given_up;
} outbox_count_args;

static store_rc outbox_count_body(pg_store *pg, pg_conn *c, void *arg)
{
    outbox_count_args *a = arg;
    PGresult *r = NULL;
    if (q_run(pg, c, ST_OUTBOX_COUNT, NULL, &r) != STORE_OK)
        return STORE_ERROR;
    *a->pending = g_i64(r, 0, 0);
    *a->given_up = g_i64(r, 0, 1);
    PQclear(r);
    return STORE_OK;
}

static store_rc pg_outbox_count(void *impl, int64_t *pending, int64_t *given_up)
{
    outbox_count_args a = {pending, given_up};
    return run_op(impl, TX_NONE, outbox_count_body, &a);
}

typedef struct outbox_of_job_args {
    const char *job_id;
    store_outbox *out;
    size_t max, *n;
} outbox_of_job_args;

static store_rc outbox_of_job_body(pg_store *pg, pg_conn *c, void *arg)
{
    outbox_of_job_args *a = arg;
    *a->n = 0;
    pq_args x = {0};
    a_str(&x, a->job_id ? a->job_id : "");
    a_i64(&x, (int64_t)a->max);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_OUTBOX_OF_JOB, &x, &r) != STORE_OK)
        return STORE_ERROR;
    for (int i = 0; i < PQntuples(r) && *a->n < a->max; i++)
        read_outbox(r, i, &a->out[(*a->n)++]);
    PQclear(r);
    return STORE_OK;
}

static store_rc pg_outbox_of_job(void *impl, const char *job_id, store_outbox *out, size_t max, size_t *n)
{
    *n = 0;
    outbox_of_job_args a = {job_id, out, max, n};
    return run_op(impl, TX_NONE, outbox_of_job_body, &a);
}

/* ---- wake-ups: LISTEN/NOTIFY ---- */

/* Opens the LISTEN connection. False (error set) when the server cannot be reached. */
static bool listen_open(pg_store *pg)
{
    char err[768];
    PGconn *db = connect_db(pg, err, sizeof err);
    if (!db) {
        store_set_error("%s", err);
        return false;
    }
    PGresult *r = PQexec(db, "LISTEN " PG_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        char msg[400];
        store_set_error("PostgreSQL %s: LISTEN: %s", pg->where, trimmed(PQerrorMessage(db), msg, sizeof msg));
    }
    PQclear(r);
    if (!ok) {
        PQfinish(db);
        return false;
    }
    pg->listen = db;
    return true;
}

/* Reads what the LISTEN connection has received; *got when a notification was among it. False when
 * the connection broke (closed here; the caller reports a wake-up, since some may have been lost). */
static bool listen_drain(pg_store *pg, bool *got)
{
    if (!PQconsumeInput(pg->listen)) {
        PQfinish(pg->listen);
        pg->listen = NULL;
        return false;
    }
    PGnotify *n;
    while ((n = PQnotifies(pg->listen)) != NULL) {
        *got = true;
        PQfreemem(n);
    }
    return true;
}

/* The polling thread's wait: up to timeout_ms for a notification. */
static store_rc listen_poll(pg_store *pg, int64_t timeout_ms, bool *got)
{
    if (!pg->listen && !listen_open(pg)) {
        time_sleep_ms(timeout_ms); /* polling is the fallback: do not make the caller spin */
        return STORE_ERROR;
    }
    if (!listen_drain(pg, got) || *got) {
        *got = true;
        return STORE_OK;
    }
    struct pollfd pfd = {.fd = PQsocket(pg->listen), .events = POLLIN};
    int ms = timeout_ms > INT_MAX ? INT_MAX : (int)(timeout_ms > 0 ? timeout_ms : 0);
    int n = poll(&pfd, 1, ms);
    if (n < 0 && errno != EINTR) {
        store_set_error("poll on the LISTEN connection: %s", strerror(errno));
        return STORE_ERROR;
    }
    if (n > 0 && !listen_drain(pg, got))
        *got = true;
    return STORE_OK;
}

static store_rc pg_wait_wakeup(void *impl, int64_t timeout_ms, bool *woken)
{
    pg_store *pg = impl;
    int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    store_rc rc = STORE_OK;
    pthread_mutex_lock(&pg->wake_mu);
    uint64_t gen0 = pg->wake_gen;
    for (bool first = true; pg->wake_gen == gen0 && rc == STORE_OK; first = false) {
        int64_t left = deadline - time_mono_ms();
        if (left <= 0 && !first)
            break;
        if (left < 0)
            left = 0;
        if (!pg->polling) {
            pg->polling = true;
            pthread_mutex_unlock(&pg->wake_mu);
            bool got = false;
            rc = listen_poll(pg, left, &got);
            pthread_mutex_lock(&pg->wake_mu);
            pg->polling = false;
            if (got)
                pg->wake_gen++;
            pthread_cond_broadcast(&pg->wake_cv); /* news, or the next waiter takes over polling */
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + left * 1000000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&pg->wake_cv, &pg->wake_mu, &ts);
        }
    }
    *woken = pg->wake_gen != gen0;
    pthread_mutex_unlock(&pg->wake_mu);
    return rc;
}

/* ---- hot-vocabulary tables ---- */

static void read_hotvocab(PGresult *r, int row, store_hotvocab *h)
{
    store_hotvocab_init(h);
    g_text(r, row, 0, h->id, sizeof h->id);
    g_text(r, row, 1, h->bucket, sizeof h->bucket);
    g_text(r, row, 2, h->name, sizeof h->name);
    g_text(r, row, 3, h->description, sizeof h->description);
    h->create_ms = g_i64(r, row, 4);
    h->update_ms = g_i64(r, row, 5);
}

/* Appends the stored words of table h->id to h, in table order. */
static store_rc read_hotwords(pg_store *pg, pg_conn *c, store_hotvocab *h)
{
    pq_args x = {0};
    a_fixed(&x, h->id, sizeof h->id);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_HV_WORDS, &x, &r) != STORE_OK)
        return STORE_ERROR;
    for (int i = 0; i < PQntuples(r); i++)
        store_hotvocab_add_word(h, PQgetvalue(r, i, 0), g_int(r, i, 1));
    PQclear(r);
    return STORE_OK;
}

/* Inserts h's words for table h->id in one statement; CONFLICT when a word appears twice (the
 * statement failed, so the caller's transaction rolls back whole). */
static store_rc insert_hotwords(pg_store *pg, pg_conn *c, const store_hotvocab *h)
{
    if (h->nwords == 0)
        return STORE_OK;
    buf words, weights;
    buf_init(&words);
    buf_init(&weights);
    buf_putc(&words, '{');
    buf_putc(&weights, '{');
    for (size_t i = 0; i < h->nwords; i++) {
        char w[sizeof h->words[i].word];
        strlcpy_ok(w, h->words[i].word, sizeof w);
        array_item(&words, w);
        buf_printf(&weights, "%s%d", i ? "," : "", h->words[i].weight);
    }
    buf_putc(&words, '}');
    buf_putc(&weights, '}');
    pq_args x = {0};
    a_fixed(&x, h->id, sizeof h->id);
    a_take(&x, buf_steal(&words));
    a_take(&x, buf_steal(&weights));
    store_rc rc = q_exec(pg, c, ST_HV_WORDS_INSERT, &x, NULL);
    if (rc == STORE_ERROR && unique_violation(c)) {
        /* name the word, as the caller's message does; O(n^2) on at most 1000 words, only here */
        const char *dup = "?";
        for (size_t i = 1; i < h->nwords && dup[0] == '?'; i++)
            for (size_t k = 0; k < i; k++)
                if (strncmp(h->words[i].word, h->words[k].word, sizeof h->words[i].word) == 0) {
                    dup = h->words[i].word;
                    break;
                }
        store_set_error("hot word \"%.127s\" appears more than once in table %.40s", dup, h->id);
        return STORE_CONFLICT;
    }
    return rc;
}

typedef struct hv_write_args {
    const store_hotvocab *h;
    unsigned fields;
} hv_write_args;

static store_rc hv_insert_body(pg_store *pg, pg_conn *c, void *arg)
{
    hv_write_args *a = arg;
    const store_hotvocab *h = a->h;
    pq_args x = {0};
    a_fixed(&x, h->id, sizeof h->id);
    a_fixed(&x, h->bucket, sizeof h->bucket);
    a_fixed(&x, h->name, sizeof h->name);
    a_fixed(&x, h->description, sizeof h->description);
    int64_t now = time_now_ms();
    a_i64(&x, h->create_ms > 0 ? h->create_ms : now);
    a_i64(&x, h->update_ms > 0 ? h->update_ms : now);
    store_rc rc = q_exec(pg, c, ST_HV_INSERT, &x, NULL);
    if (rc == STORE_ERROR && unique_violation(c)) {
        store_set_error("hot-vocabulary table %.40s already exists", h->id);
        return STORE_CONFLICT;
    }
    return rc == STORE_OK ? insert_hotwords(pg, c, h) : rc;
}

static store_rc pg_hotvocab_insert(void *impl, const store_hotvocab *h)
{
    hv_write_args a = {.h = h};
    return run_op(impl, TX_WRITE, hv_insert_body, &a);
}

typedef struct hv_get_args {
    const char *bucket, *id;
    store_hotvocab *out;
} hv_get_args;

static store_rc hv_get_body(pg_store *pg, pg_conn *c, void *arg)
{
    hv_get_args *a = arg;
    store_hotvocab_clear(a->out);
    pq_args x = {0};
    a_str(&x, a->id ? a->id : "");
    a_str(&x, a->bucket ? a->bucket : "");
    PGresult *r = NULL;
    if (q_run(pg, c, ST_HV_GET, &x, &r) != STORE_OK)
        return STORE_ERROR;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    read_hotvocab(r, 0, a->out);
    PQclear(r);
    return read_hotwords(pg, c, a->out);
}

static store_rc pg_hotvocab_get(void *impl, const char *bucket, const char *id, store_hotvocab *out)
{
    store_hotvocab_init(out);
    hv_get_args a = {bucket, id, out};
    store_rc rc = run_op(impl, TX_SNAPSHOT, hv_get_body, &a);
    if (rc != STORE_OK)
        store_hotvocab_clear(out);
    return rc;
}

static store_rc hv_update_body(pg_store *pg, pg_conn *c, void *arg)
{
    hv_write_args *a = arg;
    const store_hotvocab *h = a->h;
    pq_args x = {0};
    a_fixed(&x, h->id, sizeof h->id);
    a_fixed(&x, h->bucket, sizeof h->bucket);
    a_bool(&x, (a->fields & STORE_HOTVOCAB_NAME) != 0);
    a_fixed(&x, h->name, sizeof h->name);
    a_bool(&x, (a->fields & STORE_HOTVOCAB_DESCRIPTION) != 0);
    a_fixed(&x, h->description, sizeof h->description);
    a_i64(&x, h->update_ms > 0 ? h->update_ms : time_now_ms());
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_HV_UPDATE, &x, &changes);
    if (rc != STORE_OK)
        return rc;
    if (changes == 0) {
        store_set_error("hot-vocabulary table %.40s does not exist in bucket %.64s", h->id, h->bucket);
        return STORE_NOT_FOUND;
    }
    if (!(a->fields & STORE_HOTVOCAB_WORDS))
        return STORE_OK;
    a_fixed(&x, h->id, sizeof h->id);
    rc = q_exec(pg, c, ST_HV_WORDS_DELETE, &x, NULL);
    return rc == STORE_OK ? insert_hotwords(pg, c, h) : rc;
}

/* A CONFLICT from a duplicate word must undo the table's update too: the failed statement makes
 * the transaction roll back whole (run_op sees it aborted). */
static store_rc pg_hotvocab_update(void *impl, const store_hotvocab *h, unsigned fields)
{
    hv_write_args a = {.h = h, .fields = fields};
    return run_op(impl, TX_WRITE, hv_update_body, &a);
}

typedef struct key_args {
    const char *bucket, *id;
} key_args;

static store_rc hv_delete_body(pg_store *pg, pg_conn *c, void *arg)
{
    key_args *a = arg;
    pq_args x = {0};
    a_str(&x, a->id);
    a_str(&x, a->bucket);
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_HV_DELETE, &x, &changes); /* words go by ON DELETE CASCADE */
    if (rc == STORE_OK && changes == 0) {
        store_set_error("hot-vocabulary table %s does not exist in bucket %s", a->id, a->bucket);
        return STORE_NOT_FOUND;
    }
    return rc;
}

static store_rc pg_hotvocab_delete(void *impl, const char *bucket, const char *id)
{
    key_args a = {bucket ? bucket : "", id ? id : ""};
    return run_op(impl, TX_WRITE, hv_delete_body, &a);
}

static void args_hotvocab_bucket(pq_args *a, const void *bucket)
{
    a_str(a, bucket ? bucket : "");
}

static void read_hotvocab_at(PGresult *r, int row, void *out, size_t i)
{
    read_hotvocab(r, row, (store_hotvocab *)out + i);
}

/* One page of tables, then each table's words, all from the same snapshot. */
static store_rc hv_list_body(pg_store *pg, pg_conn *c, void *arg)
{
    page_query *q = arg;
    store_hotvocab *out = q->out;
    for (size_t i = 0; i < *q->n; i++) /* a run again after a failure */
        store_hotvocab_clear(&out[i]);
    store_rc rc = page_body(pg, c, q);
    for (size_t i = 0; rc == STORE_OK && i < *q->n; i++)
        rc = read_hotwords(pg, c, &out[i]);
    return rc;
}

static store_rc pg_hotvocab_list(void *impl, const char *bucket, int64_t offset, int limit, store_hotvocab *out,
                                 size_t *n, int64_t *total)
{
    *n = 0;
    *total = 0;
    page_query q = {.count_id = ST_HV_COUNT, .page_id = ST_HV_PAGE, .args_filter = args_hotvocab_bucket,
                    .filter = bucket, .size = clamp(limit, 1, 100), .offset = offset > 0 ? offset : 0,
                    .read_row = read_hotvocab_at, .out = out, .n = n, .total = total};
    store_rc rc = run_op(impl, TX_SNAPSHOT, hv_list_body, &q);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < *n; i++)
            store_hotvocab_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

/* ---- templates ---- */

static void args_params(pq_args *a, const job_params *p)
{
    const char *base = (const char *)p;
    for (size_t i = 0; i < store_param_ncols; i++) {
        const store_col *c = &store_param_cols[i];
        if (c->kind == STORE_COL_TEXT)
            a_fixed(a, base + c->off, c->size);
        else
            a_i64(a, *(const int *)(base + c->off));
    }
}

/* Reads "seq, TEMPLATE_COLS, <store_param_cols>" of a row. */
static void read_template(PGresult *r, int row, store_template *t)
{
    memset(t, 0, sizeof *t);
    t->seq = g_i64(r, row, 0);
    g_text(r, row, 1, t->id, sizeof t->id);
    g_text(r, row, 2, t->bucket, sizeof t->bucket);
    g_text(r, row, 3, t->name, sizeof t->name);
    t->create_ms = g_i64(r, row, 4);
    t->update_ms = g_i64(r, row, 5);
    char *base = (char *)&t->params;
    for (size_t i = 0; i < store_param_ncols; i++) {
        const store_col *c = &store_param_cols[i];
        if (c->kind == STORE_COL_TEXT)
            g_text(r, row, 6 + (int)i, base + c->off, c->size);
        else
            *(int *)(base + c->off) = g_int(r, row, 6 + (int)i);
    }
}

static void read_template_at(PGresult *r, int row, void *out, size_t i)
{
    read_template(r, row, (store_template *)out + i);
}

static store_rc name_taken(const store_template *t)
{
    store_set_error("template name \"%s\" already exists in bucket %.64s", t->name, t->bucket);
    return STORE_CONFLICT;
}

static store_rc tpl_insert_body(pg_store *pg, pg_conn *c, void *arg)
{
    store_template *t = arg;
    int64_t now = time_now_ms();
    pq_args x = {0};
    a_fixed(&x, t->id, sizeof t->id);
    a_fixed(&x, t->bucket, sizeof t->bucket);
    a_fixed(&x, t->name, sizeof t->name);
    a_i64(&x, t->create_ms > 0 ? t->create_ms : now);
    a_i64(&x, t->update_ms > 0 ? t->update_ms : now);
    args_params(&x, &t->params);
    PGresult *r = NULL;
    if (q_run(pg, c, ST_TPL_INSERT, &x, &r) != STORE_OK) {
        if (!unique_violation(c))
            return STORE_ERROR;
        if (strcmp(c->constraint, "templates_name_unique") == 0)
            return name_taken(t);
        store_set_error("template %.40s already exists", t->id);
        return STORE_CONFLICT;
    }
    t->seq = g_i64(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

static store_rc pg_template_insert(void *impl, store_template *t)
{
    return run_op(impl, TX_NONE, tpl_insert_body, t);
}

static store_rc pg_template_get(void *impl, const char *bucket, const char *id, store_template *out)
{
    return get_row(impl, (row_get){ST_TPL_GET, id, bucket ? bucket : "", read_template_at, out});
}

/* The UPDATE can only break UNIQUE(bucket, name): the id does not change. A template that does not
 * exist is NOT_FOUND even when its new name is taken (no row is updated, so nothing collides). */
static store_rc tpl_update_body(pg_store *pg, pg_conn *c, void *arg)
{
    const store_template *t = arg;
    pq_args x = {0};
    a_fixed(&x, t->id, sizeof t->id);
    a_fixed(&x, t->bucket, sizeof t->bucket);
    a_fixed(&x, t->name, sizeof t->name);
    a_i64(&x, t->update_ms > 0 ? t->update_ms : time_now_ms());
    args_params(&x, &t->params);
    int changes = 0;
    if (q_exec(pg, c, ST_TPL_UPDATE, &x, &changes) != STORE_OK)
        return unique_violation(c) ? name_taken(t) : STORE_ERROR;
    if (changes == 0) {
        store_set_error("template %.40s does not exist in bucket %.64s", t->id, t->bucket);
        return STORE_NOT_FOUND;
    }
    return STORE_OK;
}

static store_rc pg_template_update(void *impl, const store_template *t)
{
    return run_op(impl, TX_NONE, tpl_update_body, (void *)t);
}

static store_rc tpl_delete_body(pg_store *pg, pg_conn *c, void *arg)
{
    key_args *a = arg;
    pq_args x = {0};
    a_str(&x, a->id);
    a_str(&x, a->bucket);
    int changes = 0;
    store_rc rc = q_exec(pg, c, ST_TPL_DELETE, &x, &changes);
    if (rc == STORE_OK && changes == 0) {
        store_set_error("template %s does not exist in bucket %s", a->id, a->bucket);
        return STORE_NOT_FOUND;
    }
    return rc;
}

static store_rc pg_template_delete(void *impl, const char *bucket, const char *id)
{
    key_args a = {bucket ? bucket : "", id ? id : ""};
    return run_op(impl, TX_NONE, tpl_delete_body, &a);
}

static void args_template_filter(pq_args *a, const void *filter)
{
    const store_template_filter *f = filter;
    a_str(a, f->bucket ? f->bucket : "");
    a_filter(a, f->ids);
    a_filter(a, f->name_prefix);
}

static store_rc pg_template_list(void *impl, const store_template_filter *f, store_template *out, size_t *n,
                                 int64_t *total)
{
    page_query q = {.count_id = ST_TPL_COUNT, .page_id = ST_TPL_PAGE, .args_filter = args_template_filter,
                    .filter = f, .read_row = read_template_at, .out = out, .n = n, .total = total};
    return run_page(impl, &q, f->page_number, f->page_size);
}

const store_backend store_pg_backend = {
    .name = "postgresql",
    .close = pg_close,
    .bucket_open = pg_bucket_open,
    .bucket_close = pg_bucket_close,
    .bucket_get = pg_bucket_get,
    .bucket_list = pg_bucket_list,
    .queue_get = pg_queue_get,
    .queue_update = pg_queue_update,
    .queue_list = pg_queue_list,
    .job_insert_batch = pg_job_insert_batch,
    .job_get = pg_job_get,
    .job_list = pg_job_list,
    .job_cancel = pg_job_cancel,
    .job_claim = pg_job_claim,
    .job_renew = pg_job_renew,
    .job_progress = pg_job_progress,
    .job_stage = pg_job_stage,
    .job_finish = pg_job_finish,
    .job_release = pg_job_release,
    .setting_init = pg_setting_init,
    .job_count = pg_job_count,
    .outbox_claim = pg_outbox_claim,
    .outbox_settle = pg_outbox_settle,
    .outbox_count = pg_outbox_count,
    .outbox_of_job = pg_outbox_of_job,
    .wait_wakeup = pg_wait_wakeup,
    .hotvocab_insert = pg_hotvocab_insert,
    .hotvocab_get = pg_hotvocab_get,
    .hotvocab_update = pg_hotvocab_update,
    .hotvocab_delete = pg_hotvocab_delete,
    .hotvocab_list = pg_hotvocab_list,
    .template_insert = pg_template_insert,
    .template_get = pg_template_get,
    .template_update = pg_template_update,
    .template_delete = pg_template_delete,
    .template_list = pg_template_list,
};
