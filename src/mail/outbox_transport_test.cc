#include "mail/outbox_transport.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mail/message.h"
#include "mail/outbox_folder.h"

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;

// True when `name` is "YYYYMMDDTHHMMSS.mmmZ-<id>.eml" (std::regex is avoided: GCC 12 warns
// inside it under ASan, and warnings are errors).
bool is_stamped_name(const std::string& name, const std::string& id) {
    const std::string shape =
        "dddddddd"
        "T"
        "dddddd"
        "."
        "ddd"
        "Z-";
    if (name.size() != shape.size() + id.size() + 4) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool ok = shape[i] == 'd' ? (name[i] >= '0' && name[i] <= '9') : name[i] == shape[i];
        if (!ok) return false;
    }
    return name.substr(shape.size()) == id + ".eml";
}

class OutboxTransportTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "outbox_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        folder_ = root_ / "outbox";
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }

    static std::string mime_for(const std::string& message_id, const std::string& body) {
        Message m;
        m.from = {"Hirestream", "jobs@example.com"};
        m.to = {"Ada Lovelace", "ada@example.org"};
        m.subject = "Your coding assignment";
        m.text_body = body;
        m.message_id = message_id;
        m.date_ms = 1'700'000'000'000;
        auto mime = render_message(m);
        EXPECT_TRUE(mime.has_value());
        return mime ? *mime : std::string();
    }

    // Every entry of `dir`, by file name.
    static std::vector<std::string> names_in(const fs::path& dir) {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir)) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    static std::string read(const fs::path& path) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

    fs::path root_;
    fs::path folder_;
    Envelope envelope_{"jobs@example.com", {"ada@example.org"}};
};

// Protects the outbox contract: one complete .eml per message, named date-id, openable as mail.
TEST_F(OutboxTransportTest, WritesTheMessageAsOneEmlFileNamedByDateAndId) {
    OutboxTransport outbox(folder_.string());
    const std::string mime = mime_for("c0ffee.assignment1@hirestream", "Hello Ada\n");
    const SendOutcome outcome = outbox.send(envelope_, mime, "c0ffee.assignment1@hirestream");
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::sent) << outcome.detail;

    const std::vector<std::string> names = names_in(folder_);
    ASSERT_EQ(names.size(), 1u) << "no temporary file may be left behind";
    EXPECT_TRUE(is_stamped_name(names[0], "c0ffee.assignment1@hirestream")) << names[0];
    const std::string content = read(folder_ / names[0]);
    EXPECT_EQ(content, mime) << "the file holds exactly the rendered message";
    const std::size_t blank = content.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos);
    const std::string headers = content.substr(0, blank + 2);
    EXPECT_NE(headers.find("\r\nMessage-ID: <c0ffee.assignment1@hirestream>\r\n"),
              std::string::npos);
    EXPECT_NE(headers.find("\r\nTo: \"Ada Lovelace\" <ada@example.org>\r\n"), std::string::npos);
    EXPECT_EQ(content.substr(blank + 4), "Hello Ada\r\n");
    EXPECT_NE(outcome.detail.find(names[0]), std::string::npos);
}

// Protects deduplication: a re-sent Message-ID overwrites its file, also after a restart.
TEST_F(OutboxTransportTest, SendingTheSameMessageIdAgainOverwritesItsFile) {
    const std::string id = "c0ffee.assignment1@hirestream";
    {
        OutboxTransport outbox(folder_.string());
        EXPECT_EQ(outbox.send(envelope_, mime_for(id, "first\n"), id).kind,
                  SendOutcome::Kind::sent);
        EXPECT_EQ(outbox.send(envelope_, mime_for(id, "second\n"), id).kind,
                  SendOutcome::Kind::sent);
    }
    OutboxTransport restarted(folder_.string());
    const std::string latest = mime_for(id, "third\n");
    EXPECT_EQ(restarted.send(envelope_, latest, id).kind, SendOutcome::Kind::sent);
    EXPECT_EQ(
        restarted.send(envelope_, mime_for("other@hirestream", "x\n"), "other@hirestream").kind,
        SendOutcome::Kind::sent);

    std::vector<std::string> mine;
    for (const std::string& name : names_in(folder_)) {
        if (name.ends_with("-" + id + ".eml")) mine.push_back(name);
    }
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(read(folder_ / mine[0]), latest);
    EXPECT_EQ(names_in(folder_).size(), 2u);
}

