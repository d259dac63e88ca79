// Fuzz target: the flow file reader (flows/*.yaml). Only core::Error may come out of it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/error.hpp"
#include "teller/core/flows.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto& path = fuzz::write_scratch_file("flow.yaml", input);
    try {
        core::load_flow_file(path);
    } catch (const core::Error&) {
        // A bad flow is refused with file, line and problem; anything else is a bug.
    }
    return 0;
}
