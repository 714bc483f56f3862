#include "mail/smtp_transport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mail/message.h"

#ifndef HIRESTREAM_SMTP_TEST_SERVER
#error "HIRESTREAM_SMTP_TEST_SERVER must name src/mail/testdata/smtp_server.py"
#endif

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kServerDeadline = std::chrono::seconds(15);

fs::path make_temp_dir(const char* prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The test SMTP server (testdata/smtp_server.py) as a child process. Started with fork/exec so
// the child gets PR_SET_PDEATHSIG: it stops even when the test binary crashes.
class SmtpServerProcess {
  public:
    SmtpServerProcess(const fs::path& folder, std::vector<std::string> extra_args) {
        std::vector<std::string> args = {"/usr/bin/python3", HIRESTREAM_SMTP_TEST_SERVER, "--dir",
                                         folder.string()};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const std::string log_path = (folder / "server.log").string();

        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(126);
            ::dup2(pipe_fds[1], STDOUT_FILENO);
            if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(pipe_fds[1]);
        if (log_fd >= 0) ::close(log_fd);
        out_fd_ = pipe_fds[0];
        log_path_ = log_path;
        if (pid_ < 0) throw std::runtime_error("fork failed");

        // Wait for "READY <port>" with a deadline.
        std::string output;
        const auto deadline = steady_clock::now() + kServerDeadline;
        while (output.find('\n') == std::string::npos) {
            if (!read_some(output, deadline)) break;
        }
        if (output.rfind("READY ", 0) != 0) {
            throw std::runtime_error("SMTP test server did not start: " + output +
                                     read_file(log_path_));
        }
        port_ = std::stoi(output.substr(6));
    }

    SmtpServerProcess(const SmtpServerProcess&) = delete;
    SmtpServerProcess& operator=(const SmtpServerProcess&) = delete;
    ~SmtpServerProcess() { stop(); }

    int port() const { return port_; }
    std::string log() const { return read_file(log_path_); }

    // SIGTERM, then waits (bounded) for the child to exit. Returns its wait status.
    int stop() {
        if (pid_ <= 0) return status_;
        ::kill(pid_, SIGTERM);
        // stdout reaches EOF when the child exits: a wait with a deadline and no sleeping.
        std::string ignored;
        const auto deadline = steady_clock::now() + kServerDeadline;
        while (read_some(ignored, deadline)) {
        }
        if (steady_clock::now() >= deadline) ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        ::close(out_fd_);
        pid_ = -1;
        return status_;
    }

  private:
    // Appends what the child wrote; false on EOF, error or deadline.
    bool read_some(std::string& output, steady_clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd pfd{out_fd_, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
        char buffer[256];
        const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
        if (n <= 0) return false;
        output.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int port_ = 0;
    int status_ = 0;
    std::string log_path_;
};

// One message as the server stored it.
struct Stored {
    std::string content;
    std::string env;  // "mail_from X\nrcpt Y\npeer_port N\ntls 0|1\n[auth U\n]"
    std::string peer_port;
};

// The stored message whose content contains `needle`, if any.
std::optional<Stored> find_stored(const fs::path& folder, const std::string& needle) {
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.path().extension() != ".eml") continue;
        std::string content = read_file(entry.path());
        if (content.find(needle) == std::string::npos) continue;
        Stored stored{
            std::move(content), read_file(fs::path(entry.path()).replace_extension(".env")), {}};
        const std::size_t p = stored.env.find("peer_port ");
        stored.peer_port = stored.env.substr(p + 10, stored.env.find('\n', p) - p - 10);
        return stored;
    }
    return std::nullopt;
}

// A port with nothing listening: bound once by us, then released.
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("cannot bind a loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string render(const std::string& message_id, const std::string& to) {
    Message m;
    m.from = {"Hirestream", "jobs@example.com"};
    m.to = {"José Müller", to};
    m.subject = "Ihre Aufgabe";
    // A line starting with "." must survive SMTP's dot-stuffing (RFC 5321 4.5.2).
    m.text_body = "Hallo José,\n.\n..leading dots\nthe assignment is attached.\n";
    m.attachments.push_back(
        {"assignment1.zip", "application/zip", std::string("PK\3\4\0zip", 8), nullptr});
    m.message_id = message_id;
    m.date_ms = 1'700'000'000'000;
    auto mime = render_message(m);
    EXPECT_TRUE(mime.has_value());
    return mime ? *mime : std::string();
}

SmtpOptions local_options(int port) {
    SmtpOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.connect_timeout_ms = 5'000;
    options.response_timeout_ms = 5'000;
    options.total_timeout_ms = 10'000;
    return options;
}

class SmtpTransportTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        folder_ = new fs::path(make_temp_dir("smtp_test"));
        server_ = new SmtpServerProcess(*folder_, {});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        std::error_code ignored;
        fs::remove_all(*folder_, ignored);
        delete folder_;
    }

    static std::string next_id() {
        static std::atomic<int> n{0};
        return "m" + std::to_string(++n) + "." + std::to_string(::getpid()) + "@hirestream";
    }

    static inline fs::path* folder_ = nullptr;
    static inline SmtpServerProcess* server_ = nullptr;
};

