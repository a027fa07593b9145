// Writes the traceparent case table (tests/filters/trace/traceparent_cases.hh) and a few
// tracestate values as fuzz seeds for fuzz_traceparent.
// Usage: gen_traceparent_seeds DIR   (DIR is created if missing)
#include <string>

#include "../filters/trace/traceparent_cases.hh"
#include "seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    auto cases = sluice::test::trace::traceparent_cases();
    cases.push_back({"tracestate_two", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", {}});
    cases.push_back({"tracestate_tenant", "a@b=1 , ,c=2", {}});
    cases.push_back({"request_id", "f81d4fae-7dec-41d0-a765-00a0c91e6bf6", {}});
    bool ok = true;
    for (const auto& c : cases) {
        ok &= dir->write(c.name, c.value.data(), c.value.size());
    }
    return dir->finish(ok);
}
