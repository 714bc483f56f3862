#include "mail/delivery_worker.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "store/sqlite/sqlite_store.h"

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;

// Answers each send with the next scripted outcome (then "250 OK"). A transport fault switch:
// the real SMTP server's replies are covered by the end-to-end tests; here the worker's state
// machine is driven through every outcome with a manual clock.
class ScriptedTransport final : public Transport {
  public:
    SendOutcome send(const Envelope& envelope, const std::string& mime,
                     const std::string& message_id) override {
        std::lock_guard lock(mutex_);
        sent.push_back({envelope, mime, message_id});
        if (script.empty()) return {SendOutcome::Kind::sent, 250, "250 OK"};
        auto o = script.front();
        script.pop_front();
        return o;
    }
    std::string describe() const override { return "scripted"; }

    struct Sent {
        Envelope envelope;
        std::string mime;
        std::string message_id;
    };
    std::mutex mutex_;
    std::deque<SendOutcome> script;
    std::vector<Sent> sent;
};

class DeliveryWorkerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hs-worker-" + random_hex(6));
        fs::create_directories(dir_);
        auto s = store::SqliteStore::open({(dir_ / "db.sqlite").string()}, clock_);
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
        SenderSettings sender;
        sender.from = {"Hiring Team", "hiring@example.com"};
        sender.reply_to = {{"", "recruiting@example.com"}};
        sender.public_url = "http://127.0.0.1:8080";
        catalog_ = std::make_unique<AssignmentCatalog>(
            *store_,
            std::vector<AssignmentZip>{
                {{"assignment1", "Assignment 1", store::DeliveryMode::both, 13, "", "config"},
                 std::string("PK\x03\x04zip\0bytes", 13)}},
            std::vector<std::string>{}, "assignment1");
        auto templates = MessageTemplates::compile(
            {{"Coding Round", "mail.subject"}, {MessageTemplates::default_text(), "t"}, {}});
        ASSERT_TRUE(templates);
        messages_ = std::make_unique<AssignmentMessageBuilder>(sender, *templates, *catalog_,
                                                               signer_, 7 * 86'400);
        options_.messages = messages_.get();
        options_.max_attempts = 3;
        options_.initial_backoff = std::chrono::milliseconds(1000);
        options_.max_backoff = std::chrono::milliseconds(8000);
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    static store::Delivery delivery(const std::string& id, const std::string& email,
                                    std::int64_t now_ms) {
        store::Delivery d;
        d.candidate_id = id;
        d.recipient = email;
        d.recipient_name = "José Müller";
        d.assignment = "assignment1";
        d.message_id = id + "@example.com";
        d.created_ms = d.updated_ms = d.next_attempt_ms = now_ms;
        return d;
    }
    void add(const std::string& id, const std::string& email) {
        ASSERT_TRUE(store_->add_delivery(delivery(id, email, clock_.now_ms())).value());
    }
    // A delivery as the assignment function adds one for a reserved sender: SENDING, attempt 1.
    store::Delivery add_claimed(const std::string& id, const std::string& email) {
        auto d = delivery(id, email, clock_.now_ms());
        d.state = store::DeliveryState::sending;
        d.attempts = 1;
        auto added = store_->add_deliveries({d});
        EXPECT_TRUE(added && added->front()) << (added ? "" : added.error().message);
        return added && added->front() ? *added->front() : d;
    }
    // Reserves `wanted` senders once that many wait for work (they start idle).
    int reserve_when_idle(DeliveryWorker& worker, int wanted) {
        for (int i = 0; i < 2000; ++i) {
            if (int got = worker.reserve(wanted); got == wanted) return got;
            else if (got > 0) worker.cancel(got);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return 0;
    }
    bool wait_for_state(const std::string& id, store::DeliveryState state) {
        for (int i = 0; i < 5000; ++i) {
            if (get(id).state == state) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return false;
    }
    store::Delivery get(const std::string& id) {
        return store_->get_delivery(id, "assignment").value().value();
    }

    fs::path dir_;
    ManualClock clock_;
    std::unique_ptr<store::SqliteStore> store_;
    ScriptedTransport transport_;
    LinkSigner signer_{"0123456789abcdef0123456789abcdef", clock_};
    std::unique_ptr<AssignmentCatalog> catalog_;
    std::unique_ptr<AssignmentMessageBuilder> messages_;
    DeliveryWorkerOptions options_;
};

// An accepted message is SENT, addressed to the candidate, with the zip and the link.
TEST_F(DeliveryWorkerTest, AcceptedMessageIsSentOnceWithAttachmentAndLink) {
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "jose@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(worker.send_due(10).value(), 0);
    ASSERT_EQ(transport_.sent.size(), 1u);
    const auto& sent = transport_.sent[0];
    EXPECT_EQ(sent.envelope.recipients, std::vector<std::string>{"jose@example.com"});
    EXPECT_EQ(sent.envelope.mail_from, "hiring@example.com");
    EXPECT_EQ(sent.message_id, "c1@example.com");
    EXPECT_NE(sent.mime.find("Message-ID: <c1@example.com>"), std::string::npos);
    EXPECT_NE(sent.mime.find("http://127.0.0.1:8080/d/c1.assignment1."), std::string::npos);
    EXPECT_NE(sent.mime.find("assignment1.zip"), std::string::npos);
    auto d = get("c1");
    EXPECT_EQ(d.state, store::DeliveryState::sent);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.last_reply, "250 OK");
}

// A 4xx is retried only when its backoff has passed, and then sent.
TEST_F(DeliveryWorkerTest, TransientFailureIsRetriedAfterBackoff) {
    transport_.script.push_back({SendOutcome::Kind::transient, 451, "451 4.3.0 try later"});
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "a@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 1);
    auto d = get("c1");
    EXPECT_EQ(d.state, store::DeliveryState::retry);
    EXPECT_EQ(d.last_reply, "451 4.3.0 try later");
    EXPECT_GE(d.next_attempt_ms, clock_.now_ms() + 500);  // jitter keeps at least half
    EXPECT_LE(d.next_attempt_ms, clock_.now_ms() + 1000);
    EXPECT_EQ(worker.send_due(10).value(), 0);  // not due yet
    clock_.advance(std::chrono::milliseconds(1000));
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(get("c1").state, store::DeliveryState::sent);
    EXPECT_EQ(get("c1").attempts, 2);
    EXPECT_EQ(transport_.sent.size(), 2u);
}

// A 5xx is FAILED with the server's reply and never tried again.
TEST_F(DeliveryWorkerTest, PermanentFailureIsFailedWithReply) {
    transport_.script.push_back(
        {SendOutcome::Kind::permanent, 550, "550 5.1.1 mailbox unavailable"});
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "gone@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 1);
    clock_.advance(std::chrono::hours(1));
    EXPECT_EQ(worker.send_due(10).value(), 0);
    auto d = get("c1");
    EXPECT_EQ(d.state, store::DeliveryState::failed);
    EXPECT_EQ(d.last_reply, "550 5.1.1 mailbox unavailable");
    EXPECT_EQ(transport_.sent.size(), 1u);
}

// After maxAttempts transient failures the delivery is FAILED, saying why.
TEST_F(DeliveryWorkerTest, GivesUpAfterMaxAttempts) {
    for (int i = 0; i < 5; ++i) {
        transport_.script.push_back({SendOutcome::Kind::transient, 0, "connection refused"});
    }
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "a@example.com");
    for (int i = 0; i < 5; ++i) {
        (void)worker.send_due(10);
        clock_.advance(std::chrono::seconds(10));
    }
    auto d = get("c1");
    EXPECT_EQ(d.state, store::DeliveryState::failed);
    EXPECT_EQ(d.attempts, 3);
    EXPECT_NE(d.last_reply.find("gave up after 3 attempts"), std::string::npos);
}

