/* cores.c — one budget of compute threads for every recognition in the process, so that cores
 * follow the work: a recognition running alone gets every core, several share them, and the threads
 * of all running engine calls together never exceed the cores (ggml's worker threads busy-wait at
 * every barrier: oversubscribed, a decode runs many times slower than on fewer threads).
 *
 * A recognition (a job, a `cicada transcribe`) holds a seat for its whole life; each engine call it
 * makes (one recognition window) asks for a grant of threads, fixed for that call because
 * whisper.cpp takes its thread count per whisper_full() call:
 *
 *   want   = min(the call's usable maximum, the per-call cap, max(1, cores / open seats))
 *   grant  = want, plus the spare cores nobody else can use now (spare_for)
 *
 * Waiters are served strictly in the order they started waiting (no overtaking, so nobody
 * starves); a call waits until its want is free. Freed cores are taken back where the running call
 * begins a new unit of work and can change its thread count (engine_seat_next_unit; whisper: before
 * each 30-second encoder pass), on the same terms as a new call's spare cores.
 *
 * Because a grant cannot shrink inside a call, a newcomer that finds every core held by a call
 * granted more than today's fair share asks that call to step aside, which it does at its next
 * checkpoint (whisper: before each 30-second encoder pass, inside the first half of one, which it
 * then encodes again, and at every decoding step; see engine_whisper.c):
 *   - in its first encoder pass (it has computed a spectrogram only, which the engine keeps), it
 *     begins again: back in line at once, with a fair share;
 *   - later, it pauses: it releases its cores, the newcomer takes them (all of them, since the
 *     paused call needs its whole grant back), and it resumes, first in line, when they are free.
 * A call begins again at most once and pauses at most once per unit of work (whisper: per
 * 30-second pass), so a long job cannot be held back by a stream of short ones for more than one of
 * their calls per pass of its own, and each newcomer waits at most about a unit.
 * Engines without checkpoints (pocketsphinx) are never asked.
 *
 * Lock order: the budget's mutex only; a seat's condition variable is waited on under it. */
#include "engine/engine.h"

#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct engine_seat {
    engine_cores *c;
    engine_seat *next;          /* open seats, newest first */
    pthread_cond_t cv;          /* signalled when this seat may be served or resumed */
    int max;                    /* the current call's usable maximum */
    int64_t work_ms;            /* the current call's audio: shorter calls go first (see spare_for) */
    int64_t expect_ms;          /* between calls: the next call's audio, 0 = not known yet */
    int need;                   /* while waiting: the cores it waits for */
    int grant;                  /* threads of the current call; 0 between calls */
    int held;                   /* cores held now: grant while running, 0 while waiting or paused */
    bool in_call;               /* between begin and end */
    bool waiting;               /* for a new grant, or paused waiting for its grant back */
    bool paused;
    bool preemptible;           /* the current call has checkpoints */
    atomic_bool asked;          /* asked to step aside at its next checkpoint (also read unlocked) */
    bool passed_over;           /* while waiting: a much shorter call went first once already */
    bool finishing;             /* its next (or current) call is its last */
    bool done;                  /* ... and that call has ended: it needs no cores any more */
    bool stepped_aside;         /* already paused once in this unit of work */
    uint64_t ticket;            /* place in line while waiting */
};

struct engine_cores {
    pthread_mutex_t mu;
    int total;                  /* cores in the budget */
    int cap;                    /* most threads one call gets */
    int free;
    engine_seat *seats;
    int nseats;
    uint64_t next_ticket;
    engine_cores_stats stats;
};

engine_cores_params engine_cores_default_params(void)
{
    return (engine_cores_params){.cores = 0, .per_call_max = 0};
}

engine_cores *engine_cores_new(const engine_cores_params *p)
{
    engine_cores_params d = engine_cores_default_params();
    if (!p)
        p = &d;
    engine_cores *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->total = p->cores > 0 ? p->cores : fs_cpu_count();
    if (c->total < 1)
        c->total = 1;
    c->cap = p->per_call_max > 0 && p->per_call_max < c->total ? p->per_call_max : c->total;
    c->free = c->total;
    c->stats.cores = c->total;
    c->stats.per_call_max = c->cap;
    return c;
}

void engine_cores_free(engine_cores *c)
{
    if (!c)
        return;
    /* Callers must have closed every seat. */
    pthread_mutex_destroy(&c->mu);
    free(c);
}