// Protects the happy path end to end: the server stores exactly the rendered message.
TEST_F(SmtpTransportTest, DeliversTheMessageExactlyAsRendered) {
    SmtpTransport smtp(local_options(server_->port()));
    const std::string id = next_id();
    const std::string mime = render(id, "ada@example.org");
    const SendOutcome outcome = smtp.send({"bounces@example.com", {"ada@example.org"}}, mime, id);
    ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server_->log();
    EXPECT_EQ(outcome.reply_code, 250);
    EXPECT_NE(outcome.detail.find("250 2.0.0 Ok: queued as"), std::string::npos) << outcome.detail;
    const auto stored = find_stored(*folder_, id);
    ASSERT_TRUE(stored.has_value());
    EXPECT_TRUE(stored->content == mime) << "server received:\n" << stored->content;
    EXPECT_NE(stored->env.find("mail_from bounces@example.com\n"), std::string::npos);
    EXPECT_NE(stored->env.find("rcpt ada@example.org\n"), std::string::npos);
}

// Protects bounce handling: a 550 is permanent and carries the server's own words; the next
// message on the same transport (pool of one) still goes out on a fresh connection.
TEST_F(SmtpTransportTest, ReportsA550RefusalAsPermanentWithTheServerReply) {
    SmtpOptions options = local_options(server_->port());
    options.pool_size = 1;
    SmtpTransport smtp(options);
    const std::string id = next_id();
    const SendOutcome refused =
        smtp.send({"jobs@example.com", {"bad@example.org"}}, render(id, "bad@example.org"), id);
    EXPECT_EQ(refused.kind, SendOutcome::Kind::permanent) << refused.detail;
    EXPECT_EQ(refused.reply_code, 550);
    EXPECT_NE(refused.detail.find("550 5.1.1 mailbox unavailable"), std::string::npos)
        << refused.detail;
    EXPECT_FALSE(find_stored(*folder_, id).has_value());

    const std::string next = next_id();
    const SendOutcome after =
        smtp.send({"jobs@example.com", {"ada@example.org"}}, render(next, "ada@example.org"), next);
    EXPECT_EQ(after.kind, SendOutcome::Kind::sent) << after.detail;
    EXPECT_TRUE(find_stored(*folder_, next).has_value());
}

// Protects retries: a 451 is transient, with the reply text.
TEST_F(SmtpTransportTest, ReportsA451RefusalAsTransient) {
    SmtpTransport smtp(local_options(server_->port()));
    const std::string id = next_id();
    const SendOutcome outcome =
        smtp.send({"jobs@example.com", {"busy@example.org"}}, render(id, "busy@example.org"), id);
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << outcome.detail;
    EXPECT_EQ(outcome.reply_code, 451);
    EXPECT_NE(outcome.detail.find("451 4.3.0"), std::string::npos) << outcome.detail;
}

// Protects retries when the relay is down: a refused connection is transient, not permanent.
TEST_F(SmtpTransportTest, ReportsARefusedConnectionAsTransient) {
    SmtpTransport smtp(local_options(closed_port()));
    const SendOutcome outcome = smtp.send({"jobs@example.com", {"ada@example.org"}},
                                          render("x@y", "ada@example.org"), "x@y");
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient);
    EXPECT_EQ(outcome.reply_code, 0);
    EXPECT_FALSE(outcome.detail.empty());
}

