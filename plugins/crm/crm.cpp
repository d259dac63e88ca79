// The CRM skill: callback and follow-up requests with a preferred time, and the satisfaction
// survey.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "crm_examples.hpp"
#include "teller/plugins/skill.hpp"
#include "teller/plugins/skill_api.h"

namespace teller::skills::crm {
namespace json = boost::json;
namespace {

/// Unusable answers one step accepts before the flow stops.
constexpr int kMaxAttempts = 3;

/// Hours during which advisors call (local time of the bank), inclusive start, exclusive end.
constexpr int kFirstHour = 9;
constexpr int kLastHour = 18;

struct Skill {
    const teller_host_v1* host = nullptr;

    void log(int level, const std::string& message) const {
        if (host != nullptr && host->log != nullptr) {
            host->log(host->host, level, message.c_str());
        }
    }
};

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->as_int64() : fallback;
}

/// One customer turn as the skill sees it.
struct Turn {
    const Skill& skill;
    bool zh = false;
    std::string text;
    std::string folded;
    std::string intent;
    std::string customer;
    std::string channel;
    json::array entities;

    std::string say(std::string_view en, std::string_view zh_text) const {
        return std::string(zh ? zh_text : en);
    }

    /// The normalised value of the first entity of `type`, or "".
    std::string entity(std::string_view type) const {
        for (const json::value& e : entities) {
            if (e.is_object() && string_at(e.as_object(), "type") == type) {
                return string_at(e.as_object(), "value");
            }
        }
        return {};
    }
};

json::object reply(std::string_view text, json::array quick_replies = {}) {
    json::object r{{"text", text}};
    if (!quick_replies.empty()) {
        r["quick_replies"] = std::move(quick_replies);
    }
    return r;
}

json::object choice(std::string_view title, std::string_view payload) {
    return json::object{{"title", title}, {"payload", payload}};
}

json::object respond(json::array replies, json::value state, json::array events = {}) {
    json::object r{{"replies", std::move(replies)}, {"state", std::move(state)}};
    if (!events.empty()) {
        r["events"] = std::move(events);
    }
    return r;
}

bool wants_cancel(const Turn& t) {
    static const std::vector<std::string_view> kCancel = {
        "cancel", "stop", "never mind", "forget it", "quit", "取消", "算了", "不用了", "退出"};
    return t.intent == "cancel" ||
           std::find(kCancel.begin(), kCancel.end(), t.folded) != kCancel.end();
}

// 1 for yes, 0 for no, -1 when the answer is neither.
int yes_or_no(const Turn& t) {
    static const std::vector<std::string_view> kYes = {
        "/affirm", "yes", "y",    "yeah", "yep", "sure", "ok",   "okay", "confirm",
        "correct", "是",  "是的", "对",   "好",  "好的", "确认", "可以", "行"};
    static const std::vector<std::string_view> kNo = {"/deny", "no",   "n",    "nope", "wrong",
                                                      "不",    "不是", "不对", "否"};
    if (t.intent == "affirm") {
        return 1;
    }
    if (t.intent == "deny") {
        return 0;
    }
    if (std::find(kYes.begin(), kYes.end(), t.folded) != kYes.end()) {
        return 1;
    }
    if (std::find(kNo.begin(), kNo.end(), t.folded) != kNo.end()) {
        return 0;
    }
    return -1;
}

// ---- Time of day -----------------------------------------------------------------------------

/// A preferred time: an hour (0-23) and minute, or a part of the day.
struct TimeOfDay {
    int hour = -1;
    int minute = 0;
    std::string part;  // "morning", "afternoon", "evening", "any" when no hour was named
};

std::optional<int> digits_at(std::string_view s, std::size_t& i, std::size_t max_digits) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && i - start < max_digits &&
           std::isdigit(static_cast<unsigned char>(s[i]))) {
        value = value * 10 + (s[i] - '0');
        ++i;
    }
    return i > start ? std::optional<int>(value) : std::nullopt;
}