// Without an attempt limit, a relay that stays down fails a delivery only once it is too old,
// so an outage of an hour loses nobody.
TEST_F(DeliveryWorkerTest, GivesUpByAgeWhenAttemptsAreUnlimited) {
    options_.max_attempts = 0;
    options_.give_up_after = std::chrono::hours(2);
    for (int i = 0; i < 100; ++i) {
        transport_.script.push_back({SendOutcome::Kind::transient, 0, "connection refused"});
    }
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "a@example.com");
    for (int i = 0; i < 12; ++i) {  // one hour of attempts
        (void)worker.send_due(10);
        clock_.advance(std::chrono::minutes(5));
    }
    EXPECT_EQ(get("c1").state, store::DeliveryState::retry);
    clock_.advance(std::chrono::hours(1));
    (void)worker.send_due(10);
    EXPECT_EQ(get("c1").state, store::DeliveryState::failed);
    EXPECT_NE(get("c1").last_reply.find("gave up after"), std::string::npos);
}

// The email goes to the candidate as they are when it is sent: a corrected address is used, a
// deleted candidate is not mailed.
TEST_F(DeliveryWorkerTest, SendsToTheCurrentAddressAndSkipsDeletedCandidates) {
    store::TableSpec spec;
    spec.name = "candidates-test";
    ASSERT_TRUE(store_->ensure_table(spec));
    options_.candidates_table = spec.name;
    for (const char* id : {"c1", "c2"}) {
        store::Item item;
        item.set_string("id", id);
        item.set_string("email", "typo@exmaple.com");
        item.set_string("fullname", "Ada");
        ASSERT_TRUE(store_->put_item(spec.name, item, store::PutMode::create_only));
        add(id, "typo@exmaple.com");
    }
    store::ItemUpdate fix;
    fix.set["email"] = boost::json::object{{"S", "ada@example.com"}};
    ASSERT_TRUE(store_->update_item(spec.name, "c1", fix));
    ASSERT_TRUE(store_->delete_item(spec.name, "c2"));
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    EXPECT_EQ(worker.send_due(10).value(), 2);
    ASSERT_EQ(transport_.sent.size(), 1u);
    EXPECT_EQ(transport_.sent[0].envelope.recipients, std::vector<std::string>{"ada@example.com"});
    EXPECT_EQ(get("c1").state, store::DeliveryState::sent);
    EXPECT_EQ(get("c2").state, store::DeliveryState::failed);
    EXPECT_NE(get("c2").last_reply.find("deleted"), std::string::npos);
}

