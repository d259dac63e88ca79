// Fuzz target: the training data reader (YAML with inline [span](type) annotations). Problems
// are reported as issues; nothing may escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/error.hpp"
#include "teller/nlu/training_data.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto& path = fuzz::write_scratch_file("training.yaml", input);
    try {
        nlu::TrainingData result = nlu::load_training_data({path});
        (void)result.error_count();
    } catch (const core::Error&) {
        // An unreadable file may be refused as a whole.
    }
    nlu::AnnotatedExample annotated = nlu::parse_annotations(input);
    fuzz::check(annotated.ok() || !annotated.error.empty(), "an annotation error names itself");
    return 0;
}