/// Finds a time of day in `f` (folded text): "3pm", "3:30 pm", "15:00", "10 am", "下午3点",
/// "上午10点半", "14点", "morning", "下午", "any time", "随时".
std::optional<TimeOfDay> time_in(std::string_view f) {
    bool afternoon_zh =
        f.find("下午") != std::string_view::npos || f.find("晚上") != std::string_view::npos;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(f[i])) ||
            (i > 0 && std::isdigit(static_cast<unsigned char>(f[i - 1])))) {
            continue;
        }
        std::size_t j = i;
        std::optional<int> hour = digits_at(f, j, 2);
        if (!hour) {
            continue;
        }
        int minute = 0;
        bool clock = false;
        if (j < f.size() && f[j] == ':') {
            std::size_t k = j + 1;
            std::optional<int> m = digits_at(f, k, 2);
            if (m && k - j == 3) {
                minute = *m;
                clock = true;
                j = k;
            }
        }
        std::size_t k = j;
        while (k < f.size() && f[k] == ' ') {
            ++k;
        }
        std::string_view rest = f.substr(k);
        if (rest.starts_with("am") || rest.starts_with("a.m")) {
            if (*hour >= 1 && *hour <= 12) {
                return TimeOfDay{*hour % 12, minute, {}};
            }
        } else if (rest.starts_with("pm") || rest.starts_with("p.m")) {
            if (*hour >= 1 && *hour <= 12) {
                return TimeOfDay{*hour % 12 + 12, minute, {}};
            }
        } else if (rest.starts_with("点")) {
            int h = *hour;
            if (afternoon_zh && h >= 1 && h < 12) {
                h += 12;
            }
            std::string_view after = rest.substr(std::string_view("点").size());
            if (after.starts_with("半")) {
                minute = 30;
            }
            if (h <= 23) {
                return TimeOfDay{h, minute, {}};
            }
        } else if (clock && *hour <= 23 && minute <= 59) {
            return TimeOfDay{*hour, minute, {}};
        }
    }
    static const std::array<std::pair<std::string_view, std::string_view>, 12> kParts{{
        {"morning", "morning"},
        {"afternoon", "afternoon"},
        {"evening", "evening"},
        {"any time", "any"},
        {"anytime", "any"},
        {"whenever", "any"},
        {"上午", "morning"},
        {"早上", "morning"},
        {"下午", "afternoon"},
        {"晚上", "evening"},
        {"随时", "any"},
        {"都可以", "any"},
    }};
    for (const auto& [word, part] : kParts) {
        if (f.find(word) != std::string_view::npos) {
            return TimeOfDay{-1, 0, std::string(part)};
        }
    }
    return std::nullopt;
}

// TODO(teller): the time of day is a text slot ("15:00", "in the morning"): the templates have
// no time type, so a 12-hour "3:00 pm" form for English customers would need one.
std::string describe_time(const Turn& t, const json::object& s) {
    std::int64_t hour = int_at(s, "hour", -1);
    if (hour >= 0) {
        char text[16];
        std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(hour),
                      static_cast<int>(int_at(s, "minute")));
        return text;
    }
    std::string part = string_at(s, "part");
    if (part == "morning") {
        return t.say("in the morning", "上午");
    }
    if (part == "afternoon") {
        return t.say("in the afternoon", "下午");
    }
    if (part == "evening") {
        return t.say("in the early evening", "傍晚");
    }
    return t.say("at any time", "任意时间");
}

/// Where a callback goes: the number the bank holds for the (verified) customer. A number
/// typed into the chat never reaches a skill (the gateway masks it), and calling only the
/// number on file keeps a stranger from booking calls to someone else.
std::string on_file(const Turn& t) {
    return t.say("the number on your profile", "您预留的手机号");
}

// ---- The callback / follow-up flow -----------------------------------------------------------

