// See head_writer.hh. Runs on the owning worker lcore.
#include "head_writer.hh"

#include "gateway_config.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

void head_writer::append_num(std::uint64_t v) noexcept {
    char tmp[24];
    char* p = tmp + sizeof(tmp);
    do {
        *--p = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    append({p, static_cast<std::size_t>(tmp + sizeof(tmp) - p)});
}

void head_writer::append_ipv4(std::uint32_t be_addr) noexcept {
    const auto* a = reinterpret_cast<const std::uint8_t*>(&be_addr);
    char out[16];
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i) {
        const unsigned b = a[i];
        if (b >= 100) {
            out[n++] = static_cast<char>('0' + b / 100);
        }
        if (b >= 10) {
            out[n++] = static_cast<char>('0' + b / 10 % 10);
        }
        out[n++] = static_cast<char>('0' + b % 10);
        out[n++] = '.';
    }
    append({out, n - 1});
}

void head_writer::status_line(std::uint16_t status, std::string_view reason) noexcept {
    append("HTTP/1.1 ");
    append_num(status);
    append(" ");
    append(reason);
    append("\r\n");
}

namespace {

void apply_edits(head_writer& w, const request_ctx& r, std::span<const header_edit> edits) {
    for (const auto& e : edits) {
        if (e.op == edit_op::remove) {
            continue;
        }
        w.header(r.edit_text(e.name_off, e.name_len), r.edit_text(e.value_off, e.value_len));
    }
}

// True when an edit removes or replaces the field `name` (lower-case compare).
bool edited_away(const request_ctx& r, std::span<const header_edit> edits,
                 std::string_view name) noexcept {
    for (const auto& e : edits) {
        if (e.op != edit_op::add && http::iequals(r.edit_text(e.name_off, e.name_len), name)) {
            return true;
        }
    }
    return false;
}

// RFC 9110 §7.6.1: Connection and the fields it names, plus the classic hop-by-hop set.
template <typename Head>
bool hop_by_hop(const Head& h, const http::header_field& f, const byte_chain& src,
                std::string_view name) noexcept {
    switch (f.id) {
        case http::header_id::connection:
        case http::header_id::keep_alive:
        case http::header_id::proxy_connection:
        case http::header_id::te:
        case http::header_id::upgrade:
            return true;
        default:
            break;
    }
    for (std::uint8_t i = 0; i < h.conn.token_count; ++i) {
        char tmp[64];
        const auto t = src.view(h.conn.tokens[i].off, h.conn.tokens[i].len, tmp, sizeof(tmp));
        if (http::iequals(t, name)) {
            return true;
        }
    }
    return false;
}

}  // namespace

void head_writer::apply_response_edits(const request_ctx& r) noexcept {
    apply_edits(*this, r, r.response_edits());
}
void head_writer::apply_request_edits(const request_ctx& r) noexcept {
    apply_edits(*this, r, r.request_edits());
}

void write_upstream_head(head_writer& w, const http_session& s, const request& r) noexcept {
    const http::request_head& h = s.parser->head();
    const byte_chain& src = s.head;
    w.append_slice(src, h.method_tok);
    w.append(" ");
    const route_rt* rt = r.route();
    if (rt != nullptr && rt->has_rewrite && r.path().size() >= rt->prefix.size()) {
        w.append(rt->prefix_rewrite);
        w.append(r.path().substr(rt->prefix.size()));
    } else if (h.path.len != 0) {
        w.append_slice(src, h.path);
    } else {
        w.append("/");
    }
    if (h.query.len != 0) {
        w.append("?");
        w.append_slice(src, h.query);
    }
    w.append(" HTTP/1.1\r\n");
    // Host first (RFC 9112 §3.2: a client sends Host as the first field); the absolute-form's
    // authority when the request had one.
    if (h.host.len != 0) {
        w.append("host: ");
        w.append_slice(src, h.host);
        w.append("\r\n");
    } else {
        w.append("host: ");
        w.append_ipv4(r.up_addr);
        w.append(":");
        w.append_num(r.up_port);
        w.append("\r\n");
    }
    const auto edits = r.request_edits();
    std::string_view xff_prev;
    char xff_tmp[512];
    for (std::uint16_t i = 0; i < h.header_count; ++i) {
        const http::header_field& f = h.headers[i];
        if (f.id == http::header_id::host) {
            continue;
        }
        char name_tmp[256];
        const auto name = src.view(f.name.off, f.name.len, name_tmp, sizeof(name_tmp));
        if (hop_by_hop(h, f, src, name) || edited_away(r, edits, name)) {
            continue;
        }
        if (f.id == http::header_id::x_forwarded_for) {
            xff_prev = src.view(f.value.off, f.value.len, xff_tmp, sizeof(xff_tmp));
            continue;
        }
        w.append_slice(src, f.name);
        w.append(": ");
        w.append_slice(src, f.value);
        w.append("\r\n");
    }
    // X-Forwarded-For: the chain so far plus this client (de facto standard; RFC 7239 is the
    // structured alternative).
    w.append("x-forwarded-for: ");
    if (!xff_prev.empty()) {
        w.append(xff_prev);
        w.append(", ");
    }
    w.append_ipv4(r.client_addr());
    w.append("\r\n");
    w.apply_request_edits(r);
    w.end();
}

void write_client_head(head_writer& w, const http_session& s, const request& r,
                       const upstream_conn& u) noexcept {
    const http::response_head& h = u.rp->head();
    const byte_chain& src = u.in;
    w.status_line(h.status, {});
    // status_line wrote "HTTP/1.1 NNN " + empty reason; keep the backend's reason phrase.
    w.unappend(2);
    w.append_slice(src, h.reason);
    w.append("\r\n");
    const auto edits = r.response_edits();
    for (std::uint16_t i = 0; i < h.header_count; ++i) {
        const http::header_field& f = h.headers[i];
        char name_tmp[256];
        const auto name = src.view(f.name.off, f.name.len, name_tmp, sizeof(name_tmp));
        if (hop_by_hop(h, f, src, name) || edited_away(r, edits, name)) {
            continue;
        }
        if (r.dechunk && f.id == http::header_id::transfer_encoding) {
            continue;
        }
        w.append_slice(src, f.name);
        w.append(": ");
        w.append_slice(src, f.value);
        w.append("\r\n");
    }
    w.apply_response_edits(r);
    if (!s.keep_alive) {
        w.append("connection: close\r\n");
    } else if (s.parser->head().version_minor == 0) {
        w.append("connection: keep-alive\r\n");
    }
    w.end();
}

}  // namespace sluice::dp::proxy