// Protects the delivery loop from a hung relay: a server that never answers times out quickly.
TEST_F(SmtpTransportTest, TimesOutOnAServerThatNeverAnswers) {
    const fs::path folder = make_temp_dir("smtp_silent");
    SmtpServerProcess silent(folder, {"--silent"});
    SmtpOptions options = local_options(silent.port());
    options.response_timeout_ms = 500;
    SmtpTransport smtp(options);
    const auto start = steady_clock::now();
    const SendOutcome outcome = smtp.send({"jobs@example.com", {"ada@example.org"}},
                                          render("x@y", "ada@example.org"), "x@y");
    const auto elapsed = steady_clock::now() - start;
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << outcome.detail;
    EXPECT_LT(elapsed, std::chrono::seconds(4)) << outcome.detail;
    EXPECT_NE(outcome.detail.find("imeout"), std::string::npos) << outcome.detail;
    EXPECT_EQ(silent.stop(), 0) << "the test server must stop cleanly on SIGTERM";
    fs::remove_all(folder);
}

// Protects throughput: messages reuse the pooled connection instead of reconnecting each time.
TEST_F(SmtpTransportTest, ReusesThePooledConnectionAcrossMessages) {
    SmtpOptions options = local_options(server_->port());
    options.pool_size = 1;
    SmtpTransport smtp(options);
    std::set<std::string> ports;
    for (int i = 0; i < 3; ++i) {
        const std::string id = next_id();
        const SendOutcome outcome =
            smtp.send({"jobs@example.com", {"ada@example.org"}}, render(id, "ada@example.org"), id);
        ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail;
        const auto stored = find_stored(*folder_, id);
        ASSERT_TRUE(stored.has_value());
        ports.insert(stored->peer_port);
    }
    EXPECT_EQ(ports.size(), 1u) << "each message opened a new connection";
}

// Protects the pool bound under concurrency: many senders share at most pool_size connections.
TEST_F(SmtpTransportTest, ConcurrentSendsShareAtMostPoolSizeConnections) {
    SmtpOptions options = local_options(server_->port());
    options.pool_size = 2;
    SmtpTransport smtp(options);
    std::vector<std::string> ids(8);
    for (std::string& id : ids) id = next_id();
    std::vector<std::thread> threads;
    threads.reserve(4);
    std::atomic<int> next{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = next++; i < static_cast<int>(ids.size()); i = next++) {
                const SendOutcome outcome = smtp.send({"jobs@example.com", {"ada@example.org"}},
                                                      render(ids[i], "ada@example.org"), ids[i]);
                EXPECT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail;
            }
        });
    }
    for (std::thread& t : threads) t.join();
    std::set<std::string> ports;
    for (const std::string& id : ids) {
        const auto stored = find_stored(*folder_, id);
        ASSERT_TRUE(stored.has_value()) << id;
        ports.insert(stored->peer_port);
    }
    EXPECT_LE(ports.size(), 2u);
}

// Protects SMTP command injection: an envelope address with CRLF never reaches the server.
TEST_F(SmtpTransportTest, RefusesEnvelopeAddressesThatCouldInjectCommands) {
    SmtpTransport smtp(local_options(server_->port()));
    for (const Envelope& envelope :
         {Envelope{"jobs@example.com", {"ada@example.org\r\nRCPT TO:<x@y.z>"}},
          Envelope{"jobs@example.com>\r\nRSET", {"ada@example.org"}},
          Envelope{"jobs@example.com", {}}}) {
        const SendOutcome outcome = smtp.send(envelope, "Subject: x\r\n\r\nx\r\n", "x@y");
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::permanent) << outcome.detail;
        EXPECT_EQ(outcome.reply_code, 0);
    }
}

// Protects both ways of sending a transaction: with PIPELINING (the server's default here, MAIL,
// RCPT and DATA in one write) and without it (one command at a time). Either way every
// recipient arrives, a refused RCPT among accepted ones stops the message with the server's own
// reply, and the transport goes on with the next message.
class SmtpTransactionTest : public ::testing::TestWithParam<bool> {};

