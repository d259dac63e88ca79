// Response templates: YAML loading with file:line errors, validation, variation choice, rendering.
#include "teller/nlg/templates.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "teller/nlg/format.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlg {
namespace {

class Category : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "teller.nlg"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::ok:
                return "ok";
            case Errc::no_template:
                return "no response template for the act";
            case Errc::missing_slot:
                return "a slot the template needs was not given";
            case Errc::bad_slot_value:
                return "a slot value cannot be formatted as its type";
            case Errc::faq_disabled:
                return "no FAQ model is loaded";
        }
        return "unknown nlg error";
    }
};

[[noreturn]] void fail(std::string_view file, const YAML::Node& node, const std::string& what) {
    throw core::Error(std::string(file) + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
}

SlotType slot_type(std::string_view file, const YAML::Node& node) {
    const std::string name = node.as<std::string>();
    static const std::pair<std::string_view, SlotType> kTypes[] = {{"text", SlotType::text},
                                                                   {"money", SlotType::money},
                                                                   {"date", SlotType::date},
                                                                   {"percent", SlotType::percent},
                                                                   {"number", SlotType::number}};
    for (const auto& [word, type] : kTypes) {
        if (word == name) {
            return type;
        }
    }
    fail(file, node, "unknown slot type \"" + name + "\" (text, money, date, percent, number)");
}

// The per-locale texts of a map node; every locale of kLocales is required.
std::map<std::string, std::string> locale_texts(std::string_view file, const YAML::Node& node,
                                                const std::string& what) {
    std::map<std::string, std::string> out;
    for (std::string_view locale : kLocales) {
        const YAML::Node text = node[std::string(locale)];
        if (!text || !text.IsScalar() || text.as<std::string>().empty()) {
            fail(file, node, what + " has no " + std::string(locale) + " text");
        }
        out[std::string(locale)] = text.as<std::string>();
    }
    for (const auto& entry : node) {
        const std::string key = entry.first.as<std::string>();
        if (key == "en" || key == "zh-CN" || key == "channels" || key == "requires" ||
            key == "when") {
            continue;
        }
        fail(file, entry.first, "unknown key \"" + key + "\" in " + what);
    }
    return out;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw core::Error(path.string() + ": cannot be read");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The value of a slot as text, for `when` conditions.
std::string plain(const boost::json::value& v) {
    if (v.is_string()) {
        return std::string(v.as_string());
    }
    return boost::json::serialize(v);
}

}  // namespace

const boost::system::error_category& nlg_category() noexcept {
    static const Category category;
    return category;
}

std::uint64_t variation_seed(std::string_view conversation, std::int64_t turn) noexcept {
    return nlu::fnv1a_64(std::string(conversation) + "#" + std::to_string(turn));
}

std::vector<std::string> placeholders(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            ++i;
            continue;
        }
        if (text[i] != '{') {
            continue;
        }
        std::size_t end = text.find('}', i);
        if (end == std::string_view::npos) {
            break;
        }
        out.emplace_back(text.substr(i + 1, end - i - 1));
        i = end;
    }
    return out;
}

