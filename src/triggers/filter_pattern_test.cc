#include "triggers/filter_pattern.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hirestream::triggers {
namespace {

namespace json = boost::json;

// A DynamoDB Streams record as Lambda sees it. new_image / old_image are the JSON text of the
// attribute maps ({"experience": {"N": "6"}}), or empty to leave the image out (INSERT has no
// OldImage, REMOVE has no NewImage).
json::value stream_record(std::string_view event_name, std::string_view new_image,
                          std::string_view old_image = {}) {
    std::string text = R"({"eventID": "f46f92dd4ba53e6e1912f5edeac68cf4", "eventName": ")";
    text += event_name;
    text += R"(", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "dynamodb": {"ApproximateCreationDateTime": 1487679933,
        "Keys": {"id": {"S": "afa663c0-f8c2-11e6-aac9-f7b645b39ebc"}},)";
    if (!new_image.empty()) {
        text += R"("NewImage": )";
        text += new_image;
        text += ",";
    }
    if (!old_image.empty()) {
        text += R"("OldImage": )";
        text += old_image;
        text += ",";
    }
    text += R"("SequenceNumber": "83000000000019946091137", "SizeBytes": 207,
        "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:)"
            R"(table/candidates-dev/stream/2017-02-21T12:05:33.650"})";
    return json::parse(text);
}

// An INSERT of a candidate with the given experience N string and optional extra attributes.
json::value candidate_insert(std::string_view experience, std::string_view extra = {}) {
    std::string image = R"({"id": {"S": "afa663c0"}, "email": {"S": "ada@example.com"},
        "fullname": {"S": "Ada Lovelace"}, "experience": {"N": ")";
    image += experience;
    image += R"("}})";
    if (!extra.empty()) {
        image.pop_back();
        image += ", ";
        image += extra;
        image += "}";
    }
    return stream_record("INSERT", image);
}

FilterCriteria criteria(const std::vector<std::string>& patterns) {
    auto parsed = FilterCriteria::parse(patterns);
    if (!parsed) {
        ADD_FAILURE() << parsed.error().field << ": " << parsed.error().message;
        return FilterCriteria::parse({}).value();
    }
    return std::move(*parsed);
}

// A pattern on the candidate's experience N value.
std::string experience_pattern(std::string_view matchers) {
    return std::string(R"({"dynamodb": {"NewImage": {"experience": {"N": )") +
           std::string(matchers) + "}}}}";
}

// A pattern on the candidate's email S value.
std::string email_pattern(std::string_view matchers) {
    return std::string(R"({"dynamodb": {"NewImage": {"email": {"S": )") + std::string(matchers) +
           "}}}}";
}

void expect_rejected(const std::vector<std::string>& patterns, std::string_view field,
                     std::string_view message_part) {
    auto parsed = FilterCriteria::parse(patterns);
    ASSERT_FALSE(parsed.has_value()) << "accepted: " << patterns.back();
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument);
    EXPECT_EQ(parsed.error().field, field);
    EXPECT_NE(parsed.error().message.find(message_part), std::string::npos)
        << "message: " << parsed.error().message;
}

// ---- What the seed needs ----

TEST(FilterCriteria, EventNameInsertPatternKeepsInsertsAndDropsModifyAndRemove) {
    // Protects the seed's filter: only INSERTs reach the mailer, build_status MODIFYs do not.
    auto f = criteria({R"({"eventName": ["INSERT"]})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("MODIFY", R"({"build_status": {"S": "done"}})",
                                         R"({"id": {"S": "afa663c0"}})")));
    EXPECT_FALSE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "afa663c0"}})")));
}

TEST(FilterCriteria, EmptyCriteriaPassesEveryRecord) {
    // Protects the default: a mapping without FilterCriteria drops nothing.
    auto f = criteria({});
    EXPECT_TRUE(f.empty());
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_TRUE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "x"}})")));
    EXPECT_TRUE(f.matches(json::value(nullptr)));
}

// ---- Equality ----