TEST_P(SmtpTransactionTest, DeliversAndRefusesPerRecipient) {
    const bool pipelining = GetParam();
    const fs::path folder = make_temp_dir("smtp_transaction");
    SmtpServerProcess server(folder, pipelining ? std::vector<std::string>{}
                                                : std::vector<std::string>{"--no-pipelining"});
    SmtpOptions options = local_options(server.port());
    options.pool_size = 1;
    SmtpTransport smtp(options);

    const SendOutcome both =
        smtp.send({"jobs@example.com", {"ada@example.org", "bob@example.org"}},
                  render("two@hirestream", "ada@example.org"), "two@hirestream");
    ASSERT_EQ(both.kind, SendOutcome::Kind::sent) << both.detail << server.log();
    const auto stored = find_stored(folder, "two@hirestream");
    ASSERT_TRUE(stored.has_value());
    EXPECT_NE(stored->env.find("rcpt ada@example.org\nrcpt bob@example.org\n"), std::string::npos)
        << stored->env;

    const SendOutcome refused =
        smtp.send({"jobs@example.com", {"ada@example.org", "bad@example.org"}},
                  render("refused@hirestream", "ada@example.org"), "refused@hirestream");
    EXPECT_EQ(refused.kind, SendOutcome::Kind::permanent) << refused.detail;
    EXPECT_EQ(refused.reply_code, 550);
    EXPECT_NE(refused.detail.find("550 5.1.1 mailbox unavailable"), std::string::npos)
        << refused.detail;
    EXPECT_FALSE(find_stored(folder, "refused@hirestream").has_value())
        << "a message went out although one of its recipients was refused";

    const SendOutcome busy =
        smtp.send({"jobs@example.com", {"busy@example.org"}},
                  render("busy@hirestream", "busy@example.org"), "busy@hirestream");
    EXPECT_EQ(busy.kind, SendOutcome::Kind::transient) << busy.detail;
    EXPECT_EQ(busy.reply_code, 451);

    const SendOutcome after =
        smtp.send({"jobs@example.com", {"ada@example.org"}},
                  render("after@hirestream", "ada@example.org"), "after@hirestream");
    EXPECT_EQ(after.kind, SendOutcome::Kind::sent) << after.detail << server.log();
    EXPECT_TRUE(find_stored(folder, "after@hirestream").has_value());
    EXPECT_EQ(server.stop(), 0);
    fs::remove_all(folder);
}

INSTANTIATE_TEST_SUITE_P(PipeliningOrNot, SmtpTransactionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Pipelined" : "Lockstep"; });

// Protects against lost mail when a relay drops a pooled connection just as it is reused: the
// server closes without a word at the second MAIL FROM on a connection, so nothing of that
// message was taken, and the transport sends it again on a fresh connection, once.
TEST(SmtpTransportReuse, ResendsOnAFreshConnectionWhenAReusedOneIsGone) {
    const fs::path folder = make_temp_dir("smtp_reuse");
    SmtpServerProcess server(folder, {"--drop-reused"});
    SmtpOptions options = local_options(server.port());
    options.pool_size = 1;
    SmtpTransport smtp(options);
    std::vector<std::string> ports;
    for (const std::string id : {"first@hirestream", "second@hirestream", "third@hirestream"}) {
        const SendOutcome outcome =
            smtp.send({"jobs@example.com", {"ada@example.org"}}, render(id, "ada@example.org"), id);
        ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << id << ": " << outcome.detail;
        const auto stored = find_stored(folder, id);
        ASSERT_TRUE(stored.has_value()) << id;
        ports.push_back(stored->peer_port);
    }
    EXPECT_NE(ports[0], ports[1]);
    EXPECT_NE(ports[1], ports[2]);
    std::size_t emails = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
        emails += entry.path().extension() == ".eml" ? 1 : 0;
    }
    EXPECT_EQ(emails, 3u) << "a message was stored twice";
    EXPECT_EQ(server.stop(), 0);
    fs::remove_all(folder);
}

// Protects STARTTLS as required, not opportunistic (RFC 3207 6): against a server that does not
// offer it (as when a man in the middle strips the capability) nothing is sent in clear.
TEST(SmtpTransportTls, RefusesToSendWhenStartTlsIsNotOffered) {
    const fs::path folder = make_temp_dir("smtp_no_starttls");
    SmtpServerProcess server(folder, {});
    SmtpOptions options = local_options(server.port());
    options.tls = SmtpTls::starttls;
    SmtpTransport smtp(options);
    const SendOutcome outcome =
        smtp.send({"jobs@example.com", {"ada@example.org"}},
                  render("clear@hirestream", "ada@example.org"), "clear@hirestream");
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << outcome.detail;
    EXPECT_NE(outcome.detail.find("STARTTLS"), std::string::npos) << outcome.detail;
    EXPECT_FALSE(find_stored(folder, "clear@hirestream").has_value());
    EXPECT_EQ(server.stop(), 0);
    fs::remove_all(folder);
}

// Throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI.
struct TestCertificates {
    fs::path dir;
    fs::path ca, cert, key;

    explicit TestCertificates(const std::string& alt_names = "DNS:localhost,IP:127.0.0.1")
        : dir(make_temp_dir("smtp_tls")) {
        ca = dir / "ca.pem";
        cert = dir / "server.pem";
        key = dir / "server.key";
        const std::string d = dir.string();
        const std::string script =
            "cd '" + d +
            "' && "
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout ca.key -out ca.pem -days 2 -subj /CN=hirestream-test-ca "
            "-addext basicConstraints=critical,CA:TRUE "
            "-addext keyUsage=critical,keyCertSign,cRLSign && "
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout server.key -out server.csr -subj /CN=localhost && "
            "printf 'subjectAltName=" +
            alt_names +
            "\\nextendedKeyUsage=serverAuth\\n' "
            "> ext.cnf && "
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
            "-out server.pem -days 2 -extfile ext.cnf";
        const std::string command = "(" + script + ") > '" + d + "/openssl.log' 2>&1";
        if (std::system(command.c_str()) != 0) {
            throw std::runtime_error("openssl failed: " + read_file(dir / "openssl.log"));
        }
    }
    ~TestCertificates() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

// Protects the production setup: STARTTLS required, certificate checked against ca_file, AUTH
// with a percent-escaped password; an untrusted certificate or a wrong password fails
// transiently and the password never shows in the detail.
TEST(SmtpTransportTls, StartTlsWithAuthDeliversAndChecksTheCertificate) {
    const TestCertificates certs;
    const fs::path folder = make_temp_dir("smtp_starttls");
    SmtpServerProcess server(folder, {"--tls", "starttls", "--cert", certs.cert.string(), "--key",
                                      certs.key.string(), "--auth", "mailer:s3cr@t:pw"});
    auto parsed = parse_smtp_url(
        "smtp://mailer:s3cr%40t%3Apw@127.0.0.1:" + std::to_string(server.port()) + "?tls=starttls");
    ASSERT_TRUE(parsed.has_value());
    SmtpOptions options = *parsed;
    options.response_timeout_ms = 5'000;
    options.ca_file = certs.ca.string();

    const std::string id = "tls1@hirestream";
    const std::string mime = render(id, "ada@example.org");
    const Envelope envelope{"jobs@example.com", {"ada@example.org"}};
    {
        SmtpTransport smtp(options);
        const SendOutcome outcome = smtp.send(envelope, mime, id);
        ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server.log();
        const auto stored = find_stored(folder, id);
        ASSERT_TRUE(stored.has_value());
        EXPECT_TRUE(stored->content == mime);
        EXPECT_NE(stored->env.find("tls 1\n"), std::string::npos) << stored->env;
        EXPECT_NE(stored->env.find("auth mailer\n"), std::string::npos) << stored->env;
        EXPECT_EQ(smtp.describe(),
                  "smtp://127.0.0.1:" + std::to_string(server.port()) + " (starttls, auth)");
    }
    for (const std::string mechanism : {"PLAIN", "LOGIN"}) {
        SmtpOptions chosen = options;
        chosen.auth_mechanism = mechanism;
        SmtpTransport smtp(chosen);
        const std::string mid = "tls-" + mechanism + "@hirestream";
        const SendOutcome outcome = smtp.send(envelope, render(mid, "ada@example.org"), mid);
        ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server.log();
        const auto stored = find_stored(folder, mid);
        ASSERT_TRUE(stored.has_value());
        EXPECT_NE(stored->env.find("auth_mechanism " + mechanism + "\n"), std::string::npos)
            << stored->env;
    }
    {
        SmtpOptions untrusted = options;
        untrusted.ca_file.clear();  // the system store does not know our throwaway CA
        SmtpTransport smtp(untrusted);
        const SendOutcome outcome = smtp.send(envelope, mime, id);
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << outcome.detail;
        EXPECT_NE(outcome.detail.find("certificate"), std::string::npos) << outcome.detail;
    }
    {
        SmtpOptions wrong = options;
        wrong.password = "not-the-password";
        SmtpTransport smtp(wrong);
        const SendOutcome outcome = smtp.send(envelope, mime, id);
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << outcome.detail;
        EXPECT_EQ(outcome.reply_code, 535);
        EXPECT_EQ(outcome.detail.find("not-the-password"), std::string::npos);
    }
    EXPECT_EQ(server.stop(), 0) << "the test server must stop cleanly on SIGTERM";
    fs::remove_all(folder);
}

// Protects the certificate's name check: a certificate from a trusted CA but for another host
// is refused, whether the relay is named by address or by host name; the same relay is reached
// by its name when the certificate names it; and verification off (verify_peer false) accepts
// it. The name is what makes TLS worth having: without the check any CA-signed certificate would
// do for a man in the middle.
TEST(SmtpTransportTls, ChecksTheCertificateAgainstTheRelaysName) {
    const Envelope envelope{"jobs@example.com", {"ada@example.org"}};
    {
        const TestCertificates other("DNS:mail.example.com");
        const fs::path folder = make_temp_dir("smtp_tls_name");
        SmtpServerProcess server(folder, {"--tls", "implicit", "--cert", other.cert.string(),
                                          "--key", other.key.string()});
        for (const std::string host : {"127.0.0.1", "localhost"}) {
            SmtpOptions options = local_options(server.port());
            options.host = host;
            options.tls = SmtpTls::implicit;
            options.ca_file = other.ca.string();
            SmtpTransport smtp(options);
            const SendOutcome outcome = smtp.send(
                envelope, render("name@hirestream", "ada@example.org"), "name@hirestream");
            EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient) << host << ": " << outcome.detail;
            EXPECT_NE(outcome.detail.find("certificate"), std::string::npos) << outcome.detail;
            EXPECT_NE(outcome.detail.find("mismatch"), std::string::npos) << outcome.detail;
        }
        EXPECT_FALSE(find_stored(folder, "name@hirestream").has_value());

        SmtpOptions unchecked = local_options(server.port());
        unchecked.tls = SmtpTls::implicit;
        unchecked.verify_peer = false;
        SmtpTransport smtp(unchecked);
        const SendOutcome outcome = smtp.send(
            envelope, render("unchecked@hirestream", "ada@example.org"), "unchecked@hirestream");
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server.log();
        EXPECT_EQ(server.stop(), 0);
        fs::remove_all(folder);
    }
    {
        const TestCertificates named("DNS:localhost");
        const fs::path folder = make_temp_dir("smtp_tls_named");
        SmtpServerProcess server(folder, {"--tls", "implicit", "--cert", named.cert.string(),
                                          "--key", named.key.string()});
        SmtpOptions options = local_options(server.port());
        options.host = "localhost";
        options.tls = SmtpTls::implicit;
        options.ca_file = named.ca.string();
        SmtpTransport smtp(options);
        const SendOutcome outcome =
            smtp.send(envelope, render("named@hirestream", "ada@example.org"), "named@hirestream");
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server.log();
        EXPECT_TRUE(find_stored(folder, "named@hirestream").has_value());
        EXPECT_EQ(server.stop(), 0);
        fs::remove_all(folder);
    }
}