TemplateSet TemplateSet::parse(std::string_view yaml, std::string_view file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw core::Error(std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    TemplateSet set;
    if (!root.IsMap()) {
        fail(file, root, "expected a map with `slots` and `responses`");
    }
    try {
        // Declared slots first: every placeholder must name one.
        if (const YAML::Node slots = root["slots"]) {
            for (const auto& entry : slots) {
                set.slots_[entry.first.as<std::string>()] = slot_type(file, entry.second);
            }
        }
        const YAML::Node responses = root["responses"];
        if (!responses || !responses.IsMap()) {
            fail(file, root, "no `responses` map");
        }
        for (const auto& entry : responses) {
            const std::string act = entry.first.as<std::string>();
            const YAML::Node list = entry.second;
            if (!list.IsSequence() || list.size() == 0) {
                fail(file, entry.first, "act \"" + act + "\" needs a list of variations");
            }
            if (set.acts_.contains(act)) {
                fail(file, entry.first, "act \"" + act + "\" is defined twice");
            }
            std::vector<Variation> variations;
            for (const YAML::Node& node : list) {
                if (!node.IsMap()) {
                    fail(file, node, "a variation of \"" + act + "\" must be a map");
                }
                Variation v;
                v.origin = std::string(file) + ":" + std::to_string(node.Mark().line + 1);
                v.text = locale_texts(file, node, "a variation of \"" + act + "\"");
                if (const YAML::Node channels = node["channels"]) {
                    for (const auto& channel : channels) {
                        v.channels[channel.first.as<std::string>()] = locale_texts(
                            file, channel.second,
                            "the " + channel.first.as<std::string>() + " form of \"" + act + "\"");
                    }
                }
                if (const YAML::Node required = node["requires"]) {
                    v.requires_slots = required.as<std::vector<std::string>>();
                }
                if (const YAML::Node when = node["when"]) {
                    v.when = when.as<std::map<std::string, std::string>>();
                }

                // Every placeholder, condition and requirement names a declared slot.
                std::set<std::string> used;
                auto check = [&](const std::string& text, const YAML::Node& at) {
                    for (const std::string& name : placeholders(text)) {
                        if (!set.slots_.contains(name)) {
                            fail(file, at,
                                 "\"" + act + "\" uses the undeclared slot {" + name +
                                     "} (declare it under `slots`)");
                        }
                        used.insert(name);
                    }
                };
                for (const auto& [locale, text] : v.text) {
                    check(text, node[locale]);
                }
                for (const auto& [channel, texts] : v.channels) {
                    for (const auto& [locale, text] : texts) {
                        check(text, node["channels"][channel][locale]);
                    }
                }
                for (const std::string& name : v.requires_slots) {
                    if (!set.slots_.contains(name)) {
                        fail(file, node["requires"],
                             "\"" + act + "\" requires the undeclared slot " + name);
                    }
                }
                for (const auto& [name, value] : v.when) {
                    if (!set.slots_.contains(name)) {
                        fail(file, node["when"],
                             "\"" + act + "\" tests the undeclared slot " + name);
                    }
                }
                v.slots.assign(used.begin(), used.end());
                variations.push_back(std::move(v));
            }
            set.act_origin_[act] =
                std::string(file) + ":" + std::to_string(entry.first.Mark().line + 1);
            set.acts_.emplace(act, std::move(variations));
        }
    } catch (const YAML::Exception& e) {
        throw core::Error(std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return set;
}

TemplateSet TemplateSet::load(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        return parse(read_file(path), path.string());
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    TemplateSet all;
    for (const fs::path& file : files) {
        all.merge(parse(read_file(file), file.string()));
    }
    return all;
}

void TemplateSet::merge(const TemplateSet& other) {
    for (const auto& [name, type] : other.slots_) {
        auto [it, added] = slots_.emplace(name, type);
        if (!added && it->second != type) {
            throw core::Error("slot " + name + " is declared with two different types");
        }
    }
    for (const auto& [act, variations] : other.acts_) {
        if (acts_.contains(act)) {
            throw core::Error(other.act_origin_.at(act) + ": act \"" + act +
                              "\" is already defined at " + act_origin_.at(act));
        }
        acts_.emplace(act, variations);
        act_origin_[act] = other.act_origin_.at(act);
    }
}

void TemplateSet::require(std::span<const std::string_view> acts, std::string_view where) const {
    std::string missing;
    for (std::string_view act : acts) {
        if (!contains(act)) {
            missing += (missing.empty() ? "" : ", ") + std::string(act);
        }
    }
    if (!missing.empty()) {
        throw core::Error(std::string(where) + ": no response template for " + missing);
    }
}

bool TemplateSet::contains(std::string_view act) const {
    return acts_.find(act) != acts_.end();
}

std::vector<std::string> TemplateSet::acts() const {
    std::vector<std::string> out;
    for (const auto& [act, variations] : acts_) {
        out.push_back(act);
    }
    return out;
}

std::span<const Variation> TemplateSet::variations(std::string_view act) const {
    auto it = acts_.find(act);
    return it == acts_.end() ? std::span<const Variation>() : std::span(it->second);
}

core::Result<std::string> TemplateSet::format_slot(std::string_view name,
                                                   const boost::json::object& slots,
                                                   std::string_view locale) const {
    const boost::json::value* value = slots.if_contains(name);
    if (value == nullptr || value->is_null()) {
        return make_error_code(Errc::missing_slot);
    }
    auto type_it = slots_.find(std::string(name));
    SlotType type = type_it == slots_.end() ? SlotType::text : type_it->second;
    const auto bad = make_error_code(Errc::bad_slot_value);
    switch (type) {
        case SlotType::text:
            if (value->is_string()) {
                return std::string(value->as_string());
            }
            return boost::json::serialize(*value);
        case SlotType::money: {
            // The amount and its currency: an object, or the `<name>_currency`/`currency` slot.
            const boost::json::value* amount = value;
            std::string currency = "CNY";
            if (const boost::json::object* o = value->if_object()) {
                amount = o->if_contains("amount");
                if (const auto* c = o->if_contains("currency"); c && c->is_string()) {
                    currency = std::string(c->as_string());
                }
            } else if (const auto* c = slots.if_contains(std::string(name) + "_currency");
                       c && c->is_string()) {
                currency = std::string(c->as_string());
            } else if (const auto* c2 = slots.if_contains("currency"); c2 && c2->is_string()) {
                currency = std::string(c2->as_string());
            }
            auto minor = amount ? scaled_value(*amount, 2) : std::nullopt;
            if (!minor || currency.size() != 3) {
                return bad;
            }
            return format_money(*minor, currency, locale);
        }
        case SlotType::date: {
            auto date =
                value->is_string() ? format_iso_date(value->as_string(), locale) : std::nullopt;
            if (!date) {
                return bad;
            }
            return *date;
        }
        case SlotType::percent: {
            auto percent = format_percent(*value, 2, locale);
            if (!percent) {
                return bad;
            }
            return *percent;
        }
        case SlotType::number: {
            // Whole numbers without decimals; others with two.
            auto whole = scaled_value(*value, 0);
            auto cents = scaled_value(*value, 2);
            if (!whole || !cents) {
                return bad;
            }
            return *cents == *whole * 100 ? format_scaled(*whole, 0) : format_scaled(*cents, 2);
        }
    }
    return bad;
}

core::Result<std::string> TemplateSet::fill(std::string_view text, const boost::json::object& slots,
                                            std::string_view locale) const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            out.push_back(c);
            ++i;
            continue;
        }
        std::size_t end = c == '{' ? text.find('}', i) : std::string_view::npos;
        if (end == std::string_view::npos) {
            out.push_back(c);
            continue;
        }
        auto value = format_slot(text.substr(i + 1, end - i - 1), slots, locale);
        if (!value) {
            return value.error();
        }
        out += *value;
        i = end;
    }
    return out;
}

