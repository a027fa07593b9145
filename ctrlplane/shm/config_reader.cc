// Read-only attach of the config segment (dataplane main thread, once at start).
#include "ctrlplane/shm/config_reader.hh"

namespace sluice::cp::shm {

result<config_reader> config_reader::attach(const segment_options& o) {
    auto m = open_config(o, access::read_only);
    if (!m) {
        return m.err();
    }
    return config_reader(std::move(m.value()));
}

config_reader::config_reader(mapping m) noexcept
    : map_(std::move(m)), hdr_(static_cast<const config_header*>(map_.data())) {}

}  // namespace sluice::cp::shm
