// A small command-line parser for `teller <command> [--flag value]...` with generated --help.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace teller::app {

/// One flag a command accepts. `value_name` empty: a switch without a value.
struct FlagSpec {
    std::string name;        ///< without the leading "--"
    std::string value_name;  ///< "PATH", "PORT", ... or "" for a switch
    std::string help;
    bool repeatable = false;
};

/// What a command accepts, for parsing and for --help.
struct CommandSpec {
    std::string name;
    std::string summary;
    std::string description;  ///< printed under the usage line; may be several lines
    std::vector<FlagSpec> flags;
};

/// Parsed flags of one command.
class Args {
public:
    /// Parses argv after the command name. Returns nullopt and writes a message naming the
    /// problem to `err` on an unknown flag, a missing value or a stray argument.
    static std::optional<Args> parse(const CommandSpec& spec, const std::vector<std::string>& argv,
                                     std::ostream& err);

    bool has(const std::string& name) const { return values_.contains(name); }
    std::optional<std::string> get(const std::string& name) const;
    /// The flag's value as a whole number from `min` to `max`, `fallback` when absent. Throws
    /// core::Error naming the flag when the value is anything else ("3abc", "1e3", too big).
    int get_int(const std::string& name, int fallback, int min, int max) const;
    std::vector<std::string> all(const std::string& name) const;

private:
    std::map<std::string, std::vector<std::string>> values_;
};

/// Writes `teller <command>`'s usage, description and flags.
void print_help(const CommandSpec& spec, std::ostream& out);

}  // namespace teller::app
