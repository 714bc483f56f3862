// hirestream: recruiters submit candidates; every change lands in a durable change stream; a
// stream-triggered function emails each new candidate a coding assignment, exactly once.

#include <signal.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/service.h"
#include "common/log.h"
#include "config/config.h"

#ifndef HIRESTREAM_VERSION
#define HIRESTREAM_VERSION "0.0.0"
#endif

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitStart = 1;

int serve(const std::string& config_path) {
    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // sigwait below is the one place they arrive.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto env = hirestream::config::process_environment();
    std::string path = config_path;
    if (path.empty()) {
        if (auto it = env.find("HIRESTREAM_CONFIG"); it != env.end()) path = it->second;
    }
    auto config = hirestream::config::load_config({path, env});
    if (!config) {
        const auto& e = config.error();
        std::cerr << "config error: " << (e.field.empty() ? "" : e.field + ": ") << e.message
                  << "\n";
        return kExitConfig;
    }
    hirestream::init_logging(config->log_level, config->log_format);

    hirestream::app::Service service(std::move(*config));
    auto started = service.start();
    if (!started) {
        const auto& e = started.error();
        std::cerr << "start-up failed: " << (e.field.empty() ? "" : e.field + ": ") << e.message
                  << "\n";
        service.stop();
        return e.code == hirestream::Errc::invalid_argument ? kExitConfig : kExitStart;
    }
    std::cout << "hirestream " << HIRESTREAM_VERSION << "\n"
              << "api: " << started->api_url << "\n"
              << "mail: " << started->mail << "\n"
              << "data: " << started->database << "\n"
              << std::flush;
    spdlog::info("hirestream started api={} mail=\"{}\" data={}", started->api_url,
                 started->mail, started->database);

    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("stopping signal={}", received);
    service.stop();
    spdlog::info("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"hirestream: candidates, a change stream, and assignment emails in one binary"};
    cli.require_subcommand(1);
    std::string config_path;
    auto* serve_cmd = cli.add_subcommand("serve", "Start the API, the stream functions and mail");
    serve_cmd->add_option("-c,--config", config_path,
                          "YAML config file (default: $HIRESTREAM_CONFIG, else built-in defaults)");
    auto* check_cmd = cli.add_subcommand("check-config", "Validate the config and exit");
    check_cmd->add_option("-c,--config", config_path, "YAML config file");
    cli.add_subcommand("version", "Print the version");
    CLI11_PARSE(cli, argc, argv);

    if (cli.got_subcommand("version")) {
        std::cout << "hirestream " << HIRESTREAM_VERSION << "\n";
        return 0;
    }
    if (cli.got_subcommand("check-config")) {
        auto env = hirestream::config::process_environment();
        if (config_path.empty()) {
            if (auto it = env.find("HIRESTREAM_CONFIG"); it != env.end()) config_path = it->second;
        }
        auto config = hirestream::config::load_config({config_path, env});
        if (!config) {
            std::cerr << "config error: " << config.error().field << ": "
                      << config.error().message << "\n";
            return kExitConfig;
        }
        std::cout << "config ok\n";
        return 0;
    }
    return serve(config_path);
}
