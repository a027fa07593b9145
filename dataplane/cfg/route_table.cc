// Route table build (config builder thread) and match (worker lcores). See route_table.hh for
// the index; the invariant everything rests on: each candidate list is sorted by route index and
// every candidate is fully verified by full_match(), so the smallest verified index over all
// lists is the first match in snapshot order.
#include "dataplane/cfg/route_table.hh"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <bitset>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/model/regex.hh"
#include "dataplane/cfg/route_index.hh"

namespace sluice::dp::cfg {
namespace {

namespace model = cp::model;

// Longest host we look up (RFC 1035 §2.3.4: 253 for a name; the buffer adds slack).
constexpr std::size_t max_host = 255;

using namespace detail;  // NOLINT: the index primitives are this file's vocabulary

struct header_cond {
    std::string name;  // lower case
    std::string value;
    model::header_op op;
    std::unique_ptr<RE2> re;
};

struct cidr {
    std::uint8_t bytes[16];
    std::uint8_t family;
    std::uint8_t prefix_len;
};

// What full_match reads first, in one cache line; the strings sit next to each other in the
// table's arena (a second line), so a verified hit costs about three cache lines: hash slot,
// route, strings.
struct alignas(64) route {
    const char* strs;        // host (exact, or ".suffix"), then path, then method, in the arena
    const RE2* path_re;      // path_kind regex
    std::uint32_t listener;  // cp::model::no_index: any
    std::int32_t command;    // -1: any
    std::uint32_t path_len;
    std::uint16_t host_len;
    std::uint8_t method_len;
    model::host_match host_kind;
    model::path_match path_kind;
    std::uint32_t hdr_first, hdr_count;
    std::uint32_t cidr_first, cidr_count;

    [[nodiscard]] std::string_view host_sv() const noexcept { return {strs, host_len}; }
    [[nodiscard]] std::string_view path_sv() const noexcept { return {strs + host_len, path_len}; }
    [[nodiscard]] std::string_view method_sv() const noexcept {
        return {strs + host_len + path_len, method_len};
    }
};
static_assert(sizeof(route) == 64);

struct range {
    std::uint32_t first;
    std::uint32_t count;
};

struct group {
    std::vector<std::uint32_t> prefix_lens;  // distinct, ascending
    bool has_exact = false;
    bool has_command = false;
    range other{0, 0};  // routes with any or regex paths (and no command), ascending
};

bool in_cidr(const cidr& c, const std::uint8_t* a, std::uint8_t family) noexcept {
    if (family != c.family) {
        return false;
    }
    std::size_t whole = c.prefix_len / 8;
    if (std::memcmp(a, c.bytes, whole) != 0) {
        return false;
    }
    if (unsigned bits = c.prefix_len % 8; bits != 0) {
        auto mask = static_cast<std::uint8_t>(0xff00u >> bits);
        return ((a[whole] ^ c.bytes[whole]) & mask) == 0;
    }
    return true;
}

}  // namespace

struct route_table::impl {
    huge_vector<route> routes;
    huge_vector<char> arena;  // every route's host, path and method; never changes after build
    std::vector<std::unique_ptr<RE2>> path_res;
    std::vector<header_cond> headers;
    std::vector<cidr> cidrs;
    std::vector<group> groups;        // [0]: routes without a host condition
    huge_vector<std::uint32_t> pool;  // candidate lists of more than one route
    // make_key(group, path kind, hash) → aux = candidate count; val = the route if aux == 1,
    // else the first candidate's position in pool.
    u64_map paths;
    u64_map hosts;  // make_key(0, exact_host|suffix, hash) → groups index
    std::bitset<max_host + 1> suffix_lens;
    bool any_suffix = false;