json::object ask(const Turn& t, json::object s, std::string prefix = {}) {
    std::string step = string_at(s, "step");
    bool callback = string_at(s, "kind") == "callback";
    std::string text = std::move(prefix);
    json::array buttons;
    if (step == "date") {
        text += callback ? t.say(
                               "Which day should we call you? (for example: tomorrow, Friday, "
                               "Dec 8)",
                               "希望我们哪天给您回电？（例如：明天、周五、12月8日）")
                         : t.say(
                               "When should we follow up? (for example: tomorrow, next week "
                               "Monday)",
                               "希望我们什么时候跟进？（例如：明天、下周一）");
        buttons = {choice(t.say("Tomorrow", "明天"), t.say("tomorrow", "明天"))};
    } else if (step == "time") {
        text += t.say("What time suits you? Our advisors call between 09:00 and 18:00.",
                      "您方便的时间是？客户经理的回电时间为09:00至18:00。");
        buttons = {choice(t.say("Morning", "上午"), t.say("morning", "上午")),
                   choice(t.say("Afternoon", "下午"), t.say("afternoon", "下午")),
                   choice(t.say("Any time", "随时"), t.say("any time", "随时"))};
    } else if (step == "confirm") {
        // The day is a date slot, so the templates (knowledge/responses/crm.yaml) show it in
        // the customer's locale; the prefix, if any, goes first as its own reply.
        std::string when = string_at(s, "date") + " " + describe_time(t, s);
        std::string confirm =
            callback ? t.say("So we call " + on_file(t) + " on " + when + ". Shall I book it?",
                             "确认在" + when + "致电" + on_file(t) + "，需要为您预约吗？")
                     : t.say("So we follow up with you here on " + when + ". Shall I book it?",
                             "确认在" + when + "通过本渠道跟进，需要为您预约吗？");
        json::object slots{{"callback_date", string_at(s, "date")},
                           {"callback_time", describe_time(t, s)}};
        if (callback) {
            slots["phone"] = on_file(t);
        }
        json::object r = reply(
            confirm, {choice(t.say("Yes", "是"), "/affirm"), choice(t.say("No", "否"), "/deny")});
        r["act"] = callback ? "crm.confirm_callback" : "crm.confirm_follow_up";
        r["slots"] = std::move(slots);
        json::array replies;
        if (!text.empty()) {
            replies.push_back(reply(text));
        }
        replies.push_back(std::move(r));
        return respond(std::move(replies), std::move(s));
    }
    return respond({reply(text, std::move(buttons))}, std::move(s));
}

// Fills what this turn says into the flow's state; returns a complaint when the turn named a
// value that cannot be used.
std::string hear(const Turn& t, json::object& s) {
    std::string complaint;
    if (std::string date = t.entity("date"); !date.empty() && !s.contains("date")) {
        s["date"] = date;
    }
    if (std::optional<TimeOfDay> time = time_in(t.folded);
        time && !s.contains("hour") && !s.contains("part")) {
        if (time->hour >= 0 && (time->hour < kFirstHour || time->hour >= kLastHour)) {
            complaint = t.say("That is outside our calling hours. ", "这个时间不在回电时段内。");
        } else if (time->hour >= 0) {
            s["hour"] = time->hour;
            s["minute"] = time->minute;
        } else {
            s["part"] = time->part;
        }
    }
    return complaint;
}

// Moves the flow to the first missing step, or submits it.
json::object advance(const Turn& t, json::object s, std::string prefix = {}) {
    std::string next;
    if (!s.contains("date")) {
        next = "date";
    } else if (!s.contains("hour") && !s.contains("part")) {
        next = "time";
    } else {
        next = "confirm";
    }
    if (next != string_at(s, "step")) {
        s["attempts"] = 0;
    }
    s["step"] = next;
    return ask(t, std::move(s), std::move(prefix));
}

json::object submit(const Turn& t, const json::object& s) {
    bool callback = string_at(s, "kind") == "callback";
    json::object args{{"customer", t.customer},
                      {"kind", string_at(s, "kind")},
                      {"date", string_at(s, "date")},
                      {"time", describe_time(t, s)},
                      {"channel", t.channel}};
    if (callback) {
        args["phone"] = "on_file";  // the number the bank holds for the verified customer
    }
    json::value result = teller::plugins::call_backend(t.skill.host, "crm.callback", args);
    const json::object* o = result.if_object();
    std::string id = o != nullptr ? string_at(*o, "id") : std::string();
    if (id.empty()) {
        return respond({reply(t.say("Sorry, I couldn't book that right now. Please try again "
                                    "later or ask for an agent.",
                                    "抱歉，暂时无法预约，请稍后再试或转人工。"))},
                       nullptr,
                       json::array{json::object{{"type", "crm_request_failed"},
                                                {"kind", string_at(s, "kind")}}});
    }
    std::string when = string_at(s, "date") + " " + describe_time(t, s);
    std::string text =
        callback
            ? t.say("Booked: we'll call you on " + when + ". Reference " + id + ".",
                    "已预约：我们将在" + when + "给您回电。编号" + id + "。")
            : t.say("Booked: we'll follow up with you here on " + when + ". Reference " + id + ".",
                    "已预约：我们将在" + when + "通过本渠道跟进。编号" + id + "。");
    json::array events{
        json::object{{"type", callback ? "callback_requested" : "follow_up_requested"},
                     {"reference", id},
                     {"date", string_at(s, "date")},
                     {"time", describe_time(t, s)}}};
    json::object r = reply(text);
    r["act"] = callback ? "crm.callback_booked" : "crm.follow_up_booked";
    r["slots"] = json::object{{"callback_date", string_at(s, "date")},
                              {"callback_time", describe_time(t, s)},
                              {"reference", id}};
    return respond({std::move(r)}, nullptr, std::move(events));
}

