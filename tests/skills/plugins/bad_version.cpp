// A test skill built for a future API version; the host must refuse it.
#include "teller/plugins/skill_api.h"

extern "C" __attribute__((visibility("default"))) const teller_skill_v1* teller_skill_entry(
    uint32_t) {
    static const teller_skill_v1 table = {
        TELLER_SKILL_API_VERSION + 1, "future", "{}", nullptr, nullptr, nullptr, nullptr};
    return &table;
}
