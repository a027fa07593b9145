// Dataplane configuration: Sluice's own options (after EAL's and a `--`) and the optional YAML
// file they may name. Parsed once on the main lcore at start; read-only afterwards.
// docs/operations.md ("Running the dataplane") documents every option and the file format.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"

namespace sluice::dp::core {

// How the dataplane reaches a port's device (docs/xdp.md, "Port modes").
enum class port_kind : std::uint8_t {
    dpdk,   // dev=NAME|ID: a device EAL already has (--vdev, PCI allow-list)
    afxdp,  // dev=afxdp:IFACE: we create net_af_xdp with our XDP program on IFACE
    automatic,  // dev=auto:IFACE: PCI PMD if bound to vfio/uio, else AF_XDP, else af_packet
};

// A service port steered to the dataplane by the XDP program (services=80:443:53/udp).
struct service_port {
    std::uint16_t port = 0;  // host byte order
    std::uint8_t proto = 6;  // IANA: 6 TCP, 17 UDP
};

struct port_config {
    std::string dev;              // DPDK device name (net_af_packet0) or port id ("0"); for
                                  // afxdp/auto, the device name we create at start
    port_kind kind = port_kind::dpdk;
    std::string iface;            // afxdp/auto: kernel interface (or PCI address for auto)
    std::vector<service_port> services;  // afxdp/auto: steered to us besides ARP
    rte_be32_t addr = 0;          // network byte order
    rte_be32_t netmask = 0;
    rte_be32_t gateway = 0;       // 0: none
    std::uint16_t mtu = 1500;     // RFC 894 Ethernet default
    std::uint16_t rxd = 1024;     // RX descriptors per queue (DPDK l3fwd default)
    std::uint16_t txd = 1024;     // TX descriptors per queue
    std::vector<unsigned> lcores; // worker lcores serving this port; empty: all workers
    std::string where;            // "--port #1" or "file.yaml:12", for messages
};

struct dp_config {
    std::vector<port_config> ports;
    std::uint32_t mbufs = 0;             // per NUMA socket; 0: computed from ports and workers
    std::uint32_t arp_timeout_s = 300;   // reachable entry lifetime (Linux gc_stale_time is 60 s;
                                         // 300 s is the classic BSD/Cisco-style ARP cache age)
    std::uint32_t arp_entries = 1024;    // per worker and port
    std::uint32_t arp_pending = 4;       // packets held per unresolved next hop
    std::uint32_t arp_retry_ms = 1000;   // RFC 1122 §2.3.2.1: at most one request a second
    std::uint32_t arp_retries = 3;
    std::uint8_t ttl = 64;
    std::string stats_file;              // JSON written on SIGUSR1 and at exit
    std::uint32_t stats_interval_s = 0;  // print stats every N seconds; 0: only on demand
    std::string instance;                // control-plane instance: shm segments to attach
    std::string shm_dir = "/dev/shm";    // where those segments live (tests use a temp dir)
    std::string xdp_prog;                // BPF object for afxdp ports; "": the default one
    bool gateway = true;                 // run the gateway when attached to a control plane
    std::string access_log;              // accesslog filter output ("-": stdout); "": none
    // TCP test applications (issue 3), each "tcp-echo:PORT", "tcp-source:PORT:BYTES" or
    // "tcp-sink:PORT" (dataplane/apps/tcp_apps.hh), validated at parse time.
    std::vector<std::string> apps;
    // TCP sizing (issue 3): TCBs per worker lcore (tcp_params::max_connections), and the
    // SYN-RECEIVED backlog of each --app listener (beyond it, SYN cookies answer).
    std::uint32_t tcp_max_connections = 4096;
    std::uint32_t app_backlog = 128;
};

// Parses Sluice's own arguments (EAL's already removed). argv[0] is the program name.
// `--help` yields an error whose message is the help text and `help_requested` set.
struct parse_outcome {
    dp_config config;
    bool help = false;
    std::string help_text;
};
[[nodiscard]] result<parse_outcome> parse_options(int argc, char** argv);

// Loads the YAML config file; `base` supplies defaults.
[[nodiscard]] result<dp_config> load_config_file(const std::string& path, dp_config base);

// "dev=NAME|ID|afxdp:IFACE|auto:IFACE,addr=A.B.C.D/LEN[,gw=A.B.C.D][,mtu=N][,rxd=N][,txd=N]
//  [,lcores=1-3|1:3][,services=80:443:53/udp]"
[[nodiscard]] result<port_config> parse_port_spec(std::string_view spec, std::string_view where);

// "A.B.C.D/LEN" into address and netmask (network byte order).
[[nodiscard]] result<std::pair<rte_be32_t, rte_be32_t>> parse_cidr(std::string_view text);
[[nodiscard]] result<rte_be32_t> parse_ipv4(std::string_view text);
[[nodiscard]] std::string format_ipv4(rte_be32_t addr);

}  // namespace sluice::dp::core