json::object continue_request(const Turn& t, json::object s) {
    if (wants_cancel(t)) {
        return respond({reply(t.say("All right, no callback is booked.", "好的，未预约。"))},
                       nullptr);
    }
    std::string step = string_at(s, "step");
    if (step == "confirm") {
        int answer = yes_or_no(t);
        if (answer == 1) {
            return submit(t, s);
        }
        // A new day or time ("no, Friday at 3pm", "Tuesday instead") is a correction.
        json::object corrected = s;
        for (std::string_view key : {"date", "hour", "minute", "part"}) {
            corrected.erase(key);
        }
        std::string complaint = hear(t, corrected);
        if (corrected.contains("date") || corrected.contains("hour") ||
            corrected.contains("part")) {
            bool new_time = corrected.contains("hour") || corrected.contains("part");
            for (std::string_view key : {"date", "hour", "minute", "part"}) {
                bool time_key = key != "date";
                if (!corrected.contains(key) && s.contains(key) && !(time_key && new_time)) {
                    corrected[key] = s.at(key);
                }
            }
            return advance(t, std::move(corrected), complaint);
        }
        if (answer == 0) {
            return respond({reply(t.say("All right, nothing is booked.", "好的，未预约。"))},
                           nullptr);
        }
    } else {
        std::size_t before = s.size();
        std::string complaint = hear(t, s);
        if (s.size() > before) {
            return advance(t, std::move(s), complaint);
        }
        if (!complaint.empty()) {
            return ask(t, std::move(s), complaint);
        }
    }
    std::int64_t attempts = int_at(s, "attempts") + 1;
    if (attempts >= kMaxAttempts) {
        return respond({reply(t.say("Let's leave it for now; you can ask for a callback again "
                                    "any time.",
                                    "先到这里，您可以随时重新预约回电。"))},
                       nullptr);
    }
    s["attempts"] = attempts;
    return ask(t, std::move(s), t.say("Sorry, I didn't catch that. ", "抱歉，没听明白。"));
}

json::object start_request(const Turn& t, std::string_view kind) {
    json::object s{{"flow", "request"}, {"kind", kind}, {"attempts", 0}};
    std::string complaint = hear(t, s);
    return advance(t, std::move(s), complaint);
}

// ---- The satisfaction survey -----------------------------------------------------------------

std::optional<int> rating_in(const Turn& t) {
    static constexpr std::array<std::string_view, 5> kWide{"１", "２", "３", "４", "５"};
    static constexpr std::array<std::string_view, 5> kHan{"一", "二", "三", "四", "五"};
    for (int i = 1; i <= 5; ++i) {
        for (std::string n :
             {std::to_string(i), std::string(kWide[i - 1]), std::string(kHan[i - 1])}) {
            if (t.folded == n || t.folded == n + "/5" || t.folded == n + "分" ||
                t.folded == n + " stars" || t.folded == n + "星" || t.folded == n + "颗星") {
                return i;
            }
        }
    }
    return std::nullopt;
}

json::object ask_rating(const Turn& t, json::object s, std::string prefix = {}) {
    json::array buttons;
    for (int i = 5; i >= 1; --i) {
        buttons.push_back(choice(std::to_string(i), std::to_string(i)));
    }
    return respond({reply(prefix + t.say("How would you rate this conversation, from 1 (poor) to "
                                         "5 (excellent)?",
                                         "请为本次服务打分，1分（差）到5分（非常好）。"),
                          std::move(buttons))},
                   std::move(s));
}

