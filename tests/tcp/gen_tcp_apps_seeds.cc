// Writes the seed corpus of fuzz_tcp_apps to DIR: HTTP heads (selector byte 0) and --app specs
// (selector byte 1) like the ones tcp_apps_test and the integration tests use.
// Usage: gen_tcp_apps_seeds DIR   (DIR is created if missing)
#include <string>
#include <utility>
#include <vector>

#include "../fuzz/seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    const std::vector<std::pair<const char*, std::string>> seeds = {
        {"head_put", std::string(1, '\0') +
                         "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"},
        {"head_continue", std::string(1, '\0') +
                              "POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
                              "Content-Length: 5\r\n\r\n"},
        {"head_chunked", std::string(1, '\0') +
                             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"},
        {"head_bad_length", std::string(1, '\0') + "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"},
        {"spec_echo", std::string(1, '\1') + "tcp-echo:5003"},
        {"spec_source", std::string(1, '\1') + "tcp-source:5001:4000000"},
        {"spec_client", std::string(1, '\1') + "tcp-client:198.18.0.1:5000:1000"},
        {"spec_http_source", std::string(1, '\1') + "tcp-http-source:8080:104857600"},
        {"spec_http_sink", std::string(1, '\1') + "tcp-http-sink:8081"},
    };
    bool ok = true;
    for (const auto& [name, bytes] : seeds) {
        ok &= dir->write(name, bytes.data(), bytes.size());
    }
    return dir->finish(ok);
}
