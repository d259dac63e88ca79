// Expected failures of the NLG component (templates, knowledge base, FAQ retrieval, generator).
#pragma once

#include <boost/system/error_code.hpp>

namespace teller::nlg {

/// Values, never exceptions: a reply that cannot be rendered falls back to something else.
enum class Errc {
    ok = 0,
    no_template = 1,     ///< no response template for the act
    missing_slot = 2,    ///< every variation of the act needs a slot the caller did not give
    bad_slot_value = 3,  ///< a slot value cannot be formatted as its declared type
    faq_disabled = 4,    ///< no FAQ model is loaded
};

/// The category for Errc ("teller.nlg").
const boost::system::error_category& nlg_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), nlg_category()};
}

}  // namespace teller::nlg

namespace boost::system {
template <>
struct is_error_code_enum<teller::nlg::Errc> : std::true_type {};
}  // namespace boost::system
