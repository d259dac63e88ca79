// Fuzz target: the rule-based entity extractors (amounts, dates, phones, cards, accounts).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/nlu/entities.hpp"

using namespace teller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // A fixed reference date keeps runs reproducible.
    static const nlu::EntityContext context{
        std::chrono::year_month_day{std::chrono::year{2026}, std::chrono::month{12},
                                    std::chrono::day{4}},
        "USD"};
    auto entities = nlu::extract_entities(input, context);
    std::size_t previous_end = 0;
    for (const core::Entity& e : entities) {
        fuzz::check(e.begin < e.end && e.end <= input.size(), "entity span outside the text");
        fuzz::check(e.begin >= previous_end, "entities overlap or are not sorted");
        previous_end = e.end;
        if (e.type == "card_number") {
            // The full number appears nowhere in the entity: at most the last four digits.
            std::size_t digits = 0;
            for (char c : e.value) {
                digits += (c >= '0' && c <= '9') ? 1 : 0;
            }
            fuzz::check(digits <= 4, "card number entity not masked");
        }
    }

    (void)nlu::parse_chinese_number(input);
    (void)nlu::iban_valid(input);
    if (input.size() >= 2 && input.find_first_not_of("0123456789") == std::string_view::npos) {
        (void)nlu::luhn_valid(input);
    }
    return 0;
}
