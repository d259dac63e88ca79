// Helpers shared by the fuzz entry points: invariant checks and a per-process scratch file.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace teller::fuzz {

/// Aborts (a crash to libFuzzer and to the corpus driver) when `condition` is false.
inline void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
        std::abort();
    }
}

/// A file in the temp folder owned by this process, rewritten with each input (entry points that
/// read files: configuration, CSV). Not thread-safe; fuzzers run one input at a time.
inline const std::filesystem::path& write_scratch_file(std::string_view name,
                                                       std::string_view bytes) {
    static const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("teller-fuzz-" + std::to_string(::getpid()));
    static std::filesystem::path path;
    std::filesystem::create_directories(dir);
    path = dir / std::string(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

}  // namespace teller::fuzz
