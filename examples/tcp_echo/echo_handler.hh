// The echo server's application logic: a tcp_handler that sends back everything it receives,
// zero-copy, with backpressure. Header-only so that tests/tcp/tcp_flow_test.cc can drive it
// through the unit harness; echo_server.cc wires it to a port.
//
// Threading: one echo_handler per tcp_stack (per lcore); every callback runs on that lcore.
//
// How the public API is used (dataplane/net/tcp/tcp_stack.hh):
//   listen(port, backlog, &handler)   accept connections; every event comes to `handler`
//   on_data(c, view)                  received bytes, in order; we own one mbuf reference
//   send_view(c, view)                queue received bytes back out without copying them
//   send_space(c) == 0                our send queue is full: the peer is not reading
//   pause_recv(c) / resume_recv(c)    stop / restart taking data: while paused the stack holds
//                                     it and the advertised window shrinks to zero, so the peer
//                                     stops sending instead of us buffering without bound
//   on_writable(c)                    the send queue drained to half after it was full
//   on_peer_shutdown(c) + close(c)    the peer is done; close() sends our FIN after what is
//                                     queued and ends the events for `c`
#pragma once

#include <cstdint>

#include "net/tcp/tcp_stack.hh"

namespace sluice::examples {

class echo_handler final : public dp::net::tcp::tcp_handler {
public:
    explicit echo_handler(dp::net::tcp::tcp_stack& tcp) noexcept : tcp_(tcp) {}

    void on_established(dp::net::tcp::connection& c) override {
        (void)c;
        ++accepted_;
    }

    void on_data(dp::net::tcp::connection& c, const dp::net::tcp::rx_view& v) override {
        echoed_ += v.len;
        // Takes the mbuf reference: nothing to free here. It fails only when the pool is empty
        // and the view had to be copied; the echo is then incomplete, so end the connection.
        if (!tcp_.send_view(c, v)) {
            tcp_.abort(c);
            return;
        }
        // Backpressure: if the peer does not read what we send, stop reading what it sends.
        // The stack keeps any data that still arrives and closes its window.
        if (tcp_.send_space(c) == 0) {
            tcp_.pause_recv(c);
        }
    }

    void on_writable(dp::net::tcp::connection& c) override {
        // Room again: hand over what was held (on_data runs from inside resume_recv, and may
        // pause again) and let the window open.
        tcp_.resume_recv(c);
    }

    void on_peer_shutdown(dp::net::tcp::connection& c) override {
        // Everything the peer sent has been echoed into the send queue; our FIN follows it.
        tcp_.close(c);
    }

    void on_closed(dp::net::tcp::connection& c, dp::net::tcp::close_reason why) override {
        (void)c;
        (void)why;  // reset or timeout: nothing of ours to release (no per-connection state)
    }

    [[nodiscard]] std::uint64_t accepted() const noexcept { return accepted_; }
    [[nodiscard]] std::uint64_t echoed() const noexcept { return echoed_; }

private:
    dp::net::tcp::tcp_stack& tcp_;
    std::uint64_t accepted_ = 0;
    std::uint64_t echoed_ = 0;
};

}  // namespace sluice::examples