// Protects the file system from message ids: no path traversal, no collisions after sanitizing.
TEST_F(OutboxTransportTest, KeepsMaliciousMessageIdsInsideTheFolder) {
    OutboxTransport outbox(folder_.string());
    const std::vector<std::string> ids = {
        "../../etc/x", "../x", "a/b", "a_b", "..", "/abs", std::string(300, 'z') + "@long"};
    for (const std::string& id : ids) {
        const SendOutcome outcome = outbox.send(envelope_, "Subject: x\r\n\r\nbody\r\n", id);
        EXPECT_EQ(outcome.kind, SendOutcome::Kind::sent) << id << ": " << outcome.detail;
    }
    EXPECT_EQ(names_in(root_), std::vector<std::string>{"outbox"}) << "wrote outside the folder";
    const std::vector<std::string> names = names_in(folder_);
    EXPECT_EQ(names.size(), ids.size()) << "distinct ids must not share a file";
    for (const std::string& name : names) {
        EXPECT_TRUE(fs::is_regular_file(folder_ / name)) << name;
        EXPECT_TRUE(name.ends_with(".eml")) << name;
        EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789._@-"),
                  std::string::npos)
            << name;
        EXPECT_LT(name.size(), 200u);
    }
}

// Protects thread safety: concurrent sends of one id still leave exactly one complete file.
TEST_F(OutboxTransportTest, ConcurrentSendsOfOneMessageIdLeaveOneFile) {
    OutboxTransport outbox(folder_.string());
    const std::string id = "same@hirestream";
    const std::string mime = mime_for(id, std::string(100'000, 'x'));
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back(
            [&] { EXPECT_EQ(outbox.send(envelope_, mime, id).kind, SendOutcome::Kind::sent); });
    }
    for (std::thread& t : threads) t.join();
    const std::vector<std::string> names = names_in(folder_);
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(read(folder_ / names[0]), mime);
}

// Protects retries: a write failure (here the folder vanished) is transient with the OS reason.
TEST_F(OutboxTransportTest, ReportsAWriteFailureAsTransientWithTheReason) {
    OutboxTransport outbox(folder_.string());
    fs::remove_all(folder_);
    const SendOutcome outcome = outbox.send(envelope_, "Subject: x\r\n\r\nx\r\n", "a@b");
    EXPECT_EQ(outcome.kind, SendOutcome::Kind::transient);
    EXPECT_NE(outcome.detail.find("No such file or directory"), std::string::npos)
        << outcome.detail;
}

// Protects start-up: the folder is created, a crash's temporary files are cleared, and the
// description names the folder.
TEST_F(OutboxTransportTest, CreatesTheFolderAndClearsLeftoverTemporaryFiles) {
    fs::create_directories(folder_);
    std::ofstream(folder_ / ".tmp-0011-20231114T221320.000Z-x@y.eml") << "half";
    std::ofstream(folder_ / "notes.txt") << "user file";
    OutboxTransport outbox((folder_ / "nested").string());
    OutboxTransport outer(folder_.string());
    EXPECT_TRUE(fs::is_directory(folder_ / "nested"));
    EXPECT_EQ(names_in(folder_), (std::vector<std::string>{"nested", "notes.txt"}));
    EXPECT_EQ(outer.describe(), "outbox folder " + folder_.string());
}

// Protects start-up failure being loud: a folder that cannot be created throws.
TEST_F(OutboxTransportTest, ThrowsWhenTheFolderCannotBeCreated) {
    fs::create_directories(root_);
    std::ofstream(root_ / "file") << "x";
    EXPECT_THROW(OutboxTransport((root_ / "file" / "outbox").string()), std::runtime_error);
}

// ---- reading the folder back (OutboxFolder, the API's GET /outbox) ----

class OutboxFolderTest : public OutboxTransportTest {
  protected:
    std::string send(OutboxTransport& t, const std::string& to, const std::string& subject,
                     const std::string& id) {
        Message m;
        m.from = {"Hiring Team", "hiring@example.com"};
        m.to = {"Ada", to};
        m.subject = subject;
        m.text_body = "hello";
        m.message_id = id;
        m.date_ms = 1'700'000'000'000;
        auto mime = render_message(m);
        EXPECT_TRUE(mime);
        EXPECT_EQ(t.send({}, *mime, id).kind, SendOutcome::Kind::sent);
        return *mime;
    }
};

// The outbox page lists what the transport wrote, newest first, with To, Subject and Date,
// pages with `before`, and opens a message byte for byte.
TEST_F(OutboxFolderTest, ListsNewestFirstWithHeadersAndReadsAMessage) {
    OutboxTransport transport(folder_.string());
    const auto first = send(transport, "ada@example.com", "Coding Round", "one@hirestream");
    // Sent later, or in the same millisecond with an id that sorts after: listed first.
    send(transport, "alan@example.com", "Second", "two@hirestream");
    OutboxFolder outbox(folder_.string());
    auto all = outbox.list("", 10);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].subject, "Second");
    EXPECT_EQ((*all)[1].subject, "Coding Round");
    EXPECT_NE((*all)[1].to.find("ada@example.com"), std::string::npos);
    EXPECT_FALSE((*all)[1].date.empty());
    EXPECT_EQ((*all)[1].size, first.size());
    auto older = outbox.list((*all)[0].name, 10);
    ASSERT_TRUE(older);
    ASSERT_EQ(older->size(), 1u);
    EXPECT_EQ((*older)[0].name, (*all)[1].name);
    EXPECT_EQ(outbox.list("", 1)->size(), 1u);
    auto bytes = outbox.read((*all)[1].name);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, first);
}

