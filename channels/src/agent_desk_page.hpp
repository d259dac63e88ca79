// The built-in agent desk page served at GET /agent (private).
#pragma once

#include <string>

namespace teller::channels::detail {

/// The page and the hashes that let a Content-Security-Policy allow exactly its inline style
/// and script and nothing else.
struct AgentDeskPage {
    std::string html;
    std::string style_hash;   ///< "'sha256-...'" of the inline <style> body
    std::string script_hash;  ///< "'sha256-...'" of the inline <script> body
};

/// Built once on first use; thread-safe.
const AgentDeskPage& agent_desk_page();

}  // namespace teller::channels::detail
