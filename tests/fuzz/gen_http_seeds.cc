// Seeds for fuzz_http_request and fuzz_http_response: every raw message of the HTTP case table
// (tests/proxy/http/http_cases.hh). Response seeds carry the HEAD flag byte in front.
// Usage: gen_http_seeds DIR   (DIR is created if missing)
#include <string>

#include "../proxy/http/http_cases.hh"
#include "seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    bool ok = true;
    for (const auto& c : sluice::test::http::request_cases()) {
        ok &= dir->write("req_" + std::string(c.name), c.raw.data(), c.raw.size());
    }
    for (const auto& c : sluice::test::http::response_cases()) {
        const std::string seed = std::string(1, c.request_was_head ? '\1' : '\0') + c.raw;
        ok &= dir->write("resp_" + std::string(c.name), seed.data(), seed.size());
    }
    return dir->finish(ok);
}
