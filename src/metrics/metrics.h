/* metrics.h — Prometheus text exposition (format 0.0.4) for the modules that count things: each
 * module keeps its own counters and histograms under its own lock and writes them with these
 * helpers when /metrics is scraped, so nothing is shared between modules and no registry is
 * global. Names follow Prometheus conventions: the cicada_ prefix, base units (_seconds, _bytes),
 * _total for counters; label values are bounded sets (queue ids, EngineModelTypes, states,
 * routes), never job ids.
 *
 *     metrics_hist h;                                   // owned by the module, under its lock
 *     metrics_hist_init(&h, METRICS_SECONDS_BUCKETS);
 *     metrics_hist_observe(&h, 0.42);
 *     metrics_family(out, "cicada_job_duration_seconds", "histogram", "Time from start to end.");
 *     metrics_hist_write(out, "cicada_job_duration_seconds", "engine=\"16k_en\"", &h);
 *
 * Not thread-safe by itself: callers hold their own lock around observe and write. */
#ifndef CICADA_METRICS_H
#define CICADA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define METRICS_MAX_BUCKETS 16

/* Bucket upper bounds (le), ascending, ending with a negative sentinel. */
extern const double METRICS_SECONDS_BUCKETS[];   /* 5 ms .. 1 h: request latency and job duration */
extern const double METRICS_RATIO_BUCKETS[];     /* 0.01 .. 10: real-time factor */

typedef struct metrics_hist {
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    uint64_t counts[METRICS_MAX_BUCKETS];   /* per bucket, not cumulative; the +Inf bucket is count */
    uint64_t count;
    double sum;
} metrics_hist;

void metrics_hist_init(metrics_hist *h, const double *bounds);
void metrics_hist_observe(metrics_hist *h, double v);

/* "# HELP name help\n# TYPE name type\n": once per metric family, before its samples. */
void metrics_family(buf *out, const char *name, const char *type, const char *help);
/* One sample: name{labels} value; labels "" for none, else already formatted (metrics_label). */
void metrics_sample(buf *out, const char *name, const char *labels, double value);
/* A histogram's _bucket (cumulative, le="+Inf" last), _sum and _count samples. */
void metrics_hist_write(buf *out, const char *name, const char *labels, const metrics_hist *h);
/* Appends name="value" to labels (with a comma when labels is not empty), the value escaped as
 * the format asks (backslash, double quote, line feed). */
void metrics_label(buf *labels, const char *name, const char *value);

#endif
