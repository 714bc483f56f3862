#pragma once
// Metrics: counters, gauges and histograms rendered in Prometheus' text exposition format
// (version 0.0.4). A metric is a family name plus a label set, registered once and then updated
// lock-free. Registration and render() take a mutex; updates are atomic.
// Thread-safe. The registry must outlive every metric reference it hands out.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hirestream {

class Counter {
public:
    void inc(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void set(double v) { value_.store(v, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    // Cumulative counts per bound (le), then +Inf; the sum and count.
    std::vector<std::uint64_t> cumulative() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }
    const std::vector<double>& bounds() const { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

class MetricsRegistry {
public:
    // `labels` is the inside of the braces, e.g. `function="sendAssignment"`; values must be
    // escaped by the caller with label_value(). The same (name, labels) returns the same metric.
    Counter& counter(const std::string& name, const std::string& help,
                     const std::string& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help,
                 const std::string& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help,
                         const std::vector<double>& bounds, const std::string& labels = {});

    std::string render() const;

    // Escapes a label value (backslash, quote, newline) per the exposition format.
    static std::string label_value(const std::string& value);

private:
    enum class Type { counter, gauge, histogram };
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, std::unique_ptr<Counter>> counters;
        std::map<std::string, std::unique_ptr<Gauge>> gauges;
        std::map<std::string, std::unique_ptr<Histogram>> histograms;
    };
    Family& family(const std::string& name, Type type, const std::string& help);

    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;  // guarded by mutex_
};

}  // namespace hirestream
