// Command-line parsing and help text for the teller subcommands.
#include "cli.hpp"

#include <iomanip>
#include <string>

#include "teller/core/error.hpp"

namespace teller::app {

std::optional<Args> Args::parse(const CommandSpec& spec, const std::vector<std::string>& argv,
                                std::ostream& err) {
    Args args;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (word == "-h") {
            args.values_["help"].push_back("");
            continue;
        }
        if (!word.starts_with("--")) {
            err << "teller " << spec.name << ": unexpected argument '" << word << "' (see teller "
                << spec.name << " --help)\n";
            return std::nullopt;
        }

        // "--name value" or "--name=value".
        std::string name = word.substr(2);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const FlagSpec* flag = nullptr;
        for (const FlagSpec& f : spec.flags) {
            if (f.name == name) {
                flag = &f;
            }
        }
        if (name == "help") {
            args.values_["help"].push_back("");
            continue;
        }
        if (flag == nullptr) {
            err << "teller " << spec.name << ": unknown option --" << name << " (see teller "
                << spec.name << " --help)\n";
            return std::nullopt;
        }
        if (flag->value_name.empty()) {
            args.values_[name].push_back("");
            continue;
        }
        std::string value;
        if (inline_value) {
            value = *inline_value;
        } else if (i + 1 < argv.size()) {
            value = argv[++i];
        } else {
            err << "teller " << spec.name << ": --" << name << " needs a value ("
                << flag->value_name << ")\n";
            return std::nullopt;
        }
        if (!flag->repeatable && args.values_.contains(name)) {
            err << "teller " << spec.name << ": --" << name << " given twice\n";
            return std::nullopt;
        }
        args.values_[name].push_back(value);
    }
    return args;
}

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) {
        return std::nullopt;
    }
    return it->second.back();
}

int Args::get_int(const std::string& name, int fallback, int min, int max) const {
    const std::optional<std::string> value = get(name);
    if (!value) {
        return fallback;
    }
    long long n = 0;
    bool ok = !value->empty() && value->size() <= 12;
    for (std::size_t i = 0; ok && i < value->size(); ++i) {
        const char c = (*value)[i];
        if (c == '-' && i == 0 && value->size() > 1) {
            continue;
        }
        ok = c >= '0' && c <= '9';
        n = n * 10 + (c - '0');
    }
    if ((*value)[0] == '-') {
        n = -n;
    }
    if (!ok || n < min || n > max) {
        throw core::Error("--" + name + " " + *value + ": expected a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<int>(n);
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

void print_help(const CommandSpec& spec, std::ostream& out) {
    out << "Usage: teller " << spec.name << " [options]\n\n" << spec.summary << "\n";
    if (!spec.description.empty()) {
        out << "\n" << spec.description << "\n";
    }
    out << "\nOptions:\n";
    for (const FlagSpec& f : spec.flags) {
        std::string left = "--" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
        out << "  " << std::left << std::setw(28) << left << f.help
            << (f.repeatable ? " (repeatable)" : "") << "\n";
    }
    out << "  " << std::left << std::setw(28) << "-h, --help"
        << "show this help\n";
}

}  // namespace teller::app
