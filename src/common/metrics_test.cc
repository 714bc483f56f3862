#include "common/metrics.h"

#include <gtest/gtest.h>

namespace hirestream {

// /metrics must be valid Prometheus text: HELP/TYPE once per family, labelled series, and
// cumulative histogram buckets with +Inf, _sum and _count.
TEST(Metrics, RendersPrometheusTextFormat) {
    MetricsRegistry registry;
    registry.counter("hs_writes_total", "Writes.", "table=\"candidates-dev\"").inc(3);
    registry.counter("hs_writes_total", "Writes.", "table=\"candidates-dev\"").inc();
    registry.gauge("hs_age_ms", "Age.").set(12);
    auto& h = registry.histogram("hs_duration_seconds", "Durations.", {0.01, 0.1},
                                 "function=\"f\"");
    h.observe(0.005);
    h.observe(0.05);
    h.observe(5);
    const auto text = registry.render();
    EXPECT_NE(text.find("# TYPE hs_writes_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("hs_writes_total{table=\"candidates-dev\"} 4\n"), std::string::npos);
    EXPECT_NE(text.find("hs_age_ms 12\n"), std::string::npos);
    EXPECT_NE(text.find("hs_duration_seconds_bucket{function=\"f\",le=\"0.01\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("hs_duration_seconds_bucket{function=\"f\",le=\"0.1\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("hs_duration_seconds_bucket{function=\"f\",le=\"+Inf\"} 3\n"),
              std::string::npos);
    EXPECT_NE(text.find("hs_duration_seconds_count{function=\"f\"} 3\n"), std::string::npos);
}

// Label values from users (function names) cannot break the format.
TEST(Metrics, LabelValuesAreEscaped) {
    EXPECT_EQ(MetricsRegistry::label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace hirestream
