// Loading skill plugins with dlopen, validating their manifests and calling them with a deadline.
#include "teller/core/skill_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "teller/core/log.hpp"
#include "teller/plugins/skill_api.h"

namespace teller::core {
namespace json = boost::json;
namespace {

const Logger& host_log() {
    static const Logger log("skills");
    return log;
}

// A manifest's intent after validation.
struct ManifestIntent {
    IntentInfo info;
    std::vector<TrainingExample> examples;
};

// Reads a list of non-empty example strings; false when it is not one.
bool read_examples(const json::value* list, std::string_view intent, std::string_view locale,
                   std::vector<TrainingExample>& out) {
    if (list == nullptr || !list->is_array() || list->as_array().empty()) {
        return false;
    }
    for (const json::value& e : list->as_array()) {
        if (!e.is_string() || e.as_string().empty()) {
            return false;
        }
        out.push_back({std::string(e.as_string()), std::string(intent), std::string(locale)});
    }
    return true;
}

// Parses and checks a manifest; on failure `problem` says what is wrong.
bool parse_manifest(const char* text, std::string& name, std::vector<ManifestIntent>& intents,
                    std::vector<std::string>& acts, std::string& problem) {
    if (text == nullptr) {
        problem = "manifest is NULL";
        return false;
    }
    boost::system::error_code ec;
    json::value manifest = json::parse(text, ec);
    if (ec || !manifest.is_object()) {
        problem = "manifest is not a JSON object";
        return false;
    }
    const json::object& m = manifest.as_object();
    const json::value* n = m.if_contains("name");
    if (n == nullptr || !n->is_string() || n->as_string().empty()) {
        problem = "manifest has no \"name\"";
        return false;
    }
    name = std::string(n->as_string());

    const json::value* list = m.if_contains("intents");
    if (list == nullptr || !list->is_array() || list->as_array().empty()) {
        problem = "manifest has no \"intents\" array";
        return false;
    }
    for (const json::value& v : list->as_array()) {
        const json::object* intent = v.if_object();
        const json::value* iname = intent ? intent->if_contains("name") : nullptr;
        if (iname == nullptr || !iname->is_string() || iname->as_string().empty()) {
            problem = "an intent has no \"name\"";
            return false;
        }
        ManifestIntent mi;
        mi.info.name = std::string(iname->as_string());
        mi.info.skill = name;
        const json::value* examples = intent->if_contains("examples");
        const json::object* by_locale = examples ? examples->if_object() : nullptr;
        for (std::string_view locale : {"en", "zh-CN"}) {
            if (by_locale == nullptr ||
                !read_examples(by_locale->if_contains(locale), mi.info.name, locale, mi.examples)) {
                problem = "intent \"" + mi.info.name + "\" needs non-empty \"" +
                          std::string(locale) + "\" examples";
                return false;
            }
        }
        if (const json::value* verified = intent->if_contains("verified")) {
            if (!verified->is_bool()) {
                problem = "intent \"" + mi.info.name + "\": \"verified\" must be true or false";
                return false;
            }
            mi.info.requires_verification = verified->as_bool();
        }
        if (const json::value* titles = intent->if_contains("title");
            titles && titles->is_object()) {
            for (const auto& [locale, title] : titles->as_object()) {
                if (title.is_string()) {
                    mi.info.titles[std::string(locale)] = std::string(title.as_string());
                }
            }
        }
        intents.push_back(std::move(mi));
    }

    // The optional response-template acts the skill's replies name.
    if (const json::value* declared = m.if_contains("acts")) {
        if (!declared->is_array()) {
            problem = "\"acts\" must be an array of act names";
            return false;
        }
        for (const json::value& a : declared->as_array()) {
            if (!a.is_string() || a.as_string().empty()) {
                problem = "\"acts\" must hold non-empty act names";
                return false;
            }
            acts.emplace_back(a.as_string());
        }
    }
    return true;
}

// Checks a skill's response against the shape skill_api.h documents.
bool valid_response(const json::value& value) {
    const json::object* r = value.if_object();
    if (r == nullptr) {
        return false;
    }
    if (const json::value* replies = r->if_contains("replies")) {
        if (!replies->is_array()) {
            return false;
        }
        for (const json::value& reply : replies->as_array()) {
            const json::object* o = reply.if_object();
            if (o == nullptr || !o->contains("text") || !o->at("text").is_string()) {
                return false;
            }
            if (const json::value* qr = o->if_contains("quick_replies")) {
                if (!qr->is_array()) {
                    return false;
                }
                for (const json::value& q : qr->as_array()) {
                    const json::object* c = q.if_object();
                    if (c == nullptr || !c->contains("title") || !c->at("title").is_string() ||
                        !c->contains("payload") || !c->at("payload").is_string()) {
                        return false;
                    }
                }
            }
        }
    }
    if (const json::value* state = r->if_contains("state")) {
        if (!state->is_object() && !state->is_null()) {
            return false;
        }
    }
    if (const json::value* slots = r->if_contains("slots"); slots && !slots->is_object()) {
        return false;
    }
    if (const json::value* handoff = r->if_contains("handoff"); handoff && !handoff->is_bool()) {
        return false;
    }
    return true;
}

}  // namespace

// Threads that run skill calls. A worker stuck in a hung call is simply not idle; the next
// submission then starts another worker, so a hung skill never blocks the others.
class SkillHost::Workers {
public:
    ~Workers() {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
        state_->wake.notify_all();
    }