    // k.host already normalised into `host`.
    [[nodiscard]] bool full_match(const route& r, const request_key& k,
                                  std::string_view host) const noexcept;
    void scan(range l, const request_key& k, std::string_view host,
              std::uint32_t& best) const noexcept {
        const std::uint32_t* p = pool.data() + l.first;
        for (std::uint32_t i = 0; i < l.count && p[i] < best; ++i) {
            if (full_match(routes[p[i]], k, host)) {
                best = p[i];
                return;
            }
        }
    }
    void scan_key(std::uint64_t key, const request_key& k, std::string_view host,
                  std::uint32_t& best) const noexcept {
        const map_slot* e = paths.find(key);
        if (e == nullptr) {
            return;
        }
        if (e->aux == 1) {
            if (e->val < best && full_match(routes[e->val], k, host)) {
                best = e->val;
            }
        } else {
            scan(range{e->val, e->aux}, k, host, best);
        }
    }
    void match_group(std::uint32_t gid, const request_key& k, std::string_view host,
                     std::uint32_t& best) const noexcept;
};

bool route_table::impl::full_match(const route& r, const request_key& k,
                                   std::string_view host) const noexcept {
    if (r.listener != model::no_index && r.listener != k.listener) {
        return false;
    }
    if (r.command >= 0 && r.command != k.command) {
        return false;
    }
    switch (r.host_kind) {
        case model::host_match::any:
            break;
        case model::host_match::exact:
            if (host != r.host_sv()) {
                return false;
            }
            break;
        case model::host_match::suffix:  // "*.example.com": at least one label before the suffix
            if (host.size() <= r.host_len || !host.ends_with(r.host_sv())) {
                return false;
            }
            break;
    }
    switch (r.path_kind) {
        case model::path_match::any:
            break;
        case model::path_match::exact:
            if (k.path != r.path_sv()) {
                return false;
            }
            break;
        case model::path_match::prefix:
            if (!k.path.starts_with(r.path_sv())) {
                return false;
            }
            break;
        case model::path_match::regex:
            if (!RE2::PartialMatch(re2::StringPiece(k.path.data(), k.path.size()), *r.path_re)) {
                return false;
            }
            break;
    }
    if (r.method_len != 0 && k.method != r.method_sv()) {
        return false;
    }
    for (std::uint32_t i = 0; i < r.hdr_count; ++i) {
        const header_cond& h = headers[r.hdr_first + i];
        std::string_view v = k.header != nullptr ? k.header(k.hdr_ctx, h.name) : std::string_view{};
        if (v.data() == nullptr) {
            return false;
        }
        switch (h.op) {
            case model::header_op::present:
                break;
            case model::header_op::exact:
                if (v != h.value) {
                    return false;
                }
                break;
            case model::header_op::prefix:
                if (!v.starts_with(h.value)) {
                    return false;
                }
                break;
            case model::header_op::regex:
                if (!RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *h.re)) {
                    return false;
                }
                break;
        }
    }
    if (r.cidr_count != 0) {
        if (k.client_addr == nullptr) {
            return false;
        }
        bool in = false;
        for (std::uint32_t i = 0; i < r.cidr_count && !in; ++i) {
            in = in_cidr(cidrs[r.cidr_first + i], k.client_addr, k.client_family);
        }
        if (!in) {
            return false;
        }
    }
    return true;
}

void route_table::impl::match_group(std::uint32_t gid, const request_key& k, std::string_view host,
                                    std::uint32_t& best) const noexcept {
    const group& g = groups[gid];
    if (g.prefix_lens.empty() && !g.has_exact && !g.has_command && g.other.count == 0) {
        return;  // e.g. "any host" when every route names a host
    }
    if (k.command >= 0 && g.has_command) {
        scan_key(make_key(gid, key_kind::command, static_cast<std::uint64_t>(k.command)), k, host,
                 best);
    }
    prefix_hasher hs(k.path);
    for (std::uint32_t len : g.prefix_lens) {
        if (len > k.path.size()) {
            break;
        }
        scan_key(make_key(gid, key_kind::prefix_path, hs.at(len)), k, host, best);
    }
    if (g.has_exact) {
        scan_key(make_key(gid, key_kind::exact_path, hs.at(k.path.size())), k, host, best);
    }
    scan(g.other, k, host, best);
}

route_table::route_table() = default;
route_table::route_table(route_table&&) noexcept = default;
route_table& route_table::operator=(route_table&&) noexcept = default;
route_table::~route_table() = default;

std::size_t route_table::size() const noexcept { return impl_ ? impl_->routes.size() : 0; }

namespace {

// Lower case, without ":port" (RFC 9110 §7.2: Host = uri-host [ ":" port ]) and without one
// trailing dot. Returns {} (no host) when it does not fit `buf`.
std::string_view normalise_host(std::string_view h, char* buf) noexcept {
    if (!h.empty() && h.front() == '[') {  // IP-literal (RFC 3986 §3.2.2)
        if (auto e = h.find(']'); e != std::string_view::npos) {
            h = h.substr(0, e + 1);
        }
    } else if (auto c = h.rfind(':'); c != std::string_view::npos) {
        h = h.substr(0, c);
    }
    if (!h.empty() && h.back() == '.') {
        h.remove_suffix(1);
    }
    if (h.size() > max_host) {
        return {};
    }
    std::size_t i = 0;
    for (; i + 8 <= h.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, h.data() + i, 8);
        w = lower8(w);
        std::memcpy(buf + i, &w, 8);
    }
    if (std::size_t r = h.size() - i; r != 0) {
        std::uint64_t w = lower8(load_short(h.data() + i, r));
        std::memcpy(buf + i, &w, r);
    }
    return {buf, h.size()};
}

}  // namespace

