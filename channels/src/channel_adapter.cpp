// Helpers shared by every provider channel adapter.
#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

std::string_view find_header(const HeaderList& headers, std::string_view name) noexcept {
    for (const auto& [key, value] : headers) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

}  // namespace teller::channels
