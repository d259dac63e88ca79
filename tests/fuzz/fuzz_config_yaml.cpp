// Fuzz target: the YAML configuration file reader. Only core::Error may come out of it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/config.hpp"
#include "teller/core/error.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto& path = fuzz::write_scratch_file("teller.yaml", input);

    core::Config config;
    try {
        core::apply_config_file(config, path);
    } catch (const core::Error&) {
        // A bad file is refused with a message; anything else escaping is a bug.
    }
    return 0;
}
