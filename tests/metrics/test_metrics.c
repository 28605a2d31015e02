/* test_metrics.c — the Prometheus text format as src/metrics writes it: families announced with
 * HELP and TYPE, histograms cumulative with +Inf, _sum and _count, label values escaped, numbers
 * every parser reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "metrics/metrics.h"

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    static const double bounds[] = {0.1, 1, 10, -1};
    metrics_hist h;
    metrics_hist_init(&h, bounds);
    assert_int_equal(h.nbounds, 3);
    double vals[] = {0.05, 0.1, 0.5, 2, 20, 0.0 / 0.0};   /* NaN is not counted */
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        metrics_hist_observe(&h, vals[i]);
    buf out;
    buf_init(&out);
    metrics_hist_write(&out, "x_seconds", "engine=\"16k_en\"", &h);
    assert_string_equal(out.data, "x_seconds_bucket{engine=\"16k_en\",le=\"0.1\"} 2\n"
                                  "x_seconds_bucket{engine=\"16k_en\",le=\"1\"} 3\n"
                                  "x_seconds_bucket{engine=\"16k_en\",le=\"10\"} 4\n"
                                  "x_seconds_bucket{engine=\"16k_en\",le=\"+Inf\"} 5\n"
                                  "x_seconds_sum{engine=\"16k_en\"} 22.65\n"
                                  "x_seconds_count{engine=\"16k_en\"} 5\n");
    buf_reset(&out);
    metrics_hist_write(&out, "y", "", &h);   /* no labels: only le */
    assert_non_null(strstr(out.data, "y_bucket{le=\"+Inf\"} 5\ny_sum 22.65\ny_count 5\n"));
    buf_free(&out);
}

static void test_labels_are_escaped(void **state)
{
    (void)state;
    buf l;
    buf_init(&l);
    metrics_label(&l, "queue", "p1");
    metrics_label(&l, "name", "a\"b\\c\nd");
    assert_string_equal(l.data, "queue=\"p1\",name=\"a\\\"b\\\\c\\nd\"");
    buf_free(&l);
}

static void test_families_and_numbers(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    metrics_family(&out, "cicada_x_total", "counter", "Things.");
    metrics_sample(&out, "cicada_x_total", "", 12345678901.0);
    metrics_sample(&out, "cicada_y", "a=\"1\"", 0.25);
    metrics_sample(&out, "cicada_z", "", 1.0 / 0.0);
    metrics_sample(&out, "cicada_t", "", 1796274950.123);
    assert_string_equal(out.data, "# HELP cicada_x_total Things.\n# TYPE cicada_x_total counter\n"
                                  "cicada_x_total 12345678901\ncicada_y{a=\"1\"} 0.25\ncicada_z +Inf\n"
                                  "cicada_t 1796274950.123\n");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_is_cumulative),
        cmocka_unit_test(test_labels_are_escaped),
        cmocka_unit_test(test_families_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