// Backoff doubles from the initial value and stops at the maximum.
TEST_F(DeliveryWorkerTest, BackoffDoublesUpToTheCap) {
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    EXPECT_EQ(worker.backoff(1).count(), 1000);
    EXPECT_EQ(worker.backoff(2).count(), 2000);
    EXPECT_EQ(worker.backoff(4).count(), 8000);
    EXPECT_EQ(worker.backoff(40).count(), 8000);
}

// A candidate field that would inject a header fails the delivery instead of sending it.
TEST_F(DeliveryWorkerTest, HeaderInjectionFailsTheDeliveryWithoutSending) {
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    store::Delivery d;
    d.candidate_id = "c2";
    d.recipient = "x@example.com";
    d.recipient_name = "Eve\r\nBcc: victim@example.com";
    d.assignment = "assignment1";
    d.message_id = "c2@example.com";
    ASSERT_TRUE(store_->add_delivery(d).value());
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_TRUE(transport_.sent.empty());
    EXPECT_EQ(get("c2").state, store::DeliveryState::failed);
}

// A delivery left SENDING by a crash is sent again after start (the documented window).
TEST_F(DeliveryWorkerTest, InterruptedDeliveryIsRequeuedAtStart) {
    add("c1", "a@example.com");
    ASSERT_EQ(store_->claim_due_deliveries(clock_.now_ms(), 10).value().size(), 1u);
    EXPECT_EQ(get("c1").state, store::DeliveryState::sending);
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    options_.threads = 0;
    DeliveryWorker idle(*store_, transport_, clock_, options_);
    ASSERT_TRUE(idle.start());
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(get("c1").state, store::DeliveryState::sent);
}

