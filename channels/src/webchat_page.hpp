// The built-in web chat page served at GET / (private).
#pragma once

#include <string>
#include <string_view>

namespace teller::channels::detail {

/// The page and the hashes that let a Content-Security-Policy allow exactly its inline style
/// and script and nothing else.
struct WebchatPage {
    std::string html;
    std::string style_hash;   ///< "'sha256-...'" of the inline <style> body
    std::string script_hash;  ///< "'sha256-...'" of the inline <script> body
};

/// Built once on first use; thread-safe.
const WebchatPage& webchat_page();

/// "'sha256-<base64>'" of `content`, for a Content-Security-Policy source list (the built-in
/// pages allow exactly their own inline style and script this way).
std::string csp_hash(std::string_view content);

}  // namespace teller::channels::detail