json::object continue_survey(const Turn& t, json::object s) {
    // "skip" at the rating declines the survey, like "cancel" (the question says nothing of
    // skipping, but customers say it).
    const bool declines_rating =
        string_at(s, "step") == "rating" &&
        (t.folded == "skip" || t.folded == "跳过" || t.folded == "no" || t.folded == "不用");
    if (wants_cancel(t) || declines_rating) {
        return respond({reply(t.say("No problem, thank you anyway.", "没关系，谢谢您。"))},
                       nullptr);
    }
    if (string_at(s, "step") == "rating") {
        std::optional<int> rating = rating_in(t);
        if (!rating) {
            std::int64_t attempts = int_at(s, "attempts") + 1;
            if (attempts >= kMaxAttempts) {
                return respond({reply(t.say("Thank you anyway.", "谢谢您。"))}, nullptr);
            }
            s["attempts"] = attempts;
            return ask_rating(
                t, std::move(s),
                t.say("Please answer with a number from 1 to 5. ", "请回复1到5的数字。"));
        }
        s["rating"] = *rating;
        s["step"] = "comment";
        return respond({reply(t.say("Thank you! Anything we could do better? (or say \"skip\")",
                                    "谢谢！有什么可以改进的吗？（或回复“跳过”）"),
                              json::array{choice(t.say("Skip", "跳过"), "skip")})},
                       std::move(s));
    }
    // The comment step: anything but "skip" is the comment.
    static const std::vector<std::string_view> kSkip = {"skip", "no",   "nothing",
                                                        "跳过", "没有", "无"};
    bool skipped = std::find(kSkip.begin(), kSkip.end(), t.folded) != kSkip.end();
    std::int64_t rating = int_at(s, "rating");
    json::object args{{"customer", t.customer}, {"rating", rating}, {"channel", t.channel}};
    if (!skipped) {
        args["comment"] = t.text;
    }
    json::value stored = teller::plugins::call_backend(t.skill.host, "crm.feedback", args);
    json::array events{json::object{{"type", "satisfaction_rated"},
                                    {"rating", rating},
                                    {"commented", !skipped},
                                    {"stored", stored.is_object()}}};
    return respond({reply(t.say("Thank you for your feedback.", "感谢您的反馈。"))}, nullptr,
                   std::move(events));
}

// ---- Turns -----------------------------------------------------------------------------------

json::object start(const Turn& t) {
    if (t.intent == "crm.callback") {
        return start_request(t, "callback");
    }
    if (t.intent == "crm.follow_up") {
        return start_request(t, "follow_up");
    }
    if (t.intent == "crm.feedback") {
        return ask_rating(t, json::object{{"flow", "survey"}, {"step", "rating"}, {"attempts", 0}});
    }
    return respond({reply(t.say("Sorry, I can't help with that.", "抱歉，这个我帮不了。"))},
                   nullptr);
}

json::object handle_turn(Skill& skill, const json::object& request) {
    const json::value* intent = request.if_contains("intent");
    const json::value* customer = request.if_contains("customer");
    const json::value* entities = request.if_contains("entities");
    std::string text = string_at(request, "text");
    Turn t{skill,
           string_at(request, "locale") == "zh-CN",
           text,
           teller::plugins::fold_answer(text),
           intent && intent->is_object() ? string_at(intent->as_object(), "name") : "",
           customer && customer->is_object() ? string_at(customer->as_object(), "id") : "",
           string_at(request, "channel"),
           entities && entities->is_array() ? entities->as_array() : json::array{}};

    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object()) {
        json::object s = state->as_object();
        std::string flow = string_at(s, "flow");
        if (flow == "request") {
            return continue_request(t, std::move(s));
        }
        if (flow == "survey") {
            return continue_survey(t, std::move(s));
        }
    }
    return start(t);
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "crm", "1.0.0", "Callback and follow-up requests, and the satisfaction survey",
        intent_examples(),
        {"crm.confirm_callback", "crm.confirm_follow_up", "crm.callback_booked",
         "crm.follow_up_booked"});
    return text.c_str();
}

int init(const teller_host_v1* host, const char* config_json, void** state) {
    (void)config_json;
    if (host == nullptr || host->api_version != TELLER_SKILL_API_VERSION || state == nullptr) {
        return 1;
    }
    try {
        auto skill = std::make_unique<Skill>();
        skill->host = host;
        *state = skill.release();
        return 0;
    } catch (...) {
        return 2;
    }
}

}  // namespace
}  // namespace teller::skills::crm

TELLER_SKILL_EXPORT const teller_skill_v1* teller_skill_entry(uint32_t host_api_version) {
    using namespace teller::skills::crm;
    static const teller_skill_v1 table = {TELLER_SKILL_API_VERSION,
                                          "crm",
                                          manifest(),
                                          &init,
                                          &teller::plugins::handle_turns<Skill, handle_turn>,
                                          &teller::plugins::free_c_string,
                                          &teller::plugins::delete_skill<Skill>};
    return teller::plugins::table_for_host(host_api_version, table);
}
