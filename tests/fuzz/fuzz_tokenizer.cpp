// Fuzz target: the NLU tokenizer and UTF-8 sanitising on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/events.hpp"
#include "teller/nlu/tokenizer.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    std::string clean = nlu::sanitize_utf8(input);
    fuzz::check(core::is_valid_utf8(clean), "sanitize_utf8 returned invalid UTF-8");
    if (core::is_valid_utf8(input)) {
        fuzz::check(clean == input, "sanitize_utf8 changed valid UTF-8");
    }

    // Small buckets and the widest n-gram range reach the hashing edges quickly.
    static const nlu::Tokenizer tokenizer;
    static const nlu::Tokenizer narrow(nlu::TokenizerOptions{1, 8, true, 7});
    for (const nlu::Tokenizer* t : {&tokenizer, &narrow}) {
        for (const std::string& token : t->tokens(input)) {
            fuzz::check(!token.empty(), "empty token");
            fuzz::check(core::is_valid_utf8(token), "token is not valid UTF-8");
        }
        auto features = t->features(input);
        auto ids = t->feature_ids(input);
        fuzz::check(ids.size() == features.size(), "feature_ids and features disagree");
        for (std::int64_t id : ids) {
            fuzz::check(id >= 0 && id < t->options().buckets, "feature id out of range");
        }
    }
    return 0;
}