core::Result<std::string> TemplateSet::render(std::string_view act,
                                              const boost::json::object& slots,
                                              const RenderContext& context) const {
    auto it = acts_.find(act);
    if (it == acts_.end()) {
        return make_error_code(Errc::no_template);
    }

    // Eligible variations: every referenced and required slot given, every condition met.
    std::vector<const Variation*> eligible;
    for (const Variation& v : it->second) {
        auto given = [&](const std::string& name) {
            const boost::json::value* x = slots.if_contains(name);
            return x != nullptr && !x->is_null();
        };
        bool ok = std::all_of(v.slots.begin(), v.slots.end(), given) &&
                  std::all_of(v.requires_slots.begin(), v.requires_slots.end(), given);
        for (const auto& [name, expected] : v.when) {
            const boost::json::value* x = slots.if_contains(name);
            ok = ok && x != nullptr && plain(*x) == expected;
        }
        if (ok) {
            eligible.push_back(&v);
        }
    }
    if (eligible.empty()) {
        return make_error_code(Errc::missing_slot);
    }
    const Variation& chosen = *eligible[context.seed % eligible.size()];

    const std::string locale = context.locale == "zh-CN" ? "zh-CN" : "en";
    const auto channel = chosen.channels.find(context.channel);
    const std::string& text =
        channel != chosen.channels.end() ? channel->second.at(locale) : chosen.text.at(locale);
    return fill(text, slots, locale);
}

}  // namespace teller::nlg
