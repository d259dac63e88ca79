// A test skill that fails on purpose, chosen by intent: throws, garbage, NULL, hangs, or echoes.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "teller/plugins/skill.hpp"

namespace {
namespace json = boost::json;

int init(const teller_host_v1*, const char* config, void** state) {
    *state = nullptr;
    return std::string(config).find("fail_init") != std::string::npos ? 7 : 0;
}

char* handle(void*, const char* request_json) {
    json::object request = json::parse(request_json).as_object();
    std::string intent(request.at("intent").at("name").as_string());
    if (intent == "test.garbage") {
        return teller::plugins::copy_c_string("this is {not json");
    }
    if (intent == "test.wrong_shape") {
        return teller::plugins::copy_c_string(R"({"replies": "should be an array"})");
    }
    if (intent == "test.null") {
        return nullptr;
    }
    if (intent == "test.hang") {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    return teller::plugins::guarded_handle(request_json, [&](const json::object&) -> json::value {
        if (intent == "test.throw") {
            throw std::runtime_error("the skill broke");
        }
        return json::object{{"replies", json::array{json::object{{"text", "echo"}}}},
                            {"state", nullptr}};
    });
}

void shutdown(void*) {}

const char* kManifest = R"({"name": "misbehaving", "intents": [
  {"name": "test.throw", "examples": {"en": ["boom"], "zh-CN": ["爆炸"]}},
  {"name": "test.garbage", "examples": {"en": ["garbage"], "zh-CN": ["垃圾"]}},
  {"name": "test.wrong_shape", "examples": {"en": ["shape"], "zh-CN": ["形状"]}},
  {"name": "test.null", "examples": {"en": ["null"], "zh-CN": ["空"]}},
  {"name": "test.hang", "examples": {"en": ["hang"], "zh-CN": ["卡住"]}},
  {"name": "test.echo", "examples": {"en": ["echo"], "zh-CN": ["回声"]}}]})";
}  // namespace

extern "C" __attribute__((visibility("default"))) const teller_skill_v1* teller_skill_entry(
    uint32_t) {
    static const teller_skill_v1 table = {
        TELLER_SKILL_API_VERSION,        "misbehaving", kManifest, &init, &handle,
        &teller::plugins::free_c_string, &shutdown};
    return &table;
}
