/* The versioned C ABI between Teller and skill plugins (shared libraries).
 *
 * A skill exports one function, `teller_skill_entry`, returning a pointer to a static
 * `teller_skill_v1` table. Everything crossing the boundary is UTF-8 JSON in C strings, so a
 * skill can be built with any compiler and any C++ standard library.
 *
 * manifest_json (static, owned by the skill):
 *   { "name": "cards", "version": "1.0.0", "description": "...",
 *     "intents": [ { "name": "cards.lost_card",
 *                    "title": { "en": "Report a lost card", "zh-CN": "挂失" },
 *                    "verified": true,   (optional: only a verified customer may use it)
 *                    "examples": { "en": ["I lost my card", ...], "zh-CN": ["我的卡丢了", ...] } }
 *   ],
 *   "acts": ["cards.blocked", ...] }   (optional: the response-template acts the skill's
 *                                       replies name; the host refuses to start when the
 *                                       templates in knowledge/responses lack one)
 *
 * handle(state, request_json) -> response_json, one customer turn:
 *   request:  { "conversation": "...", "channel": "webchat", "locale": "en" | "zh-CN",
 *               "text": "...", "intent": { "name": "...", "confidence": 0.93 },
 *               (name is "" when the confidence is below the host's threshold: the skill
 *                should then read the text itself and never treat the turn as a yes)
 *               "entities": [ { "type": "...", "value": "...", "text": "..." } ],
 *               "state": {...} | null,   (this skill's own state from the session)
 *               "slots": {...}, "customer": { "id": "...", "verified": false } }
 *   response: { "replies": [ { "text": "...", "quick_replies": [ { "title": "...",
 *                                                                  "payload": "..." } ],
 *                              "act": "loans.installment",   (optional, one of the manifest's
 *                              "slots": { "principal": 20000, ... },  acts: the host renders
 *                                       it per locale and channel; "text" is the fallback)
 *                              "items": [ { "act": "cards.transaction", "slots": {...},
 *                                           "text": "..." } ] } ],
 *                             (optional: a list; each item is rendered like a reply, its "text"
 *                              the fallback, and added as a line of its own after the reply's
 *                              text, in order, in the same message)
 *               "state": {...} | null,   (object: the skill keeps the conversation;
 *                                         null: the skill's flow is over)
 *               "slots": {...},          (slot updates, optional)
 *               "events": [ {...} ],     (extra audit events, optional)
 *               "handoff": false }       (true: hand the conversation to a human)
 *   The returned string is released with free_string. NULL means the action failed.
 */
#ifndef TELLER_PLUGINS_SKILL_API_H
#define TELLER_PLUGINS_SKILL_API_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The API version this header describes. A host loads only skills built for it. */
#define TELLER_SKILL_API_VERSION 1u

/** The symbol every skill exports. */
#define TELLER_SKILL_ENTRY_SYMBOL "teller_skill_entry"

/** Services the host offers to skills. Valid from init until shutdown returns. */
typedef struct teller_host_v1 {
    uint32_t api_version;
    void* host;
    /** Calls the bank backend: `operation` ("cards.list", "cards.block", ...) with JSON
     *  arguments. Returns a JSON string to release with free_string, or NULL on failure. */
    char* (*backend_call)(void* host, const char* operation, const char* args_json);
    void (*free_string)(char* text);
    /** Writes a line to the skill's logger; level 0 trace .. 4 error. */
    void (*log)(void* host, int level, const char* message);
} teller_host_v1;

/** What a skill gives the host. */
typedef struct teller_skill_v1 {
    uint32_t api_version; /* TELLER_SKILL_API_VERSION the skill was built with */
    const char* name;
    const char* manifest_json;
    /** Prepares the skill; `config_json` is the skill's configuration object. Returns 0 on
     *  success and stores the skill's own state in *state. */
    int (*init)(const teller_host_v1* host, const char* config_json, void** state);
    /** Handles one turn; see the file comment. Must be thread-safe for concurrent calls. */
    char* (*handle)(void* state, const char* request_json);
    void (*free_string)(char* text);
    void (*shutdown)(void* state);
} teller_skill_v1;

/** The entry point's type. `host_api_version` lets a skill refuse a host it does not know. */
typedef const teller_skill_v1* (*teller_skill_entry_fn)(uint32_t host_api_version);

#ifdef __cplusplus
}
#endif

#endif /* TELLER_PLUGINS_SKILL_API_H */
