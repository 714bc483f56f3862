#include "mail/assignment_message.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "common/ids.h"
#include "store/sqlite/sqlite_store.h"

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;

const std::string kZip("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);

class AssignmentMessageTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hs-message-" + random_hex(6));
        fs::create_directories(dir_);
        store_ = std::move(*store::SqliteStore::open({(dir_ / "db.sqlite").string()}, clock_));
        std::vector<AssignmentZip> declared;
        for (auto mode : {store::DeliveryMode::attach, store::DeliveryMode::link,
                          store::DeliveryMode::both}) {
            const std::string name(store::delivery_mode_text(mode));
            // As the service declares them: with the zip's digest.
            declared.push_back(
                {{name, "Title " + name, mode, 22, sha256_hex(kZip), "config"}, kZip});
        }
        catalog_ = std::make_unique<AssignmentCatalog>(*store_, declared,
                                                       std::vector<std::string>{"both"}, "both");
        auto templates = MessageTemplates::compile(
            {{"Coding Round", "mail.subject"},
             {"{{fullname}}|{{skills}}|{{experience}}|{{recruiterEmail}}|{{downloadUrl}}|"
              "{{downloadExpiresAt}}|{{downloadExpiresInDays}}|{{#attached}}att{{/attached}}",
              "mail.templates.text"},
             {}});
        builder_ = std::make_unique<AssignmentMessageBuilder>(
            SenderSettings{{"Hiring", "hiring@example.com"}, {}, "http://h"}, *templates,
            *catalog_, signer_, 7 * 86'400);
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    Message build(const std::string& assignment) {
        store::Delivery d;
        d.candidate_id = "c1";
        d.recipient = "ada@example.com";
        d.recipient_name = "Ada";
        d.assignment = assignment;
        store::Item item;
        item.set_string("skills", "java");
        item.set_string("recruiterEmail", "rec@example.com");
        auto m = builder_->build(d, &item, clock_.now_ms());
        if (!m) throw std::runtime_error(m.error().message);
        return *m;
    }

    fs::path dir_;
    ManualClock clock_{1'767'225'600'000};  // 2026-01-01T00:00:00Z
    LinkSigner signer_{"0123456789abcdef0123456789abcdef", clock_};
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<AssignmentCatalog> catalog_;
    std::unique_ptr<AssignmentMessageBuilder> builder_;
};

// `both`: a signed link that verifies for this candidate and assignment for 7 days, and the zip.
TEST_F(AssignmentMessageTest, BothCarriesAVerifiableLinkAndTheZip) {
    auto m = build("both");
    const auto url = m.text_body.substr(m.text_body.find("http://h/d/"));
    const auto token = url.substr(11, url.find('|') - 11);
    auto claims = signer_.verify(token);
    ASSERT_TRUE(claims) << token;
    EXPECT_EQ(claims->candidate_id, "c1");
    EXPECT_EQ(claims->assignment, "both");
    EXPECT_NE(m.text_body.find("|2026-01-08T00:00:00Z|7|att"), std::string::npos) << m.text_body;
    EXPECT_EQ(m.text_body.substr(0, 35), "Ada|java||rec@example.com|http://h/");
    ASSERT_EQ(m.attachments.size(), 1u);
    EXPECT_EQ(m.attachments[0].filename, "both.zip");
    EXPECT_EQ(m.attachments[0].bytes, kZip);
}

// Protects mail throughput without changing a byte: the zip's base64 body is encoded once and
// shared by later emails carrying it, and it is exactly what rendering would encode.
TEST_F(AssignmentMessageTest, TheZipIsEncodedOnceForEveryEmailCarryingIt) {
    auto first = build("both");
    auto second = build("both");
    ASSERT_EQ(first.attachments.size(), 1u);
    ASSERT_TRUE(first.attachments[0].encoded);
    EXPECT_EQ(first.attachments[0].encoded, second.attachments[0].encoded);
    EXPECT_EQ(*first.attachments[0].encoded, base64_body_lines(kZip));
    first.message_id = "c1.both@hirestream";
    auto with_shared = render_message(first);
    first.attachments[0].encoded.reset();
    auto encoded_here = render_message(first);
    ASSERT_TRUE(with_shared) << with_shared.error().message;
    ASSERT_TRUE(encoded_here) << encoded_here.error().message;
    EXPECT_EQ(with_shared->size(), encoded_here->size());
    EXPECT_NE(with_shared->find(base64_body_lines(kZip)), std::string::npos);
}

// `link` attaches nothing; `attach` carries no link and no expiry.
TEST_F(AssignmentMessageTest, DeliveryModeDecidesLinkAndAttachment) {
    auto link = build("link");
    EXPECT_TRUE(link.attachments.empty());
    EXPECT_NE(link.text_body.find("http://h/d/c1.link."), std::string::npos);
    EXPECT_EQ(link.text_body.find("att"), std::string::npos);
    auto attach = build("attach");
    EXPECT_EQ(attach.attachments.size(), 1u);
    EXPECT_EQ(attach.text_body, "Ada|java||rec@example.com||||att");
}

// An uploaded assignment is found in the store; one that is gone fails with not_found.
TEST_F(AssignmentMessageTest, UploadedAssignmentsComeFromTheStore) {
    ASSERT_TRUE(catalog_->upload("graphs", "Graphs", store::DeliveryMode::attach, kZip));
    EXPECT_EQ(build("graphs").attachments.at(0).filename, "graphs.zip");
    store::Delivery d;
    d.assignment = "gone";
    auto m = builder_->build(d, nullptr, clock_.now_ms());
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::not_found);
}

// The catalog keeps declared assignments read-only, refuses non-zips and bad names, and will not
// delete what a rule hands out.
TEST_F(AssignmentMessageTest, CatalogGuardsDeclaredRuledAndInvalidUploads) {
    auto shadow = catalog_->upload("link", "", store::DeliveryMode::both, kZip);
    ASSERT_FALSE(shadow);
    EXPECT_EQ(shadow.error().code, Errc::conflict);
    EXPECT_EQ(shadow.error().field, "assignments.link");
    auto not_zip = catalog_->upload("x", "", store::DeliveryMode::both, "hello");
    ASSERT_FALSE(not_zip);
    EXPECT_EQ(not_zip.error().field, "body");
    EXPECT_EQ(catalog_->upload("../x", "", store::DeliveryMode::both, kZip).error().field, "name");
    EXPECT_EQ(catalog_->remove("both").error().field, "assignments.both");
    EXPECT_EQ(catalog_->remove("nope").error().code, Errc::not_found);
    ASSERT_TRUE(catalog_->upload("x", "X", store::DeliveryMode::link, kZip).value());
    EXPECT_FALSE(catalog_->upload("x", "X2", store::DeliveryMode::link, kZip).value());
    auto list = catalog_->list().value();
    ASSERT_EQ(list.size(), 4u);
    EXPECT_EQ(list[3].name, "x");
    EXPECT_EQ(list[3].title, "X2");
    EXPECT_EQ(list[3].source, "upload");
    EXPECT_EQ(list[3].sha256, sha256_hex(kZip));
    EXPECT_TRUE(catalog_->remove("x"));
}

}  // namespace
}  // namespace hirestream::mail
