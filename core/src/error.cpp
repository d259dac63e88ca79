// The "teller" error category: human-readable messages for Errc.
#include "teller/core/error.hpp"

namespace teller::core {
namespace {

class TellerCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "teller"; }

    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::ok:
                return "ok";
            case Errc::malformed_json:
                return "malformed JSON";
            case Errc::invalid_utf8:
                return "invalid UTF-8";
            case Errc::unsupported_version:
                return "unsupported schema version";
            case Errc::missing_field:
                return "missing or mistyped field";
            case Errc::payload_too_large:
                return "payload too large";
            case Errc::broker_unavailable:
                return "Kafka broker unavailable";
            case Errc::delivery_failed:
                return "Kafka delivery failed";
            case Errc::timeout:
                return "timed out";
            case Errc::service_unavailable:
                return "HTTP service (bank backend or provider API) unavailable or refusing";
            case Errc::store_unavailable:
                return "session store unavailable";
            case Errc::store_protocol:
                return "unexpected reply from the session store";
            case Errc::model_missing:
                return "model file missing";
            case Errc::model_corrupt:
                return "model file corrupt";
            case Errc::model_mismatch:
                return "model does not match its training data";
            case Errc::skill_load_failed:
                return "skill plugin could not be loaded";
            case Errc::skill_failed:
                return "skill action failed";
            case Errc::unknown_skill:
                return "unknown skill";
        }
        return "unknown teller error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& teller_category() noexcept {
    static const TellerCategory category;
    return category;
}

}  // namespace teller::core
