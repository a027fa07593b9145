// Writes the traceparent case table (tests/filters/trace/traceparent_cases.hh) and a few
// tracestate values as fuzz seeds for fuzz_traceparent.
#include <cstdio>
#include <fstream>
#include <string>

#include "../filters/trace/traceparent_cases.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    auto cases = sluice::test::trace::traceparent_cases();
    cases.push_back({"tracestate_two", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", {}});
    cases.push_back({"tracestate_tenant", "a@b=1 , ,c=2", {}});
    cases.push_back({"request_id", "f81d4fae-7dec-41d0-a765-00a0c91e6bf6", {}});
    int n = 0;
    for (const auto& c : cases) {
        std::ofstream f(std::string(argv[1]) + "/" + c.name, std::ios::binary);
        f << c.value;
        if (!f) {
            std::fprintf(stderr, "cannot write %s/%s\n", argv[1], c.name.c_str());
            return 1;
        }
        ++n;
    }
    std::printf("wrote %d seeds\n", n);
    return 0;
}