engine_cores_stats engine_cores_get_stats(engine_cores *c)
{
    pthread_mutex_lock(&c->mu);
    engine_cores_stats s = c->stats;
    s.busy = c->total - c->free;
    s.seats = c->nseats;
    s.waiting = 0;
    for (engine_seat *w = c->seats; w; w = w->next)
        s.waiting += w->waiting;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static int fair_share(const engine_cores *c)
{
    int n = c->nseats > 0 ? c->nseats : 1;
    int share = c->total / n;
    return share < 1 ? 1 : share;
}

static bool much_shorter(int64_t a_ms, int64_t b_ms)
{
    return a_ms > 0 && a_ms * 2 <= b_ms;
}

/* Of two calls, one so much shorter that it should simply go first (0 = not known: comparable). */
static bool lopsided(int64_t a_ms, int64_t b_ms)
{
    return much_shorter(a_ms, b_ms) || much_shorter(b_ms, a_ms);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* The waiter first in line (lowest ticket), or NULL. */
static engine_seat *head_of_line(const engine_cores *c)
{
    engine_seat *head = NULL;
    for (engine_seat *s = c->seats; s; s = s->next)
        if (s->waiting && (!head || s->ticket < head->ticket))
            head = s;
    return head;
}

/* The waiter after `after` in line, or NULL. */
static engine_seat *next_in_line(const engine_cores *c, const engine_seat *after)
{
    engine_seat *next = NULL;
    for (engine_seat *s = c->seats; s; s = s->next)
        if (s->waiting && s != after && s->ticket > after->ticket && (!next || s->ticket < next->ticket))
            next = s;
    return next;
}

/* Wakes the head of the line when what it waits for is free. */
static void wake_head(engine_cores *c)
{
    engine_seat *head = head_of_line(c);
    if (head && head->need <= c->free)
        pthread_cond_signal(&head->cv);
}

/* The head of the line cannot be served: ask the running call holding the most cores above the
 * fair share to step aside, unless one was asked already and has not reached its checkpoint, or
 * the call is much shorter than the waiter's. */
static void ask_to_step_aside(engine_cores *c, const engine_seat *waiter)
{
    int share = fair_share(c);
    engine_seat *pick = NULL;
    for (engine_seat *s = c->seats; s; s = s->next) {
        if (s->asked && s->held > 0)
            return;
        if (s == waiter || s->held <= share || !s->preemptible || s->stepped_aside)
            continue;
        if (much_shorter(s->work_ms, waiter->work_ms))
            continue;   /* shortest first: the waiter waits for this short call to end */
        if (!pick || s->held > pick->held)
            pick = s;
    }
    if (pick && c->free + pick->held >= waiter->need) {
        pick->asked = true;
        c->stats.asked++;
    }
}

static void enqueue(engine_cores *c, engine_seat *s, int need)
{
    s->need = need;
    s->waiting = true;
    s->passed_over = false;
    s->ticket = ++c->next_ticket;
}

/* Cores a new call may take beyond its want when `left` stay free after it:
 *   - all of them when the next in line needs more than that (it cannot start before this call
 *     ends anyway: a paused call needs its whole grant back);
 *   - all of them when this call has less than half the next one's audio (shortest first: the
 *     short call finishes soon at full speed, and the long one loses little by waiting), but only
 *     once per wait, so a stream of short calls cannot hold a long one back;
 *   - with nobody waiting, what is left after a fair share for every other open seat between calls
 *     (a job reading its next window, or one just claimed: it will begin in a moment, and taking its
 *     share now would only force it to ask for it back), except seats whose last call is over, and
 *     seats whose next call is much shorter or much longer than this one: sharing would leave the
 *     longer call on half the cores for the rest of its window once the shorter one ended, while
 *     going one after the other keeps every core busy (the shorter one first: it asks this call to
 *     step aside, or this call is the shorter one and the other waits for it). */
static int spare_for(const engine_cores *c, const engine_seat *s, int left)
{
    if (left <= 0)
        return 0;
    engine_seat *next = next_in_line(c, s);
    if (next) {
        if (next->need > left)
            return left;
        if (!next->passed_over && much_shorter(s->work_ms, next->work_ms)) {
            next->passed_over = true;
            return left;
        }
        return 0;
    }
    int reserve = 0;
    for (const engine_seat *o = c->seats; o; o = o->next)
        if (o != s && !o->in_call && !o->done && !lopsided(o->expect_ms, s->work_ms))
            reserve += fair_share(c);
    return left > reserve ? left - reserve : 0;
}

/* Gives s n more cores (they are free). */
static void take(engine_cores *c, engine_seat *s, int n)
{
    s->held += n;
    c->free -= n;
    int busy = c->total - c->free;
    if (busy > c->stats.peak_busy)
        c->stats.peak_busy = busy;
}

/* Serves s (the head of the line, its need free): a new call takes its want and the spare cores;
 * a paused call takes its grant back. */
static void serve(engine_cores *c, engine_seat *s)
{
    if (!s->paused) {
        int grant = s->need;
        grant += min_int(spare_for(c, s, c->free - grant), s->max - grant);
        s->grant = grant;
    }
    take(c, s, s->grant);   /* (held is 0 while waiting) */
    s->waiting = false;
    s->paused = false;
    wake_head(c);   /* the next in line may fit too */
}

engine_seat *engine_seat_open(engine_cores *c)
{
    engine_seat *s = xcalloc(1, sizeof *s);
    s->c = c;
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_lock(&c->mu);
    s->next = c->seats;
    c->seats = s;
    c->nseats++;
    pthread_mutex_unlock(&c->mu);
    return s;
}

void engine_seat_close(engine_seat *s)
{
    if (!s)
        return;
    engine_cores *c = s->c;
    pthread_mutex_lock(&c->mu);
    for (engine_seat **p = &c->seats; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    c->nseats--;
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int engine_seat_begin(engine_seat *s, int max_threads, bool preemptible, int64_t work_ms)
{
    engine_cores *c = s->c;
    pthread_mutex_lock(&c->mu);
    s->max = min_int(max_threads > 0 ? max_threads : 1, c->cap);
    s->work_ms = work_ms;
    s->preemptible = preemptible;
    s->asked = false;
    s->stepped_aside = false;
    if (!s->waiting) {   /* (a call begun again is in line already: see the REGRANT answer) */
        s->in_call = true;
        enqueue(c, s, min_int(s->max, fair_share(c)));
        c->stats.calls++;
    }
    for (;;) {
        engine_seat *head = head_of_line(c);
        if (head == s && s->need <= c->free) {
            serve(c, s);
            break;
        }
        if (head == s && !s->passed_over)   /* (passed over: the call ahead is short, let it be) */
            ask_to_step_aside(c, s);
        else
            wake_head(c);
        pthread_cond_wait(&s->cv, &c->mu);
    }
    int grant = s->grant;
    log_debug("cores: a call of %lld ms gets %d of %d cores (%d seats)", (long long)s->work_ms, grant, c->total,
              c->nseats);
    pthread_mutex_unlock(&c->mu);
    return grant;
}

void engine_seat_expect(engine_seat *s, int64_t work_ms)
{
    pthread_mutex_lock(&s->c->mu);
    s->expect_ms = work_ms;
    pthread_mutex_unlock(&s->c->mu);
}

void engine_seat_finishing(engine_seat *s)
{
    pthread_mutex_lock(&s->c->mu);
    s->finishing = true;
    pthread_mutex_unlock(&s->c->mu);
}

engine_seat_check engine_seat_checkpoint(engine_seat *s, bool can_regrant)
{
    engine_cores *c = s->c;
    pthread_mutex_lock(&c->mu);
    c->stats.checkpoints++;
    if (s->asked && !s->paused && s->held > 0) {
        s->asked = false;
        if (can_regrant) {
            /* Back in line at once, with a fair share: the newcomer that asked is served first,
             * and sees this call waiting behind it (spare_for). */
            c->stats.regranted++;
            log_debug("cores: a call of %lld ms on %d threads begins again, for a newcomer", (long long)s->work_ms,
                      s->grant);
            c->free += s->held;
            s->held = 0;
            s->grant = 0;
            enqueue(c, s, min_int(s->max, fair_share(c)));
            wake_head(c);
            pthread_mutex_unlock(&c->mu);
            return ENGINE_SEAT_REGRANT;
        }
        /* Pause: the cores go to the head of the line; this call waits for its grant back. */
        s->stepped_aside = true;
        c->free += s->held;
        s->held = 0;
        s->paused = true;
        enqueue(c, s, s->grant);
        c->stats.paused++;
        log_debug("cores: a call of %lld ms on %d threads pauses, for a newcomer", (long long)s->work_ms, s->grant);
        wake_head(c);
    }
    /* Every thread of a paused call waits here (whisper checks from its per-decoder threads too);
     * a paused call never asks others to step aside: its cores come back when the newcomer's call
     * ends. */
    bool resumed = false;
    while (s->paused) {
        if (head_of_line(c) == s && s->need <= c->free) {
            serve(c, s);
            resumed = true;
        } else {
            pthread_cond_wait(&s->cv, &c->mu);
        }
    }
    if (resumed)
        pthread_cond_broadcast(&s->cv);   /* the other threads of this call go on too */
    pthread_mutex_unlock(&c->mu);
    return ENGINE_SEAT_GO;
}

bool engine_seat_asked(const engine_seat *s)
{
    return atomic_load_explicit(&s->asked, memory_order_relaxed);
}

int engine_seat_next_unit(engine_seat *s)
{
    engine_cores *c = s->c;
    pthread_mutex_lock(&c->mu);
    s->stepped_aside = false;
    engine_seat *head = head_of_line(c);
    if (head && !head->paused && head->need > c->free && !head->passed_over)
        ask_to_step_aside(c, head);   /* a newcomer that waited for this call (paused ones never ask) */
    else if (!head && s->held > 0 && !s->asked && s->grant < s->max && c->free > 0) {
        int more = min_int(spare_for(c, s, c->free), s->max - s->grant);
        if (more > 0) {
            s->grant += more;
            take(c, s, more);
            c->stats.grown++;
            log_debug("cores: a call of %lld ms grows to %d of %d cores", (long long)s->work_ms, s->grant, c->total);
        }
    }
    int grant = s->grant;
    pthread_mutex_unlock(&c->mu);
    return grant;
}

void engine_seat_end(engine_seat *s)
{
    engine_cores *c = s->c;
    pthread_mutex_lock(&c->mu);
    c->free += s->held;
    s->held = 0;
    s->grant = 0;
    s->asked = false;
    s->in_call = false;
    s->done = s->finishing;
    wake_head(c);
    pthread_mutex_unlock(&c->mu);
}
