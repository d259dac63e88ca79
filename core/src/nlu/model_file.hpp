// The intent model's file format: magic, format version, JSON header, checksummed weight blobs.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "teller/core/error.hpp"

namespace teller::nlu::detail {

/// Layout: 8 magic bytes "TLRNLU\r\n", u32 format version, u64 header length, the header (JSON,
/// UTF-8), then each blob's bytes in header order. All integers little-endian. The header's
/// `blobs` array names each blob's dtype ("f32", "f16", "i64", "i8"), shape and byte length, and
/// `payload_sha256` covers every blob byte, so truncation and bit rot are both detected.
inline constexpr std::uint32_t kModelFormatVersion = 1;

/// A raw tensor: row-major bytes of `dtype` with `shape`.
struct Blob {
    std::string name;
    std::string dtype;
    std::vector<std::int64_t> shape;
    std::string bytes;
};

struct ModelFile {
    boost::json::object header;  ///< the model's own fields (labels, options, fingerprint)
    std::vector<Blob> blobs;
};

/// Writes to `<path>.tmp-<pid>` and renames it over `path`. Throws core::Error on I/O failure.
void write_model_file(const std::filesystem::path& path, const ModelFile& file);

/// Errors: model_missing (no such file), model_corrupt (bad magic, truncated, checksum or
/// header damage), model_mismatch (a format version this build does not read).
core::Result<ModelFile> read_model_file(const std::filesystem::path& path);

/// Size in bytes of one element of `dtype`; 0 for an unknown dtype.
std::size_t dtype_size(const std::string& dtype);

}  // namespace teller::nlu::detail