TEST(FilterCriteria, StringMatcherIsExactAndCaseSensitive) {
    // Protects plain-value equality: no prefix or case-insensitive match sneaks in.
    auto f = criteria({R"({"dynamodb": {"NewImage": {"email": {"S": ["ada@example.com"]}}}})"});
    EXPECT_FALSE(f.empty());
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"S": "Ada@example.com"}})")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"S": "ada@example.com.au"}})")));
}

TEST(FilterCriteria, EmptyStringMatcherMatchesOnlyTheEmptyString) {
    // Protects AWS's "empty" rule: "" matches an empty value, not a missing or non-empty one.
    auto f = criteria({R"({"dynamodb": {"NewImage": {"skills": {"S": [""]}}}})"});
    EXPECT_TRUE(f.matches(candidate_insert("6", R"("skills": {"S": ""})")));
    EXPECT_FALSE(f.matches(candidate_insert("6", R"("skills": {"S": "go"})")));
    EXPECT_FALSE(f.matches(candidate_insert("6")));
}

TEST(FilterCriteria, BooleanAndNullMatchersCompareByJsonType) {
    // Protects typed equality: true matches only true (not "true"), null only JSON null.
    auto evaluated = criteria({R"({"dynamodb": {"NewImage": {"evaluated": {"BOOL": [false]}}}})"});
    EXPECT_TRUE(evaluated.matches(candidate_insert("6", R"("evaluated": {"BOOL": false})")));
    EXPECT_FALSE(evaluated.matches(candidate_insert("6", R"("evaluated": {"BOOL": true})")));
    EXPECT_FALSE(evaluated.matches(candidate_insert("6", R"("evaluated": {"S": "false"})")));

    auto null = criteria({R"({"dynamodb": {"NewImage": {"note": [null]}}})"});
    EXPECT_TRUE(null.matches(candidate_insert("6", R"("note": null)")));
    EXPECT_FALSE(null.matches(candidate_insert("6", R"("note": {"NULL": true})")));
    EXPECT_FALSE(null.matches(candidate_insert("6")));
}

TEST(FilterCriteria, NumberMatcherComparesNumbersAndNStringsNumerically) {
    // Protects numeric equality: 5 matches 5.0, "5", "5.0" and "5e0"; not "5.01" or "five".
    auto f = criteria({experience_pattern("[5]")});
    EXPECT_TRUE(f.matches(candidate_insert("5")));
    EXPECT_TRUE(f.matches(candidate_insert("5.0")));
    EXPECT_TRUE(f.matches(candidate_insert("5e0")));
    EXPECT_FALSE(f.matches(candidate_insert("5.01")));
    EXPECT_FALSE(f.matches(candidate_insert("five")));

    auto size = criteria({R"({"dynamodb": {"SizeBytes": [207.0]}})"});
    EXPECT_TRUE(size.matches(candidate_insert("5")));
}

TEST(FilterCriteria, StringMatcherDoesNotCompareNumerically) {
    // Protects the direction of the N-string rule: a string matcher stays a string match.
    auto f = criteria({experience_pattern(R"(["5"])")});
    EXPECT_TRUE(f.matches(candidate_insert("5")));
    EXPECT_FALSE(f.matches(candidate_insert("5.0")));
}

// ---- String operators ----

TEST(FilterCriteria, PrefixMatchesTheStartOfAStringOnly) {
    // Protects {"prefix"}: begins-with, case-sensitive, never on non-strings.
    auto f = criteria({R"({"dynamodb": {"NewImage": {"email": {"S": [{"prefix": "ada@"}]}}}})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"S": "ADA@example.com"}})")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"S": "bob.ada@example.com"}})")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"N": "4"}})")));
}