// Protects a configuration mistake from looking like a relay fault: an unreadable CA file fails
// every send transiently, naming the file.
TEST(SmtpTransportTls, NamesAnUnreadableCaFile) {
    SmtpOptions options = local_options(closed_port());
    options.tls = SmtpTls::starttls;
    options.ca_file = "/nonexistent/hirestream-ca.pem";
    SmtpTransport smtp(options);
    const SendOutcome outcome =
        smtp.send({"jobs@example.com", {"ada@example.org"}},
                  render("ca@hirestream", "ada@example.org"), "ca@hirestream");
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient);
    EXPECT_NE(outcome.detail.find("/nonexistent/hirestream-ca.pem"), std::string::npos)
        << outcome.detail;
}

// Protects smtps:// (implicit TLS, RFC 8314 3.3).
TEST(SmtpTransportTls, ImplicitTlsDelivers) {
    const TestCertificates certs;
    const fs::path folder = make_temp_dir("smtp_smtps");
    SmtpServerProcess server(
        folder, {"--tls", "implicit", "--cert", certs.cert.string(), "--key", certs.key.string()});
    auto parsed = parse_smtp_url("smtps://127.0.0.1:" + std::to_string(server.port()));
    ASSERT_TRUE(parsed.has_value());
    SmtpOptions options = *parsed;
    options.ca_file = certs.ca.string();
    SmtpTransport smtp(options);
    const std::string id = "smtps1@hirestream";
    const SendOutcome outcome =
        smtp.send({"jobs@example.com", {"ada@example.org"}}, render(id, "ada@example.org"), id);
    ASSERT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail << server.log();
    const auto stored = find_stored(folder, id);
    ASSERT_TRUE(stored.has_value());
    EXPECT_NE(stored->env.find("tls 1\n"), std::string::npos);
    EXPECT_EQ(server.stop(), 0);
    fs::remove_all(folder);
}

