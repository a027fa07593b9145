// Writes the seed corpus of fuzz_tcp_apps to DIR: HTTP heads (selector byte 0) and --app specs
// (selector byte 1) like the ones tcp_apps_test and the integration tests use.
// Usage: gen_tcp_apps_seeds DIR   (DIR is created if missing)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::fprintf(stderr, "gen_tcp_apps_seeds: cannot create %s: %s\n", dir.c_str(),
                     ec.message().c_str());
        return 1;
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
    for (const auto& [name, bytes] : seeds) {
        std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "gen_tcp_apps_seeds: cannot write %s/%s\n", dir.c_str(), name);
            return 1;
        }
    }
    std::printf("gen_tcp_apps_seeds: %zu seeds in %s\n", seeds.size(), dir.c_str());
    return 0;
}