// A bad-mailbox reply (5.1.x) fails the email and suppresses the address: a later email to it
// is SUPPRESSED without reaching the relay, whatever the address's case. Other 5xx replies
// (policy, content) fail without suppressing.
TEST_F(DeliveryWorkerTest, BadMailboxReplySuppressesTheAddressForLaterEmails) {
    transport_.script.push_back({SendOutcome::Kind::permanent, 550,
                                 "550 5.1.1 <gone@example.com>: Recipient address rejected"});
    transport_.script.push_back({SendOutcome::Kind::permanent, 554, "554 5.7.1 spam refused"});
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    add("c1", "gone@example.com");
    add("c2", "policy@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 2);
    auto first = get("c1");
    EXPECT_EQ(first.state, store::DeliveryState::failed);
    EXPECT_EQ(first.last_code, 550);
    auto suppressed = store_->find_suppression("gone@example.com").value();
    ASSERT_TRUE(suppressed);
    EXPECT_EQ(suppressed->delivery_id, first.id);
    EXPECT_FALSE(store_->find_suppression("policy@example.com").value());

    add("c3", "GONE@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(transport_.sent.size(), 2u);  // c3 never reached the relay
    auto third = get("c3");
    EXPECT_EQ(third.state, store::DeliveryState::suppressed);
    EXPECT_NE(third.last_reply.find("suppression list"), std::string::npos) << third.last_reply;
    EXPECT_NE(third.last_reply.find("5.1.1"), std::string::npos) << third.last_reply;

    // Removed from the list and retried by hand, it is sent.
    ASSERT_TRUE(store_->remove_suppression("gone@example.com"));
    ASSERT_TRUE(store_->retry_delivery(third.id, clock_.now_ms()));
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(get("c3").state, store::DeliveryState::sent);
    EXPECT_EQ(transport_.sent.size(), 3u);
}

// Which replies count as a bad mailbox (RFC 3463 5.1.x after the reply code).
TEST(BadMailboxReply, OnlyEnhancedStatusFiveOneCounts) {
    EXPECT_TRUE(is_bad_mailbox_reply("550 5.1.1 <a@b>: User unknown"));
    EXPECT_TRUE(is_bad_mailbox_reply("550-5.1.1 The email account does not exist"));
    EXPECT_TRUE(is_bad_mailbox_reply("553 5.1.3 Bad recipient address syntax"));
    EXPECT_TRUE(is_bad_mailbox_reply("550 5.1.10 null MX"));
    EXPECT_FALSE(is_bad_mailbox_reply("550 5.7.1 Relaying denied"));
    EXPECT_FALSE(is_bad_mailbox_reply("552 5.2.2 Mailbox full"));
    EXPECT_FALSE(is_bad_mailbox_reply("550 Requested action not taken"));
    EXPECT_FALSE(is_bad_mailbox_reply("451 4.1.1 try later"));
    EXPECT_FALSE(is_bad_mailbox_reply("550 5.1.1234 not a code"));
    EXPECT_FALSE(is_bad_mailbox_reply(""));
}

// The daily quota: once reached, emails wait as PENDING (none dropped, none sent); they go out
// when the rolling day frees room. Sends from before a restart count.
TEST_F(DeliveryWorkerTest, DailyQuotaKeepsEmailsPendingUntilItFrees) {
    options_.rate_limits.per_day = 2;
    {
        DeliveryWorker before(*store_, transport_, clock_, options_);
        add("c1", "one@example.com");
        EXPECT_EQ(before.send_due(10).value(), 1);
    }
    clock_.advance(std::chrono::minutes(5));
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    ASSERT_TRUE(worker.start());
    worker.stop();  // start() seeded the quota from the store; the test drives send_due itself
    for (const char* id : {"c2", "c3", "c4"}) add(id, std::string(id) + "@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 1);  // c1 + c2 = the quota
    EXPECT_EQ(transport_.sent.size(), 2u);
    EXPECT_EQ(get("c3").state, store::DeliveryState::pending);
    EXPECT_EQ(get("c4").state, store::DeliveryState::pending);
    clock_.advance(std::chrono::hours(24) - std::chrono::minutes(5) + std::chrono::minutes(1));
    EXPECT_EQ(worker.send_due(10).value(), 1);  // c1's minute expired; c2's has not
    clock_.advance(std::chrono::minutes(6));
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(transport_.sent.size(), 4u);
    for (const char* id : {"c1", "c2", "c3", "c4"}) {
        EXPECT_EQ(get(id).state, store::DeliveryState::sent) << id;
    }
}

// The per-second limit paces sends; an email that needs no relay (suppressed) uses no slot.
TEST_F(DeliveryWorkerTest, PerSecondLimitPacesSends) {
    options_.rate_limits.per_second = 2;
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    ASSERT_TRUE(store_->add_suppression({"blocked@example.com", "by hand", 0, 0}));
    add("c0", "blocked@example.com");
    for (const char* id : {"c1", "c2", "c3"}) add(id, std::string(id) + "@example.com");
    EXPECT_EQ(worker.send_due(10).value(), 3);  // c0 suppressed, c1, c2
    EXPECT_EQ(transport_.sent.size(), 2u);
    EXPECT_EQ(worker.send_due(10).value(), 0);
    clock_.advance(std::chrono::milliseconds(501));
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(transport_.sent.size(), 3u);
}

// Protects the hand-off: a delivery added claimed and given to a reserved sender is sent by it
// from memory (no sender claims it: it is SENDING) and recorded SENT after that one attempt.
// Only senders that wait for work are reserved, and an unused reservation is returned.
TEST_F(DeliveryWorkerTest, AGivenDeliveryIsSentByAReservedSender) {
    options_.threads = 2;
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    ASSERT_TRUE(worker.start());
    ASSERT_EQ(reserve_when_idle(worker, 2), 2);
    EXPECT_EQ(worker.reserve(1), 0);  // both promised already
    worker.cancel(1);
    worker.give(add_claimed("c1", "ada@example.com"));
    ASSERT_TRUE(wait_for_state("c1", store::DeliveryState::sent));
    worker.stop();
    EXPECT_EQ(get("c1").attempts, 1);
    std::lock_guard lock(transport_.mutex_);
    ASSERT_EQ(transport_.sent.size(), 1u);
    EXPECT_EQ(transport_.sent[0].envelope.recipients, std::vector<std::string>{"ada@example.com"});
}

// With sending limits every delivery waits for the limiter as PENDING: nothing is reserved.
// After stop() nothing is either.
TEST_F(DeliveryWorkerTest, NoSenderIsReservedWithSendingLimitsOrAfterStop) {
    options_.threads = 2;
    {
        auto limited = options_;
        limited.rate_limits.per_second = 5;
        DeliveryWorker worker(*store_, transport_, clock_, limited);
        ASSERT_TRUE(worker.start());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        EXPECT_EQ(worker.reserve(1), 0);
    }
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    ASSERT_TRUE(worker.start());
    ASSERT_EQ(reserve_when_idle(worker, 1), 1);
    worker.cancel(1);
    worker.stop();
    EXPECT_EQ(worker.reserve(1), 0);
}

// Protects a stop between the commit and the send: a delivery given but never tried goes back
// to PENDING (not an "interrupted" attempt at the next start), and the next start sends it as
// its first attempt.
TEST_F(DeliveryWorkerTest, AGivenDeliveryNotSentBeforeStopIsPendingAgain) {
    options_.threads = 1;
    {
        DeliveryWorker worker(*store_, transport_, clock_, options_);
        ASSERT_TRUE(worker.start());
        ASSERT_EQ(reserve_when_idle(worker, 1), 1);
        worker.stop();
        worker.give(add_claimed("c1", "ada@example.com"));
        EXPECT_EQ(get("c1").state, store::DeliveryState::sending);
    }  // the destructor's stop() puts it back
    EXPECT_EQ(get("c1").state, store::DeliveryState::pending);
    EXPECT_EQ(get("c1").attempts, 0);
    {
        std::lock_guard lock(transport_.mutex_);
        EXPECT_TRUE(transport_.sent.empty());
    }
    DeliveryWorker worker(*store_, transport_, clock_, options_);
    ASSERT_TRUE(worker.start());
    EXPECT_EQ(worker.send_due(10).value(), 1);
    EXPECT_EQ(get("c1").state, store::DeliveryState::sent);
    EXPECT_EQ(get("c1").attempts, 1);
    EXPECT_EQ(store_->delivery_attempts(get("c1").id, 10).value().size(), 1u);
}

}  // namespace
}  // namespace hirestream::mail
