// A test skill whose manifest lacks Chinese examples; the host must refuse it.
#include "teller/plugins/skill_api.h"

namespace {
int init(const teller_host_v1*, const char*, void** state) {
    *state = nullptr;
    return 0;
}
char* handle(void*, const char*) {
    return nullptr;
}
void release(char*) {}
void shutdown(void*) {}
}  // namespace

extern "C" __attribute__((visibility("default"))) const teller_skill_v1* teller_skill_entry(
    uint32_t) {
    static const teller_skill_v1 table = {
        TELLER_SKILL_API_VERSION,
        "half",
        R"({"name": "half", "intents": [{"name": "half.only_english",
            "examples": {"en": ["hello there"]}}]})",
        &init,
        &handle,
        &release,
        &shutdown};
    return &table;
}
