// Entry point of the `teller` command: dispatches to the subcommands.
#include <algorithm>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "teller/core/error.hpp"

namespace {

void print_usage(std::ostream& out) {
    out << "Usage: teller <command> [options]\n\n"
           "Teller runs one customer-service bot behind web chat and messaging channels.\n\n"
           "Commands:\n";
    // The summaries start in one column, two spaces after the longest command name.
    std::size_t width = 0;
    for (const auto& command : teller::app::commands()) {
        width = std::max(width, command.spec.name.size());
    }
    for (const auto& command : teller::app::commands()) {
        out << "  " << command.spec.name << std::string(width + 2 - command.spec.name.size(), ' ');
        out << command.spec.summary << "\n";
    }
    out << "\nRun 'teller <command> --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> words(argv + 1, argv + argc);
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        print_usage(std::cout);
        return words.empty() ? 2 : 0;
    }
    if (words[0] == "--version") {
        std::cout << "teller 0.1.0\n";
        return 0;
    }

    for (const auto& command : teller::app::commands()) {
        if (command.spec.name != words[0]) {
            continue;
        }
        auto args =
            teller::app::Args::parse(command.spec, {words.begin() + 1, words.end()}, std::cerr);
        if (!args) {
            return 2;
        }
        if (args->has("help")) {
            teller::app::print_help(command.spec, std::cout);
            return 0;
        }
        try {
            return command.main(*args);
        } catch (const teller::core::Error& e) {
            std::cerr << "teller " << command.spec.name << ": " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "teller: unknown command '" << words[0] << "'\n\n";
    print_usage(std::cerr);
    return 2;
}
