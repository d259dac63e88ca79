// The demo bank backend: customers, accounts, cards and transactions from JSON; changes in memory.
#include "teller/core/backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace teller::core {
namespace json = boost::json;
namespace {

// Checks that `customer` has the members the operations rely on.
void validate_customer(const json::value& customer) {
    const json::object* c = customer.if_object();
    if (c == nullptr || !c->contains("id") || !(*c).at("id").is_string()) {
        throw Error("demo bank: every customer needs a string \"id\"");
    }
    for (std::string_view list : {"accounts", "cards"}) {
        const json::value* v = c->if_contains(list);
        if (v != nullptr && !v->is_array()) {
            throw Error("demo bank: \"" + std::string(list) + "\" must be an array");
        }
    }
    if (const json::value* cards = c->if_contains("cards")) {
        for (const json::value& card : cards->as_array()) {
            const json::object* o = card.if_object();
            if (o == nullptr || !o->contains("last4") || !o->at("last4").is_string() ||
                !o->contains("status") || !o->at("status").is_string()) {
                throw Error("demo bank: every card needs string \"last4\" and \"status\"");
            }
        }
    }
}

class DemoBackend final : public Backend {
public:
    explicit DemoBackend(json::object data) : data_(std::move(data)) {
        const json::value* customers = data_.if_contains("customers");
        if (customers == nullptr || !customers->is_array() || customers->as_array().empty()) {
            throw Error("demo bank: \"customers\" must be a non-empty array");
        }
        for (const json::value& c : customers->as_array()) {
            validate_customer(c);
        }
    }