std::uint32_t route_table::match(const request_key& k) const noexcept {
    if (!impl_) {
        return no_route;
    }
    const impl& t = *impl_;
    char buf[max_host + 1];
    // Routes without a host condition never look at it: skip the copy when there are no others.
    std::string_view host = t.hosts.empty() ? std::string_view{} : normalise_host(k.host, buf);
    std::uint32_t best = no_route;
    if (!host.empty()) {
        if (const map_slot* g = t.hosts.find(make_key(0, key_kind::exact_host, hash_str(host)))) {
            t.match_group(g->val, k, host, best);
        }
        if (t.any_suffix) {
            // Every ".suffix" of the host with at least one label before it.
            for (std::size_t i = 1; i < host.size(); ++i) {
                if (host[i] != '.' || !t.suffix_lens[host.size() - i]) {
                    continue;
                }
                if (const map_slot* g =
                        t.hosts.find(make_key(0, key_kind::suffix, hash_str(host.substr(i))))) {
                    t.match_group(g->val, k, host, best);
                }
            }
        }
    }
    t.match_group(0, k, host, best);
    return best;
}

std::uint32_t route_table::match_linear(const request_key& k) const noexcept {
    if (!impl_) {
        return no_route;
    }
    char buf[max_host + 1];
    std::string_view host = normalise_host(k.host, buf);
    for (std::uint32_t i = 0; i < impl_->routes.size(); ++i) {
        if (impl_->full_match(impl_->routes[i], k, host)) {
            return i;
        }
    }
    return no_route;
}

