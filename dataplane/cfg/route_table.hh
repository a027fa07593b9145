// The compiled route table: which route (snapshot order, first match wins) a request takes.
// Built from a snapshot by the config builder thread (build() allocates and compiles regexes);
// then immutable, and matched by worker lcores with no allocation, lock of ours, syscall or
// exception. It owns copies of everything it needs: no pointers into the shared-memory snapshot.
//
// Index: routes are grouped by host condition (any host; each exact host; each "*.suffix"), and
// within a group by path condition: one hash entry per exact path, one per distinct prefix (looked
// up for every prefix length the group uses), one per binary command; routes with any/regex paths
// form a sorted "other" list. A lookup gathers the candidate lists of the request's groups (each
// sorted by route index) and, per list, tests candidates in order until one fully matches or the
// index passes the best found so far. The answer is the smallest matching route index, exactly as
// a linear first-match scan would give (tests/cfg/route_table_test.cc checks that against one).
// Hash entries only narrow: every candidate is verified, so a hash collision can cost time but
// never a wrong answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/model/snapshot_view.hh"
#include "dataplane/core/result.hh"

namespace sluice::dp::cfg {

inline constexpr std::uint32_t no_route = 0xffffffffu;

// What a request is matched on. Views must stay valid for the match() call only.
struct request_key {
    std::uint32_t listener = 0;  // listener index in the snapshot
    // Host as received (Host header or :authority). match() lower-cases it and strips a ":port"
    // (and one trailing dot); hosts longer than 255 bytes match only routes without a host.
    std::string_view host;
    std::string_view path;    // without the query string ("?..."); empty for binary frames
    std::string_view method;  // case-sensitive (RFC 9110 §9.1); empty for binary frames
    // Header lookup: returns the value of the header named `lower_name`, or a view with
    // data() == nullptr when absent. Must not allocate or throw. May be null: no headers.
    const void* hdr_ctx = nullptr;
    std::string_view (*header)(const void* ctx, std::string_view lower_name) noexcept = nullptr;
    const std::uint8_t* client_addr = nullptr;  // network order: 4 bytes (v4) or 16 (v6)
    std::uint8_t client_family = 0;             // 4 or 6; 0: unknown (matches no CIDR)
    std::int32_t command = -1;                  // binary frame command 0..255; -1: HTTP
};

class route_table {
public:
    route_table();
    route_table(route_table&&) noexcept;
    route_table& operator=(route_table&&) noexcept;
    ~route_table();

    // Config builder thread. Fails (with the route name and the RE2 error) if a regex does not
    // compile; the control plane validates with the same RE2 options, so this means a snapshot
    // from a mismatched control plane.
    [[nodiscard]] static result<route_table> build(const cp::model::snapshot_view& v);

    // Any lcore, concurrently (const). The index of the first route (snapshot order) whose match
    // holds, or no_route. No allocation; regex conditions run RE2, which may take RE2's internal
    // reader lock on its DFA cache: build one table per worker lcore if regex routes are hot.
    [[nodiscard]] std::uint32_t match(const request_key& k) const noexcept;

    // The reference semantics: tests every route in order (tests and debugging only).
    [[nodiscard]] std::uint32_t match_linear(const request_key& k) const noexcept;

    [[nodiscard]] std::size_t size() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::dp::cfg