    Result<json::value> call(std::string_view operation, const json::object& args) override {
        const json::value* who = args.if_contains("customer");
        if (who == nullptr || !who->is_string()) {
            return Errc::missing_field;
        }

        std::lock_guard lock(mutex_);
        json::object& customer = find_customer(who->as_string());
        if (operation == "cards.list") {
            return json::object{{"cards", cards_of(customer)}};
        }
        if (operation == "accounts.balance") {
            json::value accounts = customer.contains("accounts") ? customer.at("accounts")
                                                                 : json::value(json::array{});
            return json::object{{"accounts", accounts}};
        }
        if (operation == "cards.block" || operation == "cards.activate") {
            const json::value* last4 = args.if_contains("last4");
            if (last4 == nullptr || !last4->is_string()) {
                return Errc::missing_field;
            }
            return change_card(customer, last4->as_string(), operation == "cards.block");
        }
        if (operation == "cards.transactions") {
            return transactions_of(customer, args);
        }
        if (operation == "cards.limits" || operation == "cards.set_limit") {
            json::object* card = card_of(customer, args);
            if (card == nullptr) {
                return json::object{{"error", "card_not_found"}};
            }
            return operation == "cards.limits" ? limits_of(*card) : set_limit(*card, args);
        }
        if (operation == "cards.dispute") {
            return dispute(customer, args);
        }
        if (operation == "otp.send" && !known_customer(who->as_string())) {
            // A code goes only to a number the bank has: an unknown sender is not a customer.
            return json::object{{"sent", false}, {"error", "unknown_customer"}};
        }
        if (operation == "otp.send") {
            // The demo bank sends nothing: it accepts the code in its file ("otp_demo_code").
            std::string phone = customer.contains("phone") && customer.at("phone").is_string()
                                    ? std::string(customer.at("phone").as_string())
                                    : std::string();
            std::string shown = phone.size() > 2 ? std::string(phone.size() - 2, '*') +
                                                       phone.substr(phone.size() - 2)
                                                 : std::string();
            return json::object{{"sent", true}, {"destination", shown}};
        }
        if (operation == "otp.verify") {
            const json::value* code = args.if_contains("code");
            const json::value* expected = data_.if_contains("otp_demo_code");
            bool ok = code != nullptr && code->is_string() && expected != nullptr &&
                      expected->is_string() && code->as_string() == expected->as_string();
            return json::object{{"verified", ok}};
        }
        if (operation == "accounts.transfer") {
            return transfer(customer, args);
        }
        if (operation == "crm.callback" || operation == "crm.feedback") {
            return record_crm(customer, operation, args);
        }
        return boost::system::errc::make_error_code(boost::system::errc::operation_not_supported);
    }

private:
    // Whether `who` is a customer's id, one of their senders or their phone number.
    bool known_customer(json::string_view who) const {
        for (const json::value& c : data_.at("customers").as_array()) {
            const json::object& o = c.as_object();
            if (o.at("id").as_string() == who) {
                return true;
            }
            if (const json::value* phone = o.if_contains("phone");
                phone && phone->is_string() && phone->as_string() == who) {
                return true;
            }
            if (const json::value* senders = o.if_contains("senders");
                senders && senders->is_array()) {
                for (const json::value& s : senders->as_array()) {
                    if (s.is_string() && s.as_string() == who) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // The customer whose id or one of whose senders is `who`, else the default customer.
    json::object& find_customer(json::string_view who) {
        json::array& customers = data_.at("customers").as_array();
        for (json::value& c : customers) {
            json::object& o = c.as_object();
            if (o.at("id").as_string() == who) {
                return o;
            }
            if (const json::value* senders = o.if_contains("senders");
                senders && senders->is_array()) {
                for (const json::value& s : senders->as_array()) {
                    if (s.is_string() && s.as_string() == who) {
                        return o;
                    }
                }
            }
        }
        if (const json::value* d = data_.if_contains("default_customer"); d && d->is_string()) {
            for (json::value& c : customers) {
                if (c.as_object().at("id").as_string() == d->as_string()) {
                    return c.as_object();
                }
            }
        }
        return customers.front().as_object();
    }

    // The customer's cards as cards.list shows them (limits have their own operation).
    static json::array cards_of(const json::object& customer) {
        const json::value* cards = customer.if_contains("cards");
        json::array out = cards != nullptr ? cards->as_array() : json::array{};
        for (json::value& card : out) {
            card.as_object().erase("limits");
        }
        return out;
    }

    static std::string text_at(const json::object& o, std::string_view key) {
        const json::value* v = o.if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    }

    // The card named by args' "last4", or nullptr.
    static json::object* card_of(json::object& customer, const json::object& args) {
        std::string last4 = text_at(args, "last4");
        json::value* cards = customer.if_contains("cards");
        if (cards == nullptr || last4.empty()) {
            return nullptr;
        }
        for (json::value& card : cards->as_array()) {
            if (card.as_object().at("last4").as_string() == last4) {
                return &card.as_object();
            }
        }
        return nullptr;
    }

    static json::array& transaction_list(json::object& customer) {
        json::value& list = customer["transactions"];
        if (!list.is_array()) {
            list = json::array{};
        }
        return list.as_array();
    }

    // The card's newest transactions first, at most args' "limit" (default 5, at most 50).
    static json::value transactions_of(json::object& customer, const json::object& args) {
        if (card_of(customer, args) == nullptr) {
            return json::object{{"error", "card_not_found"}};
        }
        std::int64_t limit = 5;
        if (const json::value* l = args.if_contains("limit"); l && l->is_int64()) {
            limit = std::clamp<std::int64_t>(l->as_int64(), 1, 50);
        }
        std::vector<const json::object*> found;
        for (const json::value& t : transaction_list(customer)) {
            if (t.is_object() && text_at(t.as_object(), "last4") == text_at(args, "last4")) {
                found.push_back(&t.as_object());
            }
        }
        // ISO dates sort as text; the file's order breaks ties.
        std::stable_sort(found.begin(), found.end(), [](const auto* a, const auto* b) {
            return text_at(*a, "date") > text_at(*b, "date");
        });
        json::array out;
        for (const json::object* t : found) {
            if (static_cast<std::int64_t>(out.size()) == limit) {
                break;
            }
            json::object shown = *t;
            shown.erase("last4");
            out.push_back(std::move(shown));
        }
        return json::object{{"transactions", std::move(out)}};
    }

    // A decimal string ("1500", "1500.00"); nullopt for anything else.
    static std::optional<double> decimal(const json::value* v) {
        if (v == nullptr || !v->is_string() || v->as_string().empty()) {
            return std::nullopt;
        }
        std::string text(v->as_string());
        char* end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size() || !std::isfinite(value)) {
            return std::nullopt;
        }
        return value;
    }

    static json::value limits_of(const json::object& card) {
        const json::value* limits = card.if_contains("limits");
        return json::object{
            {"limits", limits != nullptr && limits->is_object() ? *limits : json::object{}},
            {"currency", card.contains("currency") ? card.at("currency") : json::value("USD")}};
    }

    // Sets one daily limit ("atm", "pos", "online") within its maximum.
    static json::value set_limit(json::object& card, const json::object& args) {
        json::value* limits = card.if_contains("limits");
        json::value* limit = limits != nullptr && limits->is_object()
                                 ? limits->as_object().if_contains(text_at(args, "kind"))
                                 : nullptr;
        if (limit == nullptr || !limit->is_object()) {
            return json::object{{"error", "unknown_limit"}};
        }
        if (text_at(card, "status") != "active") {
            return json::object{{"error", "card_not_active"}};
        }
        std::optional<double> amount = decimal(args.if_contains("amount"));
        std::optional<double> max = decimal(limit->as_object().if_contains("max"));
        if (!amount || *amount < 0) {
            return json::object{{"error", "invalid_amount"}};
        }
        if (max && *amount > *max + 1e-9) {
            return json::object{{"error", "over_maximum"}, {"max", limit->at("max")}};
        }
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.2f", *amount);
        limit->as_object()["daily"] = buffer;
        json::object out = limit->as_object();
        out["kind"] = text_at(args, "kind");
        return json::object{{"limit", std::move(out)}, {"currency", text_at(card, "currency")}};
    }

    // Opens a dispute case ("DSP-1001") on one of the customer's transactions.
    json::value dispute(json::object& customer, const json::object& args) {
        static constexpr std::string_view kReasons[] = {"not_recognised", "charged_twice",
                                                        "wrong_amount", "not_received"};
        std::string reason = text_at(args, "reason");
        if (std::find(std::begin(kReasons), std::end(kReasons), reason) == std::end(kReasons)) {
            return json::object{{"error", "invalid_reason"}};
        }
        std::string id = text_at(args, "transaction");
        for (json::value& t : transaction_list(customer)) {
            json::object* o = t.if_object();
            if (o == nullptr || text_at(*o, "id") != id || id.empty()) {
                continue;
            }
            if (args.contains("last4") && text_at(args, "last4") != text_at(*o, "last4")) {
                break;  // the transaction is on another card
            }
            if (o->contains("dispute")) {
                return json::object{{"error", "already_disputed"}, {"case", o->at("dispute")}};
            }
            std::string reference = "DSP-" + std::to_string(next_crm_number_++);
            (*o)["dispute"] = reference;
            return json::object{{"case", reference}, {"transaction", *o}};
        }
        return json::object{{"error", "transaction_not_found"}};
    }

    static json::value change_card(json::object& customer, json::string_view last4, bool block) {
        json::value* cards = customer.if_contains("cards");
        if (cards != nullptr) {
            for (json::value& card : cards->as_array()) {
                json::object& o = card.as_object();
                if (o.at("last4").as_string() != last4) {
                    continue;
                }
                if (!block && o.at("status").as_string() == "blocked") {
                    return json::object{{"error", "card_blocked"}};
                }
                o["status"] = block ? "blocked" : "active";
                return json::object{{"card", o}};
            }
        }
        return json::object{{"error", "card_not_found"}};
    }

    // Moves `amount` ("250.00 USD") between two of the customer's accounts of that currency.
    json::value transfer(json::object& customer, const json::object& args) {
        auto text = [&](std::string_view key) {
            const json::value* v = args.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
        };
        std::string amount_text = text("amount");
        double amount = std::strtod(amount_text.c_str(), nullptr);
        std::string currency = amount_text.substr(amount_text.find(' ') + 1);
        json::object* from = nullptr;
        json::object* to = nullptr;
        if (json::value* accounts = customer.if_contains("accounts");
            accounts && accounts->is_array()) {
            for (json::value& a : accounts->as_array()) {
                json::object& o = a.as_object();
                if (o.at("id").as_string() == text("from_account")) {
                    from = &o;
                }
                if (o.at("id").as_string() == text("to_account")) {
                    to = &o;
                }
            }
        }
        if (from == nullptr || to == nullptr || from == to || !(amount > 0)) {
            return json::object{{"error", "invalid_transfer"}};
        }
        if (from->at("currency").as_string() != currency ||
            to->at("currency").as_string() != currency) {
            return json::object{{"error", "currency_mismatch"}};
        }
        double available = std::strtod(from->at("balance").as_string().c_str(), nullptr);
        if (amount > available + 1e-9) {
            return json::object{{"error", "insufficient_funds"}};
        }
        double credited = std::strtod(to->at("balance").as_string().c_str(), nullptr) + amount;
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.2f", available - amount);
        (*from)["balance"] = buffer;
        std::snprintf(buffer, sizeof buffer, "%.2f", credited);
        (*to)["balance"] = buffer;
        return json::object{{"reference", "TR-" + std::to_string(next_crm_number_++)}};
    }

    // Keeps a callback request or a survey answer on the customer and gives it an id
    // ("CB-1001", "FB-1001").
    // TODO(teller): the demo bank keeps CRM records in memory only; they vanish on restart and
    // are invisible to other engine instances (a real deployment uses the HTTP backend).
    json::value record_crm(json::object& customer, std::string_view operation,
                           const json::object& args) {
        bool callback = operation == "crm.callback";
        std::string id = (callback ? "CB-" : "FB-") + std::to_string(next_crm_number_++);
        json::object record = args;
        record.erase("customer");
        record["id"] = id;
        json::value& list = customer[callback ? "callbacks" : "feedback"];
        if (!list.is_array()) {
            list = json::array{};
        }
        list.as_array().push_back(record);
        return json::object{{"id", id}, {"record", record}};
    }

    std::mutex mutex_;
    json::object data_;
    int next_crm_number_ = 1001;
};

}  // namespace

std::unique_ptr<Backend> make_demo_backend_from_json(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        throw Error("demo bank: not a JSON object");
    }
    return std::make_unique<DemoBackend>(std::move(value.as_object()));
}

std::unique_ptr<Backend> make_demo_backend(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("demo bank: cannot read " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return make_demo_backend_from_json(text.str());
    } catch (const Error& e) {
        throw Error(std::string(e.what()) + " (" + path + ")");
    }
}

}  // namespace teller::core