// Protects configuration parsing: defaults per scheme, STARTTLS switch, decoded credentials.
TEST(ParseSmtpUrl, ReadsSchemeHostPortTlsAndCredentials) {
    auto plain = parse_smtp_url("smtp://relay.example.com");
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->host, "relay.example.com");
    EXPECT_EQ(plain->port, 25);
    EXPECT_EQ(plain->tls, SmtpTls::none);
    EXPECT_TRUE(plain->username.empty());

    auto starttls =
        parse_smtp_url("smtp://user%40example.com:p%40ss%3Aw%25rd@relay:587?tls=starttls");
    ASSERT_TRUE(starttls.has_value());
    EXPECT_EQ(starttls->host, "relay");
    EXPECT_EQ(starttls->port, 587);
    EXPECT_EQ(starttls->tls, SmtpTls::starttls);
    EXPECT_EQ(starttls->username, "user@example.com");
    EXPECT_EQ(starttls->password, "p@ss:w%rd");

    // Credentials without a tls parameter mean STARTTLS, never AUTH in clear; plain AUTH
    // needs an explicit tls=none.
    auto with_user = parse_smtp_url("smtp://user:pw@relay:587");
    ASSERT_TRUE(with_user.has_value());
    EXPECT_EQ(with_user->tls, SmtpTls::starttls);
    auto clear = parse_smtp_url("smtp://user:pw@relay:25?tls=none");
    ASSERT_TRUE(clear.has_value());
    EXPECT_EQ(clear->tls, SmtpTls::none);

    auto implicit = parse_smtp_url("smtps://u:p@[::1]/");
    ASSERT_TRUE(implicit.has_value());
    EXPECT_EQ(implicit->host, "::1");
    EXPECT_EQ(implicit->port, 465);
    EXPECT_EQ(implicit->tls, SmtpTls::implicit);
}

// Protects start-up validation: bad URLs fail on field smtp_url without echoing the password.
TEST(ParseSmtpUrl, RefusesInvalidUrlsWithoutEchoingThem) {
    for (const char* url :
         {"http://relay", "smtp://", "smtp://:25", "smtp://relay:0", "smtp://relay:65536",
          "smtp://relay:abc", "smtp://relay:", "smtp://u:hunter2@relay:99999", "smtp://relay/path",
          "smtp://relay?tls=maybe", "smtps://relay?tls=starttls", "smtp://u:bad%zzpw@relay",
          "smtp://rel ay", "relay:25"}) {
        const auto parsed = parse_smtp_url(url);
        ASSERT_FALSE(parsed.has_value()) << url;
        EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << url;
        EXPECT_EQ(parsed.error().field, "smtp_url") << url;
        EXPECT_EQ(parsed.error().message.find("hunter2"), std::string::npos);
    }
}

// Protects start-up logs from leaking the password.
TEST(SmtpTransportDescribe, NamesTheServerWithoutCredentials) {
    SmtpOptions options;
    options.host = "relay.example.com";
    options.port = 587;
    options.tls = SmtpTls::starttls;
    options.username = "mailer";
    options.password = "hunter2";
    SmtpTransport smtp(options);
    EXPECT_EQ(smtp.describe(), "smtp://relay.example.com:587 (starttls, auth)");
    options.tls = SmtpTls::none;
    options.username.clear();
    EXPECT_EQ(SmtpTransport(options).describe(), "smtp://relay.example.com:587 (no tls)");
}

}  // namespace
}  // namespace hirestream::mail
