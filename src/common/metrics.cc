#include "common/metrics.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace hirestream {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1,
                                                                       std::memory_order_relaxed);
    // atomic<double>::fetch_add is C++20; a CAS loop keeps older libstdc++ happy too.
    double current = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(current, current + value, std::memory_order_relaxed)) {
    }
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, Type type,
                                                 const std::string& help) {
    auto [it, inserted] = families_.try_emplace(name);
    if (inserted) {
        it->second.type = type;
        it->second.help = help;
    } else if (it->second.type != type) {
        throw std::logic_error("metric " + name + " registered with two types");
    }
    return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const std::string& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, Type::counter, help).counters[labels];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const std::string& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, Type::gauge, help).gauges[labels];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds,
                                      const std::string& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, Type::histogram, help).histograms[labels];
    if (!slot) slot = std::make_unique<Histogram>(bounds);
    return *slot;
}

std::string MetricsRegistry::label_value(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string MetricsRegistry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    auto series = [](const std::string& name, const std::string& labels) {
        return labels.empty() ? name : name + "{" + labels + "}";
    };
    for (const auto& [name, f] : families_) {
        const char* type = f.type == Type::counter ? "counter"
                           : f.type == Type::gauge ? "gauge"
                                                   : "histogram";
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, type);
        for (const auto& [labels, c] : f.counters) {
            out += fmt::format("{} {}\n", series(name, labels), c->value());
        }
        for (const auto& [labels, g] : f.gauges) {
            out += fmt::format("{} {}\n", series(name, labels), g->value());
        }
        for (const auto& [labels, h] : f.histograms) {
            const auto counts = h->cumulative();
            const std::string sep = labels.empty() ? "" : ",";
            for (std::size_t i = 0; i < h->bounds().size(); ++i) {
                out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                                   h->bounds()[i], counts[i]);
            }
            out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep,
                               counts.back());
            out += fmt::format("{} {}\n", series(name + "_sum", labels), h->sum());
            out += fmt::format("{} {}\n", series(name + "_count", labels), counts.back());
        }
    }
    return out;
}

}  // namespace hirestream