// No name reaches the file system unless the transport could have written it: traversal,
// hidden temporary files, other files and links are all not found.
TEST_F(OutboxFolderTest, RefusesEveryNameTheTransportWouldNotWrite) {
    OutboxTransport transport(folder_.string());
    send(transport, "ada@example.com", "Hi", "one@hirestream");
    std::ofstream(root_ / "secret.eml") << "secret";
    std::ofstream(folder_ / "notes.txt") << "x";
    fs::create_symlink(root_ / "secret.eml", folder_ / "20231114T221320.000Z-link.eml");
    OutboxFolder outbox(folder_.string());
    for (const char* name : {"../secret.eml", "20231114T221320.000Z-../../secret.eml",
                             "20231114T221320.000Z-a/b.eml", "notes.txt", ".tmp-x.eml", "",
                             "20231114T221320.000Z-link.eml", "20231114T221320.000Z-nope.eml",
                             "20231114T221320.000Z-%2e%2e.eml"}) {
        auto r = outbox.read(name);
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error().code, Errc::not_found) << name;
    }
    auto listed = outbox.list("", 10);
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), 1u);  // not the link, not notes.txt
    EXPECT_TRUE(OutboxFolder((root_ / "missing").string()).list("", 10)->empty());
}

// A folded header is joined, the first of a repeated field wins, the body is not read.
TEST(OutboxHeaders, UnfoldsAndStopsAtTheBody) {
    OutboxEntry e;
    read_header_fields("To: Ada\r\n <ada@example.com>\r\nSubject: =?UTF-8?B?w6k=?=\r\n"
                       "subject: second\r\nDate: Tue, 14 Nov 2023\r\n\r\nTo: body@example.com\r\n",
                       e);
    EXPECT_EQ(e.to, "Ada <ada@example.com>");
    EXPECT_EQ(e.subject, "=?UTF-8?B?w6k=?=");
    EXPECT_EQ(e.date, "Tue, 14 Nov 2023");
}

}  // namespace
}  // namespace hirestream::mail