TEST(FilterCriteria, SuffixMatchesTheEndOfAStringOnly) {
    // Protects {"suffix"}: ends-with on the record's string.
    auto f =
        criteria({R"({"dynamodb": {"NewImage": {"email": {"S": [{"suffix": "@example.com"}]}}}})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("INSERT", R"({"email": {"S": "ada@example.com.au"}})")));
}

TEST(FilterCriteria, EqualsIgnoreCaseIgnoresAsciiCaseButNotContent) {
    // Protects {"equals-ignore-case"}: whole-value match with case folded.
    auto f = criteria({R"({"eventName": [{"equals-ignore-case": "insert"}]})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("INSERTED", R"({"id": {"S": "x"}})")));
    EXPECT_FALSE(f.matches(stream_record("MODIFY", R"({"id": {"S": "x"}})")));
}

// ---- anything-but ----

TEST(FilterCriteria, AnythingButListExcludesListedValuesAndNeedsTheKey) {
    // Protects {"anything-but": [...]}: listed values fail, others pass, a missing key fails.
    auto f = criteria({R"({"eventName": [{"anything-but": ["MODIFY", "REMOVE"]}]})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(f.matches(stream_record("MODIFY", R"({"id": {"S": "x"}})")));
    EXPECT_FALSE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "x"}})")));

    auto skills =
        criteria({R"({"dynamodb": {"NewImage": {"skills": {"S": [{"anything-but": "none"}]}}}})"});
    EXPECT_TRUE(skills.matches(candidate_insert("6", R"("skills": {"S": "go"})")));
    EXPECT_FALSE(skills.matches(candidate_insert("6", R"("skills": {"S": "none"})")));
    EXPECT_FALSE(skills.matches(candidate_insert("6")));  // no skills attribute at all
}

TEST(FilterCriteria, AnythingButNumberComparesNStringsNumerically) {
    // Protects anything-but with numbers on DynamoDB N strings: "0.0" is excluded by 0.
    auto f = criteria({experience_pattern(R"([{"anything-but": [0]}])")});
    EXPECT_TRUE(f.matches(candidate_insert("3")));
    EXPECT_FALSE(f.matches(candidate_insert("0")));
    EXPECT_FALSE(f.matches(candidate_insert("0.0")));
}

TEST(FilterCriteria, AnythingButPrefixAndSuffixExcludeMatchingStrings) {
    // Protects {"anything-but": {"prefix"}} and {"suffix"}: e.g. skip test accounts.
    auto prefix = criteria({email_pattern(R"([{"anything-but": {"prefix": "test-"}}])")});
    EXPECT_TRUE(prefix.matches(candidate_insert("6")));
    EXPECT_FALSE(
        prefix.matches(stream_record("INSERT", R"({"email": {"S": "test-1@example.com"}})")));

    auto suffix = criteria({email_pattern(R"([{"anything-but": {"suffix": ".invalid"}}])")});
    EXPECT_TRUE(suffix.matches(candidate_insert("6")));
    EXPECT_FALSE(suffix.matches(stream_record("INSERT", R"({"email": {"S": "x@y.invalid"}})")));
    EXPECT_FALSE(suffix.matches(stream_record("INSERT", R"({"fullname": {"S": "No Email"}})")));
}

// ---- numeric ----

TEST(FilterCriteria, NumericRangeOnNStringsHonoursOpenLowerAndClosedUpperBound) {
    // Protects the seed's assignment2 band (5 < exp <= 8) expressed as a filter on N strings.
    auto f = criteria({experience_pattern(R"([{"numeric": [">", 5, "<=", 8]}])")});
    EXPECT_FALSE(f.matches(candidate_insert("5")));
    EXPECT_TRUE(f.matches(candidate_insert("5.01")));
    EXPECT_TRUE(f.matches(candidate_insert("8")));
    EXPECT_FALSE(f.matches(candidate_insert("8.01")));
    EXPECT_FALSE(f.matches(candidate_insert("abc")));
    EXPECT_FALSE(f.matches(candidate_insert("")));
    EXPECT_FALSE(f.matches(candidate_insert("nan")));
}

TEST(FilterCriteria, NumericSingleComparisonsAndEqualsWork) {
    // Protects one-sided bounds and "=" (which AWS's CDK emits for isEqual(number)).
    auto positive = criteria({experience_pattern(R"([{"numeric": [">", 0]}])")});
    EXPECT_TRUE(positive.matches(candidate_insert("0.5")));
    EXPECT_FALSE(positive.matches(candidate_insert("0")));
    EXPECT_FALSE(positive.matches(candidate_insert("-1")));

    auto at_most = criteria({experience_pattern(R"([{"numeric": ["<=", 5]}])")});
    EXPECT_TRUE(at_most.matches(candidate_insert("5")));
    EXPECT_FALSE(at_most.matches(candidate_insert("5.5")));

    auto three = criteria({experience_pattern(R"([{"numeric": ["=", 3]}])")});
    EXPECT_TRUE(three.matches(candidate_insert("3.0")));
    EXPECT_FALSE(three.matches(candidate_insert("3.1")));
}

TEST(FilterCriteria, NumericMatchesJsonNumbersInTheRecord) {
    // Protects numeric matching on real JSON numbers, e.g. ApproximateCreationDateTime.
    auto f = criteria(
        {R"({"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">=", 1487679933]}]}})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    auto later = criteria(
        {R"({"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 1487679933]}]}})"});
    EXPECT_FALSE(later.matches(candidate_insert("6")));
}

