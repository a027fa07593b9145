// Differential test: the whole case table through Sluice and through libhttp-parser 2.9. Both
// must accept or refuse alike and, when both accept, agree on method, URL, header count and body
// bytes — except where a case says the reference differs and why (http_cases.cc). A disagreement
// without an explanation, or an explanation for a case where they agree, fails.
#include <gtest/gtest.h>

#include "http_cases.hh"
#include "http_driver.hh"
#include "reference.hh"

namespace sluice::test::http {

void PrintTo(const request_case& c, std::ostream* os) { *os << c.name; }
void PrintTo(const response_case& c, std::ostream* os) { *os << c.name; }

namespace {

class differential_request : public ::testing::TestWithParam<request_case> {};

TEST_P(differential_request, agrees_with_reference_or_explains_why) {
    const request_case& c = GetParam();
    if (c.reference == ref::not_compared) {
        GTEST_SKIP() << c.why;
    }
    h::request_parser p;
    h::body_reader b;
    const outcome o = drive(p, b, c.raw, {});
    const ref_result r = run_reference(c.raw);
    SCOPED_TRACE("reference: " + std::string(http_errno_name(r.err)));
    if (o.complete && r.complete) {
        EXPECT_EQ(c.reference, ref::same) << "both accept; drop the annotation: " << c.why;
        EXPECT_EQ(h::view_of(c.raw.data(), p.head().method_tok), r.method);
        EXPECT_EQ(h::view_of(c.raw.data(), p.head().target), r.url);
        EXPECT_EQ(p.head().header_count, r.headers);
        EXPECT_EQ(o.payload, r.body);
    } else if (!o.complete && !r.complete) {
        EXPECT_EQ(c.reference, ref::same) << "both refuse; drop the annotation: " << c.why;
    } else if (!o.complete) {
        EXPECT_EQ(c.reference, ref::accepts)
            << "Sluice refuses (" << h::to_string(o.err) << "), the reference accepts";
        EXPECT_FALSE(c.why.empty());
    } else {
        EXPECT_EQ(c.reference, ref::rejects) << "Sluice accepts, the reference refuses";
        EXPECT_FALSE(c.why.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(cases, differential_request, ::testing::ValuesIn(request_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

class differential_response : public ::testing::TestWithParam<response_case> {};

TEST_P(differential_response, agrees_with_reference_or_explains_why) {
    const response_case& c = GetParam();
    h::response_parser p;
    p.reset(c.request_was_head);
    h::body_reader b;
    const outcome o = drive(p, b, c.raw, {});
    const ref_result r = run_reference(c.raw, true, c.request_was_head);
    SCOPED_TRACE("reference: " + std::string(http_errno_name(r.err)));
    if (o.complete && r.complete) {
        EXPECT_EQ(c.reference, ref::same) << "both accept; drop the annotation: " << c.why;
        EXPECT_EQ(p.head().status, r.status);
        EXPECT_EQ(p.head().header_count, r.headers);
        EXPECT_EQ(o.payload, r.body);
    } else if (o.complete == r.complete) {
        EXPECT_EQ(c.reference, ref::same) << "both refuse; drop the annotation: " << c.why;
    } else {
        EXPECT_EQ(c.reference, o.complete ? ref::rejects : ref::accepts)
            << "Sluice " << (o.complete ? "accepts" : "refuses: ") << h::to_string(o.err);
        EXPECT_FALSE(c.why.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(cases, differential_response, ::testing::ValuesIn(response_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

}  // namespace
}  // namespace sluice::test::http
