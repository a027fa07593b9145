// Seeds for fuzz_http_request and fuzz_http_response: every raw message of the HTTP case table
// (tests/proxy/http/http_cases.hh). Response seeds carry the HEAD flag byte in front.
#include <cstdio>
#include <fstream>
#include <string>

#include "../proxy/http/http_cases.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    auto write = [&](const std::string& name, const std::string& bytes) {
        std::ofstream f(std::string(argv[1]) + "/" + name, std::ios::binary);
        f << bytes;
        return static_cast<bool>(f);
    };
    for (const auto& c : sluice::test::http::request_cases()) {
        if (!write("req_" + std::string(c.name), c.raw)) {
            return 1;
        }
    }
    for (const auto& c : sluice::test::http::response_cases()) {
        if (!write("resp_" + std::string(c.name), std::string(1, c.request_was_head ? '\1' : '\0') + c.raw)) {
            return 1;
        }
    }
    return 0;
}