// ---- exists ----

TEST(FilterCriteria, ExistsTrueMatchesWhenRecruiterEmailIsPresent) {
    // Protects {"exists": true} on the attribute node and on its leaf (AWS's documented form).
    auto node = criteria({R"({"dynamodb": {"NewImage": {"recruiterEmail": [{"exists": true}]}}})"});
    auto leaf =
        criteria({R"({"dynamodb": {"NewImage": {"recruiterEmail": {"S": [{"exists": true}]}}}})"});
    auto with = candidate_insert("6", R"("recruiterEmail": {"S": "rita@example.com"})");
    auto without = candidate_insert("6");
    EXPECT_TRUE(node.matches(with));
    EXPECT_TRUE(leaf.matches(with));
    EXPECT_FALSE(node.matches(without));
    EXPECT_FALSE(leaf.matches(without));
}

TEST(FilterCriteria, ExistsFalseMatchesWhenRecruiterEmailOrItsImageIsMissing) {
    // Protects {"exists": false}: absent attribute, and absent NewImage (REMOVE), both pass.
    auto f =
        criteria({R"({"dynamodb": {"NewImage": {"recruiterEmail": {"S": [{"exists": false}]}}}})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_FALSE(
        f.matches(candidate_insert("6", R"("recruiterEmail": {"S": "rita@example.com"})")));
    EXPECT_TRUE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "x"}})")));
}

TEST(FilterCriteria, MissingKeyFailsEveryMatcherExceptExistsFalse) {
    // Protects missing-key semantics across all operators on the same absent attribute.
    auto record = candidate_insert("6");
    for (const char* matcher : {R"("x")", R"("")", R"(null)", R"(0)", R"({"prefix": ""})",
                                R"({"suffix": ""})", R"({"equals-ignore-case": "x"})",
                                R"({"anything-but": "x"})", R"({"anything-but": {"prefix": "x"}})",
                                R"({"numeric": [">=", 0]})", R"({"exists": true})"}) {
        auto f = criteria(
            {std::string(R"({"dynamodb": {"NewImage": {"missing": [)") + matcher + "]}}}"});
        EXPECT_FALSE(f.matches(record)) << matcher;
    }
    auto absent = criteria({R"({"dynamodb": {"NewImage": {"missing": [{"exists": false}]}}})"});
    EXPECT_TRUE(absent.matches(record));
}

// ---- arrays, AND, OR ----

TEST(FilterCriteria, ArrayValueMatchesWhenAnyElementMatches) {
    // Protects EventBridge array semantics on string sets and on lists of maps.
    auto set = criteria({R"({"dynamodb": {"NewImage": {"skills": {"SS": ["c++"]}}}})"});
    EXPECT_TRUE(set.matches(candidate_insert("6", R"("skills": {"SS": ["go", "c++"]})")));
    EXPECT_FALSE(set.matches(candidate_insert("6", R"("skills": {"SS": ["go", "rust"]})")));
    EXPECT_FALSE(set.matches(candidate_insert("6", R"("skills": {"SS": []})")));

    auto list =
        criteria({R"({"dynamodb": {"NewImage": {"skills": {"L": {"S": [{"prefix": "c"}]}}}}})"});
    EXPECT_TRUE(
        list.matches(candidate_insert("6", R"("skills": {"L": [{"S": "go"}, {"S": "c++"}]})")));
    EXPECT_FALSE(list.matches(candidate_insert("6", R"("skills": {"L": [{"S": "go"}]})")));
}

