// Helpers for skills written in C++: C strings across the ABI and handlers that never throw.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "teller/plugins/skill_api.h"

namespace teller::plugins {

/// One intent of a skill: its name, its title per locale (shown on clarifying buttons) and its
/// training examples in English and Simplified Chinese.
struct IntentExamples {
    std::string_view name;
    std::string_view title_en;
    std::string_view title_zh;
    std::vector<std::string_view> en;
    std::vector<std::string_view> zh;
    /// Only a verified customer may use the intent (it shows or changes personal data).
    bool verified = false;
};

/// The manifest JSON that skill_api.h describes, for a skill with these intents. `acts` lists
/// the response-template acts the skill's replies may name (manifest "acts"); the host refuses
/// to start when one of them has no template.
inline std::string build_manifest(std::string_view name, std::string_view version,
                                  std::string_view description,
                                  const std::vector<IntentExamples>& intents,
                                  const std::vector<std::string_view>& acts = {}) {
    namespace json = boost::json;
    json::array list;
    for (const IntentExamples& i : intents) {
        json::array en(i.en.begin(), i.en.end());
        json::array zh(i.zh.begin(), i.zh.end());
        json::object intent{
            {"name", i.name},
            {"title", json::object{{"en", i.title_en}, {"zh-CN", i.title_zh}}},
            {"examples", json::object{{"en", std::move(en)}, {"zh-CN", std::move(zh)}}}};
        if (i.verified) {
            intent["verified"] = true;
        }
        list.push_back(std::move(intent));
    }
    json::object manifest{{"name", name},
                          {"version", version},
                          {"description", description},
                          {"intents", std::move(list)}};
    if (!acts.empty()) {
        manifest["acts"] = json::array(acts.begin(), acts.end());
    }
    return json::serialize(manifest);
}

/// `text` in lower-case ASCII with surrounding spaces and sentence punctuation trimmed (ASCII
/// or full-width, each removed as a whole UTF-8 sequence, so Chinese text stays intact): how
/// skills compare a customer's answer with the answers they offered. Thread-safe.
inline std::string fold_answer(std::string_view text) {
    static constexpr std::string_view kTrim[] = {" ", "\t", "\r", "\n", ".",
                                                 "!", "?",  "。", "！", "？"};
    bool trimmed = true;
    while (trimmed && !text.empty()) {
        trimmed = false;
        for (std::string_view t : kTrim) {
            if (text.starts_with(t)) {
                text.remove_prefix(t.size());
                trimmed = true;
            }
            if (text.ends_with(t)) {
                text.remove_suffix(t.size());
                trimmed = true;
            }
        }
    }
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

/// Copies `text` into a malloc'd C string; release it with free_c_string. NULL when out of
/// memory. Thread-safe.
inline char* copy_c_string(std::string_view text) noexcept {
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (out != nullptr) {
        std::memcpy(out, text.data(), text.size());
        out[text.size()] = '\0';
    }
    return out;
}

/// Releases a string from copy_c_string; the function a skill puts in its `free_string`.
inline void free_c_string(char* text) noexcept {
    std::free(text);
}

/// Parses `request_json`, runs `handler(const boost::json::object&) -> boost::json::value`
/// and returns its serialised result. Anything that goes wrong (unparsable request, an
/// exception in `handler`) becomes NULL, which the host reports as a failed action, so no
/// exception ever crosses the C ABI. Thread-safe when `handler` is.
template <class Handler>
char* guarded_handle(const char* request_json, Handler&& handler) noexcept {
    try {
        if (request_json == nullptr) {
            return nullptr;
        }
        boost::system::error_code ec;
        boost::json::value request = boost::json::parse(request_json, ec);
        if (ec || !request.is_object()) {
            return nullptr;
        }
        boost::json::value response = handler(request.as_object());
        return copy_c_string(boost::json::serialize(response));
    } catch (...) {
        return nullptr;
    }
}

/// The `handle` of a skill whose state is a `Skill*` and whose turns are run by
/// `Turn(Skill&, const boost::json::object&)`: guarded_handle around that function.
template <class Skill, auto Turn>
char* handle_turns(void* state, const char* request_json) noexcept {
    Skill* skill = static_cast<Skill*>(state);
    return guarded_handle(request_json, [skill](const boost::json::object& request) {
        return boost::json::value(Turn(*skill, request));
    });
}

/// The `shutdown` of a skill whose state is a `Skill*` made with new.
template <class Skill>
void delete_skill(void* state) noexcept {
    delete static_cast<Skill*>(state);
}

/// Marks the one symbol a skill exports (`teller_skill_entry`); build with hidden visibility.
#define TELLER_SKILL_EXPORT extern "C" __attribute__((visibility("default")))

/// What a skill's teller_skill_entry returns: its table for a host of this API version,
/// NULL for any other.
inline const teller_skill_v1* table_for_host(std::uint32_t host_api_version,
                                             const teller_skill_v1& table) noexcept {
    return host_api_version == TELLER_SKILL_API_VERSION ? &table : nullptr;
}

/// Calls the host's backend: parsed JSON result, or null when the call failed. Thread-safe.
inline boost::json::value call_backend(const teller_host_v1* host, const char* operation,
                                       const boost::json::object& args) {
    if (host == nullptr || host->backend_call == nullptr) {
        return nullptr;
    }
    std::string text = boost::json::serialize(args);
    char* raw = host->backend_call(host->host, operation, text.c_str());
    if (raw == nullptr) {
        return nullptr;
    }
    boost::system::error_code ec;
    boost::json::value result = boost::json::parse(raw, ec);
    host->free_string(raw);
    return ec ? boost::json::value(nullptr) : result;
}

}  // namespace teller::plugins
