// Fuzz target: the training-data CSV reader (RFC 4180). Only core::Error may come out of it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/error.hpp"
#include "teller/nlu/intent_model.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto& path = fuzz::write_scratch_file("data.csv", input);

    try {
        auto rows = nlu::read_labeled_csv(path);
        for (const nlu::LabeledUtterance& row : rows) {
            fuzz::check(row.text.size() <= input.size() && row.intent.size() <= input.size(),
                        "a field longer than the file");
        }
    } catch (const core::Error&) {
        // A malformed file is refused with the file and line; anything else escaping is a bug.
    }
    return 0;
}