TEST(FilterCriteria, KeysWithinAPatternAreAnded) {
    // Protects AND across keys: INSERTs with enough experience, not one without the other.
    auto f = criteria({R"({"eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"experience": {"N": [{"numeric": [">", 8]}]}}}})"});
    EXPECT_TRUE(f.matches(candidate_insert("9")));
    EXPECT_FALSE(f.matches(candidate_insert("8")));
    EXPECT_FALSE(f.matches(stream_record("MODIFY", R"({"experience": {"N": "9"}})")));
}

TEST(FilterCriteria, ValuesInALeafAreOred) {
    // Protects OR within one matcher list.
    auto f = criteria({R"({"eventName": ["INSERT", "MODIFY"]})"});
    EXPECT_TRUE(f.matches(candidate_insert("6")));
    EXPECT_TRUE(f.matches(stream_record("MODIFY", R"({"id": {"S": "x"}})")));
    EXPECT_FALSE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "x"}})")));
}

TEST(FilterCriteria, RecordPassesWhenAnyPatternMatches) {
    // Protects OR across patterns: juniors or removals pass, seniors' inserts do not.
    auto f = criteria({experience_pattern(R"([{"numeric": [">", 0, "<=", 5]}])"),
                       R"({"eventName": ["REMOVE"]})"});
    EXPECT_TRUE(f.matches(candidate_insert("2")));
    EXPECT_TRUE(f.matches(stream_record("REMOVE", {}, R"({"id": {"S": "x"}})")));
    EXPECT_FALSE(f.matches(candidate_insert("12")));
}

// ---- invalid patterns ----

TEST(FilterCriteria, RejectsPatternTextThatIsNotAJsonObject) {
    // Protects parse errors: bad JSON, non-object JSON, and which pattern was wrong.
    expect_rejected({R"({"eventName": ["INSERT"]})", R"({"eventName": [)"}, "filterPatterns[1]",
                    "not valid JSON");
    expect_rejected({""}, "filterPatterns[0]", "not valid JSON");
    expect_rejected({R"(["INSERT"])"}, "filterPatterns[0]", "must be a JSON object");
    expect_rejected({R"({})"}, "filterPatterns[0]", "empty");
}

TEST(FilterCriteria, RejectsLeafThatIsNotANonEmptyArrayAndNamesTheKeyPath) {
    // Protects the commonest mistake, {"eventName": "INSERT"}, and the path in the message.
    expect_rejected({R"({"eventName": "INSERT"})"}, "filterPatterns[0]",
                    R"(at "eventName": a value must be an array)");
    expect_rejected({R"({"dynamodb": {"NewImage": {"experience": {"N": []}}}})"},
                    "filterPatterns[0]", R"(at "dynamodb.NewImage.experience.N": the list)");
    expect_rejected({R"({"eventName": [["INSERT"]]})"}, "filterPatterns[0]", "another array");
}

TEST(FilterCriteria, RejectsPatternsNestedDeeperThanTenLevels) {
    // Protects the depth bound: ten object levels parse, eleven do not.
    auto nested = [](int levels) {
        std::string text;
        for (int i = 0; i < levels; ++i) text += R"({"a": )";
        text += R"(["x"])";
        for (int i = 0; i < levels; ++i) text += "}";
        return text;
    };
    EXPECT_TRUE(FilterCriteria::parse({nested(10)}).has_value()) << nested(10);
    expect_rejected({nested(11)}, "filterPatterns[0]", "deeper than 10");
}

