/* metrics.c — the Prometheus text format's few rules: families announced once with HELP and TYPE,
 * label values escaped, histograms written cumulatively with their +Inf bucket, _sum and _count,
 * numbers in a form every parser reads (integers without exponent, +Inf / NaN spelled out). */
#include "metrics/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const double METRICS_SECONDS_BUCKETS[] = {0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, -1};
const double METRICS_RATIO_BUCKETS[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, -1};

void metrics_hist_init(metrics_hist *h, const double *bounds)
{
    memset(h, 0, sizeof *h);
    while (h->nbounds < METRICS_MAX_BUCKETS && bounds[h->nbounds] >= 0) {
        h->bounds[h->nbounds] = bounds[h->nbounds];
        h->nbounds++;
    }
}

void metrics_hist_observe(metrics_hist *h, double v)
{
    if (!(v == v))   /* NaN: nothing to count */
        return;
    for (size_t i = 0; i < h->nbounds; i++)
        if (v <= h->bounds[i]) {
            h->counts[i]++;
            break;
        }
    h->count++;
    h->sum += v;
}

static void number(buf *out, double v)
{
    if (isnan(v))
        buf_puts(out, "NaN");
    else if (isinf(v))
        buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        buf_printf(out, "%.0f", v);
    else
        buf_printf(out, "%.15g", v);
}

void metrics_family(buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(buf *out, const char *name, const char *labels, double value)
{
    buf_puts(out, name);
    if (labels && labels[0])
        buf_printf(out, "{%s}", labels);
    buf_putc(out, ' ');
    number(out, value);
    buf_putc(out, '\n');
}

void metrics_hist_write(buf *out, const char *name, const char *labels, const metrics_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && labels[0] ? "," : "";
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum = i < h->nbounds ? cum + h->counts[i] : h->count;
        buf_printf(out, "%s_bucket{%s%sle=\"", name, labels ? labels : "", sep);
        if (i < h->nbounds)
            number(out, h->bounds[i]);
        else
            buf_puts(out, "+Inf");
        buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
    }
    char n[160];
    snprintf(n, sizeof n, "%s_sum", name);
    metrics_sample(out, n, labels, h->sum);
    snprintf(n, sizeof n, "%s_count", name);
    metrics_sample(out, n, labels, (double)h->count);
}

void metrics_label(buf *labels, const char *name, const char *value)
{
    buf_printf(labels, "%s%s=\"", labels->len ? "," : "", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            buf_putc(labels, '\\');
        if (*p == '\n') {
            buf_puts(labels, "\\n");
            continue;
        }
        buf_putc(labels, *p);
    }
    buf_putc(labels, '"');
}
