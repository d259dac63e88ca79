// The WeChat Official Account channel (plain-text mode): signed XML webhooks, the echostr
// handshake, and delivery through the customer service message API.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

// ---- A small, strict XML reader ------------------------------------------------------------

/// One element: its name, its text (character data and CDATA, entities decoded; empty when it
/// has child elements), and its child elements in order. Attributes are checked and dropped.
struct XmlElement {
    std::string name;
    std::string text;
    std::vector<XmlElement> children;

    /// The first child called `name`, or nullptr.
    const XmlElement* child(std::string_view name) const noexcept;
};

/// Bounds on what parse_xml reads.
struct XmlLimits {
    std::size_t max_bytes = 64 * 1024;  ///< the whole document
    std::size_t max_depth = 8;          ///< nesting of elements, the root being 1
    std::size_t max_elements = 256;     ///< elements in the document
};

/// parse_xml's answer: the root element, or why the document was refused.
struct XmlResult {
    std::optional<XmlElement> root;
    std::string error;  ///< "" when `root` is set, else a reason with the byte offset
};

/// Parses a small XML document such as a WeChat message: an optional XML declaration, comments,
/// one root element with nested elements, character data, CDATA sections, the five predefined
/// entities and numeric character references. Refuses, as malformed: DOCTYPE and any other
/// declaration (so no entity can be defined, and nothing external is ever read: no XXE, no
/// entity expansion), processing instructions, mismatched or unclosed tags, text mixed with
/// child elements, unknown entities, characters XML forbids, text that is not UTF-8, and
/// documents past `limits`. Never throws; thread-safe.
XmlResult parse_xml(std::string_view document, const XmlLimits& limits = {});

// ---- Signatures ----------------------------------------------------------------------------

/// WeChat's request signature: the lower-case hex SHA-1 of `token`, `timestamp` and `nonce`
/// sorted as strings and concatenated.
/// https://developers.weixin.qq.com/doc/offiaccount/en/Basic_Information/Access_Overview.html
std::string wechat_signature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce);

// ---- The adapter ---------------------------------------------------------------------------

/// The WeChat Official Account adapter (channel "wechat"), plain-text mode only. Settings:
/// - `token` (required: the server token set on the WeChat platform), `app_id` and
///   `app_secret` (required: for the access token that delivery needs);
/// - `path` (default "/webhooks/wechat"), `welcome_text` (sent on subscribe),
///   `unsupported_text` (the answer to images, voice without recognition, video...),
///   `token_refresh_margin_s` (default 300: how long before expiry an access token is renewed),
///   `max_request_age_s` (default 300: a signed request whose timestamp is further from now is
///   refused with 403, so a captured request cannot be replayed later; 0 turns the check off).
/// An `encoding_aes_key` (encrypted "safe" mode) is refused: that mode is not supported.
/// The access token is cached in the process and shared through the store under
/// `wechat:access_token:<app_id>`; offered options under `wechat:options:<conversation>`.
/// Throws core::Error naming the setting when one is missing or invalid, or when
/// `context.store` is null.
std::unique_ptr<ChannelAdapter> make_wechat_adapter(const ChannelSettings& settings,
                                                    ChannelContext context);

}  // namespace teller::channels