TEST(FilterCriteria, RejectsUnknownAndMultiKeyOperatorObjects) {
    // Protects operator validation: typos and combined operators are errors, not no-ops.
    expect_rejected({R"({"eventName": [{"prefx": "IN"}]})"}, "filterPatterns[0]",
                    R"(unknown operator "prefx")");
    expect_rejected({R"({"eventName": [{"prefix": "IN", "suffix": "RT"}]})"}, "filterPatterns[0]",
                    "exactly one operator");
    expect_rejected({R"({"eventName": [{}]})"}, "filterPatterns[0]", "exactly one operator");
    expect_rejected({R"({"$or": [{"eventName": ["INSERT"]}, {"eventName": ["MODIFY"]}]})"},
                    "filterPatterns[0]", "not supported");
}

TEST(FilterCriteria, RejectsMalformedNumeric) {
    // Protects numeric validation: unknown ops, bound order, empty ranges, non-numbers, arity.
    const char* bad[] = {
        R"({"numeric": ["!=", 5]})",
        R"({"numeric": ["<", 8, ">", 5]})",
        R"({"numeric": [">", 8, "<", 5]})",
        R"({"numeric": [">", 5, "<", 5]})",
        R"({"numeric": [">", "5"]})",
        R"({"numeric": [">", 5, "<="]})",
        R"({"numeric": []})",
        R"({"numeric": ">5"})",
        R"({"numeric": ["=", 5, "<", 8]})",
        R"({"numeric": [">", 1, ">", 2]})",
        R"({"numeric": [5, ">"]})",
    };
    for (const char* matcher : bad) {
        SCOPED_TRACE(matcher);
        expect_rejected(
            {R"({"eventName": ["INSERT"]})", experience_pattern(std::string("[") + matcher + "]")},
            "filterPatterns[1]", "numeric");
    }
}

TEST(FilterCriteria, RejectsNonStringStringOperatorsAndNonBoolExists) {
    // Protects operand types: prefix/suffix/equals-ignore-case need strings, exists a bool.
    expect_rejected({R"({"eventName": [{"prefix": 5}]})"}, "filterPatterns[0]",
                    R"("prefix" must be a string)");
    expect_rejected({R"({"eventName": [{"suffix": ["T"]}]})"}, "filterPatterns[0]",
                    R"("suffix" must be a string)");
    expect_rejected({R"({"eventName": [{"equals-ignore-case": null}]})"}, "filterPatterns[0]",
                    "must be a string");
    expect_rejected({R"({"eventName": [{"exists": "true"}]})"}, "filterPatterns[0]",
                    R"("exists" must be true or false)");
}

TEST(FilterCriteria, RejectsMalformedAnythingBut) {
    // Protects anything-but operands: non-empty list of strings/numbers, or prefix/suffix.
    expect_rejected({R"({"eventName": [{"anything-but": []}]})"}, "filterPatterns[0]",
                    "list is empty");
    expect_rejected({R"({"eventName": [{"anything-but": [true]}]})"}, "filterPatterns[0]",
                    "strings or numbers");
    expect_rejected({R"({"eventName": [{"anything-but": {"wildcard": "*"}}]})"},
                    "filterPatterns[0]", "anything-but");
    expect_rejected({R"({"eventName": [{"anything-but": {"prefix": 1}}]})"}, "filterPatterns[0]",
                    "must be a string");
}

TEST(FilterCriteria, AcceptsFivePatternsAndRejectsASixth) {
    // Protects AWS's limit of 5 filters per event-source mapping.
    std::vector<std::string> five(5, R"({"eventName": ["INSERT"]})");
    EXPECT_TRUE(FilterCriteria::parse(five).has_value());
    auto six = five;
    six.push_back(R"({"eventName": ["MODIFY"]})");
    expect_rejected(six, "filterPatterns[5]", "at most 5");
}

TEST(FilterCriteria, RejectsPatternLongerThanAwsLimit) {
    // Protects the 4096-character bound on one pattern (Lambda API Filter.Pattern).
    std::string long_value(4100, 'x');
    expect_rejected({R"({"eventName": [")" + long_value + R"("]})"}, "filterPatterns[0]",
                    "at most 4096");
}

}  // namespace
}  // namespace hirestream::triggers
