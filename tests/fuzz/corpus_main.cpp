// Runs a fuzz entry point without libFuzzer: the seed corpus, then seeded mutations of it.
//
// Usage: <name>_corpus <corpus dir or file>... [--mutations N] [--seed S]
// Every file is passed to LLVMFuzzerTestOneInput as is, then N mutations of each (bit flips,
// byte changes, truncations, insertions, deletions, duplicated chunks, splices with another
// seed), drawn from a fixed seed so a failure repeats. The environment variable
// TELLER_FUZZ_MUTATIONS overrides N. If an input crashes the entry point, it is written to
// ./crash-<name>-<n> first, for `fuzz_<name> crash-...` or a regression seed.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
namespace fs = std::filesystem;

// The input being run, for the crash handler (which may only use async-signal-safe calls).
const std::uint8_t* g_current = nullptr;
std::size_t g_current_size = 0;
char g_crash_path[512] = "crash-input";

void save_current_input(int signal) {
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && g_current != nullptr) {
        std::size_t done = 0;
        while (done < g_current_size) {
            ssize_t n = ::write(fd, g_current + done, g_current_size - done);
            if (n <= 0) {
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
    }
    static const char kMessage[] = "\ncorpus driver: crashing input saved to ";
    (void)!::write(2, kMessage, sizeof kMessage - 1);
    (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
    (void)!::write(2, "\n", 1);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

void run(const std::string& input) {
    g_current = reinterpret_cast<const std::uint8_t*>(input.data());
    g_current_size = input.size();
    LLVMFuzzerTestOneInput(g_current, g_current_size);
    g_current = nullptr;
}

// One random edit of `input`; `other` is another seed to splice from.
std::string mutate(std::string input, const std::string& other, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    static const std::vector<std::string> kTokens = {"\"",
                                                     "\\",
                                                     "{",
                                                     "}",
                                                     "[",
                                                     "]",
                                                     ":",
                                                     ",",
                                                     "\n",
                                                     "\r\n",
                                                     "\0",
                                                     "\xff",
                                                     "\xc3",
                                                     "\xe4\xb8",
                                                     "\xf0\x9f\x98",
                                                     "\xed\xa0\x80",
                                                     "-",
                                                     "0",
                                                     "9999999999999999999999",
                                                     "1e400",
                                                     "null",
                                                     "true",
                                                     "\"v\":99",
                                                     "\u4e07",
                                                     "\\u0000",
                                                     "\\ud800",
                                                     "%",
                                                     "$",
                                                     "#",
                                                     ",,,",
                                                     "\"\"\"",
                                                     "{{",
                                                     "!!",
                                                     "&a *a",
                                                     "- ",
                                                     ": ",
                                                     "<<: ",
                                                     "\t",
                                                     " ",
                                                     "cvv",
                                                     "4111 1111 1111 1111"};
    int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits; ++e) {
        switch (pick(9)) {
            case 0:  // flip a bit
                if (!input.empty()) {
                    input[pick(input.size())] ^= static_cast<char>(1u << pick(8));
                }
                break;
            case 1:  // set a byte to anything
                if (!input.empty()) {
                    input[pick(input.size())] = static_cast<char>(pick(256));
                }
                break;
            case 2:  // truncate
                input.resize(pick(input.size() + 1));
                break;
            case 3:  // insert random bytes
                input.insert(pick(input.size() + 1), std::string(1 + pick(8), '\0'));
                for (std::size_t i = 0; i < input.size() && pick(4) != 0; ++i) {
                    input[pick(input.size())] = static_cast<char>(pick(256));
                }
                break;
            case 4:  // delete a chunk
                if (!input.empty()) {
                    std::size_t at = pick(input.size());
                    input.erase(at, 1 + pick(input.size() - at));
                }
                break;
            case 5: {  // duplicate a chunk
                if (!input.empty()) {
                    std::size_t at = pick(input.size());
                    std::string chunk = input.substr(at, 1 + pick(64));
                    input.insert(pick(input.size() + 1), chunk);
                }
                break;
            }
            case 6: {  // insert a token that parsers care about
                const std::string& token = kTokens[pick(kTokens.size())];
                input.insert(pick(input.size() + 1), token);
                break;
            }
            case 7: {  // splice: our head with the other seed's tail
                std::size_t cut = pick(input.size() + 1);
                std::size_t from = pick(other.size() + 1);
                input = input.substr(0, cut) + other.substr(from);
                break;
            }
            default: {  // repeat a byte many times
                char c = input.empty() ? 'a' : input[pick(input.size())];
                input.insert(pick(input.size() + 1), std::string(1 + pick(300), c));
                break;
            }
        }
    }
    return input;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<fs::path> inputs;
    long mutations = 300;
    std::uint64_t seed = 20261204;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--mutations" && i + 1 < argc) {
            mutations = std::strtol(argv[++i], nullptr, 10);
        } else if (arg == "--seed" && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else if (fs::is_directory(arg)) {
            for (const auto& entry : fs::directory_iterator(arg)) {
                if (entry.is_regular_file()) {
                    inputs.push_back(entry.path());
                }
            }
        } else if (fs::is_regular_file(arg)) {
            inputs.push_back(arg);
        } else {
            std::cerr << "no such corpus file or folder: " << arg << "\n";
            return 2;
        }
    }
    if (const char* env = std::getenv("TELLER_FUZZ_MUTATIONS")) {
        mutations = std::strtol(env, nullptr, 10);
    }
    if (inputs.empty()) {
        std::cerr << "no seed inputs: give a corpus folder with at least one file\n";
        return 2;
    }
    std::sort(inputs.begin(), inputs.end());

    std::string name = fs::path(argv[0]).filename().string();
    std::snprintf(g_crash_path, sizeof g_crash_path, "crash-%s", name.c_str());
    for (int s : {SIGSEGV, SIGABRT, SIGFPE, SIGBUS, SIGILL}) {
        std::signal(s, save_current_input);
    }

    // The seeds as they are, then the mutations, all from one generator.
    std::vector<std::string> seeds;
    for (const fs::path& path : inputs) {
        seeds.push_back(read_file(path));
    }
    run(std::string());
    for (const std::string& input : seeds) {
        run(input);
    }
    std::mt19937_64 rng(seed);
    long runs = 1 + static_cast<long>(seeds.size());
    for (std::size_t s = 0; s < seeds.size(); ++s) {
        std::string current = seeds[s];
        for (long m = 0; m < mutations; ++m) {
            const std::string& other = seeds[rng() % seeds.size()];
            // Mostly mutate the seed afresh; sometimes keep stacking edits on the last input.
            current = mutate(rng() % 4 == 0 ? current : seeds[s], other, rng);
            if (current.size() > (1u << 20)) {
                current.resize(1u << 20);
            }
            run(current);
            ++runs;
        }
    }
    std::cout << name << ": " << seeds.size() << " seeds, " << runs << " inputs run, no crash\n";
    return 0;
}
