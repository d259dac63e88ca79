// Response templates: variations per act, slot conditions, locales, channel forms; rendering.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "teller/core/error.hpp"
#include "teller/nlg/error.hpp"

namespace teller::nlg {

/// How a slot's value is shown (see format.hpp).
enum class SlotType { text, money, date, percent, number };

/// The locales every variation must have.
inline constexpr std::string_view kLocales[] = {"en", "zh-CN"};

/// One phrasing of a response. Texts hold `{slot}` placeholders (`{{` and `}}` are literal
/// braces).
struct Variation {
    std::map<std::string, std::string> text;  ///< locale -> text
    /// channel -> locale -> text; used instead of `text` on that channel.
    std::map<std::string, std::map<std::string, std::string>> channels;
    std::vector<std::string> requires_slots;  ///< eligible only when all are given
    std::map<std::string, std::string> when;  ///< eligible only when each slot equals the text
    std::vector<std::string> slots;           ///< every slot its texts reference, sorted
    std::string origin;                       ///< "file:line" of the variation
};

/// Where and to whom a reply is rendered.
struct RenderContext {
    std::string locale = "en";
    std::string channel;
    /// Picks among eligible variations; variation_seed() makes replays pick the same one.
    std::uint64_t seed = 0;
};

/// A stable seed for one turn of one conversation (FNV-1a of "conversation#turn").
std::uint64_t variation_seed(std::string_view conversation, std::int64_t turn) noexcept;

/// A set of response templates loaded from YAML (format: knowledge/README.md). Immutable after
/// loading; every const member is thread-safe.
class TemplateSet {
public:
    /// Loads one YAML file, or every `*.yaml` file in a folder (sorted by name). Throws
    /// core::Error "file:line: problem" for YAML syntax, a variation missing a locale, a
    /// placeholder naming an undeclared slot, an unknown slot type, an act defined twice.
    static TemplateSet load(const std::filesystem::path& path);

    /// As load() for YAML text; `file` names it in errors.
    static TemplateSet parse(std::string_view yaml, std::string_view file);

    /// Adds `other`'s slots and acts. Throws core::Error on an act or slot defined in both.
    void merge(const TemplateSet& other);

    /// Throws core::Error naming `where` and the missing acts when any act in `acts` has no
    /// template (start-up check for the acts the code renders).
    void require(std::span<const std::string_view> acts, std::string_view where) const;

    bool contains(std::string_view act) const;
    std::vector<std::string> acts() const;
    /// The variations of `act` (empty when unknown).
    std::span<const Variation> variations(std::string_view act) const;
    /// Declared slot types.
    const std::map<std::string, SlotType>& slot_types() const noexcept { return slots_; }

    /// Renders `act`: picks an eligible variation (all its slots given, conditions met) by
    /// `context.seed`, takes the channel form when one exists, and fills its slots formatted
    /// per locale. Errors: no_template, missing_slot (no eligible variation), bad_slot_value.
    core::Result<std::string> render(std::string_view act, const boost::json::object& slots,
                                     const RenderContext& context) const;

    /// Fills the placeholders of `text` with `slots` formatted per `locale`. Errors:
    /// missing_slot, bad_slot_value.
    core::Result<std::string> fill(std::string_view text, const boost::json::object& slots,
                                   std::string_view locale) const;

    /// One slot value formatted by its declared type (undeclared slots as text). Money takes
    /// its currency from an object value {"amount", "currency"}, else from the slot
    /// `<name>_currency`, else `currency`, else CNY. Errors: bad_slot_value.
    core::Result<std::string> format_slot(std::string_view name, const boost::json::object& slots,
                                          std::string_view locale) const;

private:
    std::map<std::string, SlotType> slots_;
    std::map<std::string, std::vector<Variation>, std::less<>> acts_;
    std::map<std::string, std::string, std::less<>> act_origin_;
};

/// The placeholder names in `text`, in order of appearance (duplicates kept).
std::vector<std::string> placeholders(std::string_view text);

}  // namespace teller::nlg