    void submit(std::function<void()> task) {
        std::lock_guard lock(state_->mutex);
        state_->tasks.push_back(std::move(task));
        if (state_->idle == 0) {
            // Workers hold the shared state, so they may outlive the host (after a hung call).
            std::thread([state = state_] { work(*state); }).detach();
        } else {
            state_->wake.notify_one();
        }
    }

private:
    struct State {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::function<void()>> tasks;
        std::size_t idle = 0;
        bool stopping = false;
    };

    static void work(State& state) {
        std::unique_lock lock(state.mutex);
        while (true) {
            ++state.idle;
            state.wake.wait(lock, [&state] { return state.stopping || !state.tasks.empty(); });
            --state.idle;
            if (state.tasks.empty()) {
                return;
            }
            std::function<void()> task = std::move(state.tasks.front());
            state.tasks.pop_front();
            lock.unlock();
            task();
            task = nullptr;  // drop the skill reference before waiting again
            lock.lock();
        }
    }

    std::shared_ptr<State> state_ = std::make_shared<State>();
};

// The backend as the C ABI sees it.
struct SkillHost::Bridge {
    Backend& backend;

    static char* copy(const std::string& text) {
        char* out = static_cast<char*>(std::malloc(text.size() + 1));
        if (out != nullptr) {
            std::memcpy(out, text.c_str(), text.size() + 1);
        }
        return out;
    }

    static char* backend_call(void* host, const char* operation, const char* args_json) {
        try {
            if (host == nullptr || operation == nullptr) {
                return nullptr;
            }
            boost::system::error_code ec;
            json::value args = json::parse(args_json != nullptr ? args_json : "{}", ec);
            if (ec || !args.is_object()) {
                return nullptr;
            }
            auto result = static_cast<Bridge*>(host)->backend.call(operation, args.as_object());
            if (!result) {
                host_log().warn("backend call failed",
                                {{"operation", operation}, {"error", result.error().message()}});
                return nullptr;
            }
            return copy(json::serialize(*result));
        } catch (...) {
            return nullptr;
        }
    }

    static void free_string(char* text) { std::free(text); }

    static void log(void*, int level, const char* message) {
        static const Logger skill_log("skill");
        std::string_view text = message != nullptr ? message : "";
        switch (level) {
            case 0:
                skill_log.trace(text);
                break;
            case 1:
                skill_log.debug(text);
                break;
            case 2:
                skill_log.info(text);
                break;
            case 3:
                skill_log.warn(text);
                break;
            default:
                skill_log.error(text);
                break;
        }
    }

    teller_host_v1 table{TELLER_SKILL_API_VERSION, this, &backend_call, &free_string, &log};
};

// A loaded skill. Worker threads of timed-out calls hold a reference, so the library stays
// mapped while one of them may still run inside it.
struct SkillHost::LoadedSkill {
    std::string name;
    std::string file;
    void* library = nullptr;
    const teller_skill_v1* table = nullptr;
    void* state = nullptr;
    bool initialised = false;
    std::vector<TrainingExample> examples;
    std::vector<std::string> acts;