result<route_table> route_table::build(const cp::model::snapshot_view& v) {
    auto t = std::make_unique<impl>();
    auto sroutes = v.routes();
    if (sroutes.size() >= no_route) {
        return error{fmt::format("{} routes; at most {}", sroutes.size(), no_route - 1)};
    }
    const RE2::Options opts = model::regex_options();
    // Pass 1: checks, regexes, header and CIDR conditions, and the string arena (offsets kept
    // here; pointers are taken once the arena stops growing).
    std::vector<std::size_t> offs;
    offs.reserve(sroutes.size());
    t->routes.reserve(sroutes.size());
    for (const model::snap_route& s : sroutes) {
        const std::string_view name = v.str(s.name);
        if (s.host_kind > static_cast<std::uint8_t>(model::host_match::suffix) ||
            s.path_kind > static_cast<std::uint8_t>(model::path_match::regex)) {
            return error{fmt::format("route '{}': unknown host or path match kind ({}, {})", name,
                                     s.host_kind, s.path_kind)};
        }
        route r{};
        r.listener = s.listener;
        r.command = s.command == model::no_command ? -1 : static_cast<std::int32_t>(s.command);
        r.host_kind = static_cast<model::host_match>(s.host_kind);
        r.path_kind = static_cast<model::path_match>(s.path_kind);
        const std::string_view host = v.str(s.host), path = v.str(s.path), method = v.str(s.method);
        if (r.host_kind == model::host_match::any) {
            // No host condition: its text (if any) is ignored.
        } else if (host.size() > max_host || (r.host_kind == model::host_match::suffix &&
                                              (host.size() < 2 || host.front() != '.'))) {
            return error{fmt::format("route '{}': bad host '{}'", name, host)};
        }
        if (method.size() > 0xff) {
            return error{fmt::format("route '{}': method longer than 255 bytes", name)};
        }
        r.host_len =
            r.host_kind == model::host_match::any ? 0 : static_cast<std::uint16_t>(host.size());
        r.path_len = static_cast<std::uint32_t>(path.size());
        r.method_len = static_cast<std::uint8_t>(method.size());
        offs.push_back(t->arena.size());
        t->arena.insert(t->arena.end(), host.begin(), host.begin() + r.host_len);
        t->arena.insert(t->arena.end(), path.begin(), path.end());
        t->arena.insert(t->arena.end(), method.begin(), method.end());
        if (r.path_kind == model::path_match::regex) {
            auto re = std::make_unique<RE2>(std::string(path), opts);
            if (!re->ok()) {
                return error{
                    fmt::format("route '{}': path regex '{}' does not compile with RE2: {}", name,
                                path, re->error())};
            }
            r.path_re = re.get();
            t->path_res.push_back(std::move(re));
        }
        r.hdr_first = static_cast<std::uint32_t>(t->headers.size());
        for (const auto& h : v.headers(s)) {
            if (h.op > static_cast<std::uint8_t>(model::header_op::regex)) {
                return error{fmt::format("route '{}': unknown header match op {}", name, h.op)};
            }
            header_cond hc{std::string(v.str(h.name)), std::string(v.str(h.value)),
                           static_cast<model::header_op>(h.op), nullptr};
            if (hc.op == model::header_op::regex) {
                hc.re = std::make_unique<RE2>(hc.value, opts);
                if (!hc.re->ok()) {
                    return error{fmt::format(
                        "route '{}': header '{}' regex '{}' does not compile with RE2: {}", name,
                        hc.name, hc.value, hc.re->error())};
                }
            }
            t->headers.push_back(std::move(hc));
        }
        r.hdr_count = static_cast<std::uint32_t>(t->headers.size()) - r.hdr_first;
        r.cidr_first = static_cast<std::uint32_t>(t->cidrs.size());
        for (const auto& c : v.cidrs(s)) {
            cidr x{};
            std::memcpy(x.bytes, c.bytes, 16);
            x.family = c.family;
            x.prefix_len = std::min<std::uint8_t>(c.prefix_len, c.family == 4 ? 32 : 128);
            t->cidrs.push_back(x);
        }
        r.cidr_count = static_cast<std::uint32_t>(t->cidrs.size()) - r.cidr_first;
        t->routes.push_back(r);
    }
    for (std::size_t i = 0; i < t->routes.size(); ++i) {
        t->routes[i].strs = t->arena.data() + offs[i];
    }

    // Pass 2: groups by host condition; candidate lists by path condition, in route order.
    std::unordered_map<std::uint64_t, std::uint32_t> host_groups;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> buckets;
    std::vector<std::vector<std::uint32_t>> others(1);
    t->groups.resize(1);
    for (std::uint32_t i = 0; i < t->routes.size(); ++i) {
        const route& r = t->routes[i];
        std::uint32_t gid = 0;
        if (r.host_kind != model::host_match::any) {
            auto kind =
                r.host_kind == model::host_match::exact ? key_kind::exact_host : key_kind::suffix;
            auto [it, fresh] = host_groups.emplace(make_key(0, kind, hash_str(r.host_sv())),
                                                   static_cast<std::uint32_t>(t->groups.size()));
            if (fresh) {
                t->groups.emplace_back();
                others.emplace_back();
            }
            gid = it->second;
            if (kind == key_kind::suffix) {
                t->suffix_lens.set(r.host_len);
                t->any_suffix = true;
            }
        }
        group& g = t->groups[gid];
        if (r.command >= 0) {
            buckets[make_key(gid, key_kind::command, static_cast<std::uint64_t>(r.command))]
                .push_back(i);
            g.has_command = true;
        } else if (r.path_kind == model::path_match::exact) {
            buckets[make_key(gid, key_kind::exact_path, hash_str(r.path_sv()))].push_back(i);
            g.has_exact = true;
        } else if (r.path_kind == model::path_match::prefix) {
            buckets[make_key(gid, key_kind::prefix_path, hash_str(r.path_sv()))].push_back(i);
            g.prefix_lens.push_back(r.path_len);
        } else {
            others[gid].push_back(i);
        }
    }
    std::vector<map_slot> kv;
    kv.reserve(buckets.size());
    for (auto& [key, ids] : buckets) {
        if (ids.size() == 1) {
            kv.push_back(map_slot{key, ids[0], 1});
        } else {
            kv.push_back(map_slot{key, static_cast<std::uint32_t>(t->pool.size()),
                                  static_cast<std::uint32_t>(ids.size())});
            t->pool.insert(t->pool.end(), ids.begin(), ids.end());
        }
    }
    t->paths.build(kv);
    for (std::size_t gid = 0; gid < t->groups.size(); ++gid) {
        group& g = t->groups[gid];
        std::sort(g.prefix_lens.begin(), g.prefix_lens.end());
        g.prefix_lens.erase(std::unique(g.prefix_lens.begin(), g.prefix_lens.end()),
                            g.prefix_lens.end());
        g.other = range{static_cast<std::uint32_t>(t->pool.size()),
                        static_cast<std::uint32_t>(others[gid].size())};
        t->pool.insert(t->pool.end(), others[gid].begin(), others[gid].end());
    }
    kv.clear();
    for (const auto& [key, gid] : host_groups) {
        kv.push_back(map_slot{key, gid, 0});
    }
    if (!kv.empty()) {
        t->hosts.build(kv);
    }
    route_table out;
    out.impl_ = std::move(t);
    return out;
}

}  // namespace sluice::dp::cfg
