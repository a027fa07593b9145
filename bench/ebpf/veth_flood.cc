// veth_flood: a bounded raw-socket flood for the side-by-side AF_XDP / af_packet benchmark
// (bench/ebpf/afxdp_vs_afpacket.py). Sends COUNT copies of one Ethernet/IPv4 frame, ICMP echo
// request or UDP, out of IFACE with AF_PACKET + sendmmsg in batches of 64, and stops after
// COUNT frames or SECONDS, whichever comes first. Prints "sent N in S s = P pps".
// Runs in the peer namespace of the testbed; single-threaded.
//
// usage: veth_flood IFACE DST_MAC SRC_IP DST_IP COUNT SECONDS [icmp|udp:PORT] [SIZE]
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// RFC 1071 Internet checksum over len bytes.
std::uint16_t inet_csum(const std::uint8_t* p, std::size_t len) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) {
        sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += static_cast<std::uint32_t>(p[len - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

bool parse_mac(const char* s, std::uint8_t* mac) {
    unsigned v[6];
    if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
        return false;
    }
    for (int i = 0; i < 6; ++i) {
        mac[i] = static_cast<std::uint8_t>(v[i]);
    }
    return true;
}

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: veth_flood IFACE DST_MAC SRC_IP DST_IP COUNT SECONDS "
                             "[icmp|udp:PORT] [SIZE]\n");
        return 2;
    }
    const char* iface = argv[1];
    const long long count = std::atoll(argv[5]);
    const double seconds = std::atof(argv[6]);
    const std::string kind = argc > 7 ? argv[7] : "icmp";
    const std::size_t size = argc > 8 ? static_cast<std::size_t>(std::atoi(argv[8])) : 64;
    // Bounds: at most 100 M frames and 120 s, frames of 60..1514 bytes.
    if (count <= 0 || count > 100'000'000 || seconds <= 0 || seconds > 120 || size < 60 ||
        size > 1514) {
        std::fprintf(stderr, "veth_flood: COUNT 1..1e8, SECONDS (0,120], SIZE 60..1514\n");
        return 2;
    }
    std::uint8_t dst_mac[6];
    in_addr src{}, dst{};
    if (!parse_mac(argv[2], dst_mac) || inet_pton(AF_INET, argv[3], &src) != 1 ||
        inet_pton(AF_INET, argv[4], &dst) != 1) {
        std::fprintf(stderr, "veth_flood: bad MAC or address\n");
        return 2;
    }
    const int ifindex = static_cast<int>(if_nametoindex(iface));
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (ifindex == 0 || fd < 0) {
        std::perror("veth_flood: interface/socket");
        return 1;
    }
    std::uint8_t src_mac[6] = {};
    {
        const std::string path = std::string("/sys/class/net/") + iface + "/address";
        FILE* f = std::fopen(path.c_str(), "r");
        char buf[32] = {};
        if (f == nullptr || std::fgets(buf, sizeof(buf), f) == nullptr || !parse_mac(buf, src_mac)) {
            std::fprintf(stderr, "veth_flood: cannot read %s\n", path.c_str());
            return 1;
        }
        std::fclose(f);
    }

    std::vector<std::uint8_t> frame(size, 0);
    std::memcpy(&frame[0], dst_mac, 6);
    std::memcpy(&frame[6], src_mac, 6);
    put16(&frame[12], ETHERTYPE_IP);
    std::uint8_t* ip = &frame[14];
    const auto ip_len = static_cast<std::uint16_t>(size - 14);
    ip[0] = 0x45;
    put16(ip + 2, ip_len);
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    std::memcpy(ip + 12, &src, 4);
    std::memcpy(ip + 16, &dst, 4);
    std::uint8_t* l4 = ip + 20;
    const std::size_t l4_len = ip_len - 20u;
    if (kind == "icmp") {
        ip[9] = IPPROTO_ICMP;
        l4[0] = 8;  // RFC 792 echo request
        put16(l4 + 4, 0x5155);
        put16(l4 + 6, 1);
        put16(l4 + 2, inet_csum(l4, l4_len));
    } else if (kind.rfind("udp:", 0) == 0) {
        ip[9] = IPPROTO_UDP;
        put16(l4, 40000);
        put16(l4 + 2, static_cast<std::uint16_t>(std::atoi(kind.c_str() + 4)));
        put16(l4 + 4, static_cast<std::uint16_t>(l4_len));  // checksum 0: none (RFC 768)
    } else {
        std::fprintf(stderr, "veth_flood: traffic must be icmp or udp:PORT\n");
        return 2;
    }
    put16(ip + 10, inet_csum(ip, 20));

    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    sll.sll_halen = 6;
    std::memcpy(sll.sll_addr, dst_mac, 6);
    constexpr int batch = 64;
    iovec iov{frame.data(), frame.size()};
    mmsghdr msgs[batch] = {};
    for (auto& m : msgs) {
        m.msg_hdr.msg_name = &sll;
        m.msg_hdr.msg_namelen = sizeof(sll);
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto stop = t0 + std::chrono::duration<double>(seconds);
    long long sent = 0;
    while (sent < count && std::chrono::steady_clock::now() < stop) {
        const int n = sendmmsg(fd, msgs, static_cast<unsigned>(std::min<long long>(batch, count - sent)),
                               0);
        if (n < 0) {
            if (errno == ENOBUFS || errno == EAGAIN) {
                continue;  // qdisc full: the clock above still bounds the loop
            }
            std::perror("veth_flood: sendmmsg");
            break;
        }
        sent += n;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("sent %lld in %.3f s = %.0f pps\n", sent, s, static_cast<double>(sent) / s);
    close(fd);
    return 0;
}