    ~LoadedSkill() {
        if (initialised && table->shutdown != nullptr) {
            table->shutdown(state);
        }
        if (library != nullptr) {
            dlclose(library);
        }
    }
};

SkillHost::SkillHost(Backend& backend, SkillHostOptions options)
    : backend_(backend),
      options_(options),
      intents_(system_intent_infos()),
      bridge_(std::make_unique<Bridge>(Bridge{backend})),
      workers_(std::make_unique<Workers>()) {
    bridge_->table.host = bridge_.get();
}

SkillHost::~SkillHost() = default;

Result<std::string> SkillHost::fail(const std::filesystem::path& file, std::string_view problem) {
    std::string line = file.string() + ": " + std::string(problem);
    host_log().error("skill not loaded", {{"file", file.string()}, {"problem", problem}});
    load_errors_.push_back(std::move(line));
    return Errc::skill_load_failed;
}

Result<std::string> SkillHost::load(const std::filesystem::path& file, const json::object& config) {
    std::error_code fs_error;
    if (!std::filesystem::is_regular_file(file, fs_error)) {
        return fail(file, "no such file");
    }

    // Map the library and find its table.
    auto skill = std::make_shared<LoadedSkill>();
    skill->file = file.string();
    skill->library = dlopen(skill->file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (skill->library == nullptr) {
        const char* why = dlerror();
        return fail(file, std::string("dlopen failed: ") + (why ? why : "unknown"));
    }
    void* symbol = dlsym(skill->library, TELLER_SKILL_ENTRY_SYMBOL);
    if (symbol == nullptr) {
        return fail(file, "no " TELLER_SKILL_ENTRY_SYMBOL " symbol");
    }
    auto entry = reinterpret_cast<teller_skill_entry_fn>(symbol);
    skill->table = entry(TELLER_SKILL_API_VERSION);
    if (skill->table == nullptr) {
        return fail(file, "the skill refused this host's API version");
    }
    return adopt(std::move(skill), file, config);
}

Result<std::string> SkillHost::load_builtin(const teller_skill_v1* table,
                                            const json::object& config) {
    auto skill = std::make_shared<LoadedSkill>();
    skill->table = table;
    std::string label = table != nullptr && table->name != nullptr
                            ? std::string("built-in skill ") + table->name
                            : std::string("built-in skill");
    skill->file = label;
    if (table == nullptr) {
        return fail(label, "no skill table");
    }
    return adopt(std::move(skill), label, config);
}

Result<std::string> SkillHost::adopt(std::shared_ptr<LoadedSkill> skill,
                                     const std::filesystem::path& file,
                                     const json::object& config) {
    if (skill->table->api_version != TELLER_SKILL_API_VERSION) {
        return fail(file, "built for skill API version " +
                              std::to_string(skill->table->api_version) + ", this host speaks " +
                              std::to_string(TELLER_SKILL_API_VERSION));
    }
    if (skill->table->init == nullptr || skill->table->handle == nullptr ||
        skill->table->free_string == nullptr) {
        return fail(file, "the skill table lacks init, handle or free_string");
    }

    // Validate the manifest against the skills already loaded.
    std::string problem;
    std::vector<ManifestIntent> manifest_intents;
    if (!parse_manifest(skill->table->manifest_json, skill->name, manifest_intents, skill->acts,
                        problem)) {
        return fail(file, "bad manifest: " + problem);
    }
    for (const auto& other : skills_) {
        if (other->name == skill->name) {
            return fail(file, "a skill named \"" + skill->name + "\" is already loaded");
        }
    }
    std::set<std::string> seen;
    for (const ManifestIntent& mi : manifest_intents) {
        if (find_intent(mi.info.name) != nullptr || !seen.insert(mi.info.name).second) {
            return fail(file, "bad manifest: intent \"" + mi.info.name + "\" is already taken");
        }
    }

    // Initialise; a failing init leaves nothing behind.
    std::string config_text = json::serialize(config);
    int rc = skill->table->init(&bridge_->table, config_text.c_str(), &skill->state);
    if (rc != 0) {
        return fail(file, "init returned " + std::to_string(rc));
    }
    skill->initialised = true;

    for (ManifestIntent& mi : manifest_intents) {
        skill->examples.insert(skill->examples.end(), mi.examples.begin(), mi.examples.end());
        intents_.push_back(std::move(mi.info));
    }
    host_log().info(
        "skill loaded",
        {{"skill", skill->name}, {"file", skill->file}, {"intents", manifest_intents.size()}});
    skills_.push_back(skill);
    return skill->name;
}

Result<std::size_t> SkillHost::load_directory(const std::filesystem::path& directory,
                                              const json::object& config) {
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec)) {
        fail(directory, "no such directory");
        return Errc::skill_load_failed;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
        if (entry.path().extension() == ".so") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::size_t loaded = 0;
    for (const auto& file : files) {
        if (load(file, config)) {
            ++loaded;
        }
    }
    return loaded;
}

std::vector<std::string> SkillHost::skills() const {
    std::vector<std::string> names;
    for (const auto& s : skills_) {
        names.push_back(s->name);
    }
    return names;
}

std::vector<std::string> SkillHost::skill_acts(std::string_view skill) const {
    for (const auto& s : skills_) {
        if (s->name == skill) {
            return s->acts;
        }
    }
    return {};
}

const IntentInfo* SkillHost::find_intent(std::string_view intent) const {
    for (const IntentInfo& info : intents_) {
        if (info.name == intent) {
            return &info;
        }
    }
    return nullptr;
}

std::string SkillHost::intent_title(std::string_view intent, std::string_view locale) const {
    const IntentInfo* info = find_intent(intent);
    if (info == nullptr) {
        return std::string(intent);
    }
    for (std::string_view l : {locale, std::string_view("en")}) {
        if (auto it = info->titles.find(std::string(l)); it != info->titles.end()) {
            return it->second;
        }
    }
    return info->name;
}

std::vector<TrainingExample> SkillHost::training_examples() const {
    std::vector<TrainingExample> all = system_intent_examples();
    for (const auto& s : skills_) {
        all.insert(all.end(), s->examples.begin(), s->examples.end());
    }
    return all;
}

Result<json::object> SkillHost::call(std::string_view name, const json::object& request) const {
    std::shared_ptr<LoadedSkill> skill;
    for (const auto& s : skills_) {
        if (s->name == name) {
            skill = s;
        }
    }
    if (!skill) {
        return Errc::unknown_skill;
    }

    // Run the call on a worker so a hung skill costs a thread, not the engine.
    // TODO(teller): a call that never returns leaks its worker thread and keeps the library
    // mapped; many hung calls would exhaust threads, and a hung call that later uses the host
    // table after the host is destroyed is undefined. Cancellable calls need a new skill ABI.
    auto promise = std::make_shared<std::promise<std::string>>();
    std::future<std::string> answer = promise->get_future();
    auto request_text = std::make_shared<std::string>(json::serialize(request));
    workers_->submit([skill, promise, request_text] {
        char* raw = nullptr;
        try {
            raw = skill->table->handle(skill->state, request_text->c_str());
        } catch (...) {
            raw = nullptr;  // a C++ skill let an exception cross the C ABI
        }
        std::string text;
        bool ok = raw != nullptr;
        if (ok) {
            text = raw;
            skill->table->free_string(raw);
        }
        try {
            if (ok) {
                promise->set_value(std::move(text));
            } else {
                promise->set_exception(std::make_exception_ptr(std::runtime_error("NULL")));
            }
        } catch (...) {
        }
    });

    if (answer.wait_for(options_.call_timeout) != std::future_status::ready) {
        host_log().error("skill call timed out",
                         {{"skill", skill->name}, {"timeout_ms", options_.call_timeout.count()}});
        return Errc::skill_failed;
    }
    std::string text;
    try {
        text = answer.get();
    } catch (...) {
        host_log().error("skill call failed", {{"skill", skill->name}, {"reason", "NULL"}});
        return Errc::skill_failed;
    }

    boost::system::error_code ec;
    json::value response = json::parse(text, ec);
    if (ec || !valid_response(response)) {
        host_log().error("skill call failed",
                         {{"skill", skill->name}, {"reason", "invalid response"}});
        return Errc::skill_failed;
    }
    return std::move(response.as_object());
}

}  // namespace teller::core
