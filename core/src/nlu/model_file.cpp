// Reading and writing intent-model files without trusting a byte of their content.
#include "model_file.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace teller::nlu::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "model files are little-endian");

constexpr char kMagic[8] = {'T', 'L', 'R', 'N', 'L', 'U', '\r', '\n'};
constexpr std::uint64_t kMaxHeader = 64ULL << 20;
constexpr std::uintmax_t kMaxFile = 4ULL << 30;

std::string sha256_hex(const std::vector<Blob>& blobs) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        throw core::Error("model file: cannot initialise SHA-256");
    }
    for (const Blob& blob : blobs) {
        EVP_DigestUpdate(ctx, blob.bytes.data(), blob.bytes.size());
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex.push_back(kHex[digest[i] >> 4]);
        hex.push_back(kHex[digest[i] & 0x0F]);
    }
    return hex;
}

template <class T>
void put(std::string& out, T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out.append(raw, sizeof(T));
}

template <class T>
T get(const std::string& in, std::size_t offset) {
    T value;
    std::memcpy(&value, in.data() + offset, sizeof(T));
    return value;
}

core::Result<ModelFile> corrupt() {
    return core::make_error_code(core::Errc::model_corrupt);
}

// Rebuilds the blob list from the header and payload; any inconsistency is corruption.
core::Result<ModelFile> decode(std::string data) {
    constexpr std::size_t kPrefix = sizeof(kMagic) + sizeof(std::uint32_t) + sizeof(std::uint64_t);
    if (data.size() < kPrefix || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
        return corrupt();
    }
    if (get<std::uint32_t>(data, sizeof(kMagic)) != kModelFormatVersion) {
        return core::make_error_code(core::Errc::model_mismatch);
    }
    const auto header_len = get<std::uint64_t>(data, sizeof(kMagic) + sizeof(std::uint32_t));
    if (header_len > kMaxHeader || header_len > data.size() - kPrefix) {
        return corrupt();
    }

    boost::system::error_code ec;
    boost::json::value parsed =
        boost::json::parse(std::string_view(data).substr(kPrefix, header_len), ec);
    if (ec || !parsed.is_object()) {
        return corrupt();
    }
    boost::json::object& root = parsed.as_object();
    const auto* blobs = root.if_contains("blobs");
    const auto* sha = root.if_contains("payload_sha256");
    const auto* model = root.if_contains("model");
    if (blobs == nullptr || !blobs->is_array() || sha == nullptr || !sha->is_string() ||
        model == nullptr || !model->is_object()) {
        return corrupt();
    }

    ModelFile file;
    file.header = model->as_object();
    std::size_t offset = kPrefix + header_len;
    for (const boost::json::value& entry : blobs->as_array()) {
        const auto* obj = entry.if_object();
        if (obj == nullptr) {
            return corrupt();
        }
        const auto* name = obj->if_contains("name");
        const auto* dtype = obj->if_contains("dtype");
        const auto* shape = obj->if_contains("shape");
        if (name == nullptr || !name->is_string() || dtype == nullptr || !dtype->is_string() ||
            shape == nullptr || !shape->is_array()) {
            return corrupt();
        }
        Blob blob;
        blob.name = std::string(name->as_string());
        blob.dtype = std::string(dtype->as_string());
        std::uint64_t elements = 1;
        for (const boost::json::value& dim : shape->as_array()) {
            if (!dim.is_int64() || dim.as_int64() < 0 || dim.as_int64() > (1LL << 40)) {
                return corrupt();
            }
            blob.shape.push_back(dim.as_int64());
            elements *= static_cast<std::uint64_t>(dim.as_int64());
            if (elements > kMaxFile) {
                return corrupt();
            }
        }
        const std::size_t element_size = dtype_size(blob.dtype);
        if (element_size == 0) {
            return corrupt();
        }
        const std::uint64_t bytes = elements * element_size;
        if (bytes > data.size() - offset) {
            return corrupt();
        }
        blob.bytes = data.substr(offset, bytes);
        offset += bytes;
        file.blobs.push_back(std::move(blob));
    }
    if (offset != data.size() || sha256_hex(file.blobs) != sha->as_string()) {
        return corrupt();
    }
    return file;
}

}  // namespace

std::size_t dtype_size(const std::string& dtype) {
    if (dtype == "f32") {
        return 4;
    }
    if (dtype == "i8") {
        return 1;
    }
    if (dtype == "f16") {
        return 2;
    }
    if (dtype == "i64") {
        return 8;
    }
    return 0;
}

void write_model_file(const std::filesystem::path& path, const ModelFile& file) {
    // Header: the model's fields plus the blob table and payload checksum.
    boost::json::object root;
    root["model"] = file.header;
    boost::json::array table;
    for (const Blob& blob : file.blobs) {
        boost::json::array shape;
        for (std::int64_t dim : blob.shape) {
            shape.push_back(dim);
        }
        table.push_back(boost::json::object{
            {"name", blob.name}, {"dtype", blob.dtype}, {"shape", std::move(shape)}});
    }
    root["blobs"] = std::move(table);
    root["payload_sha256"] = sha256_hex(file.blobs);
    const std::string header = boost::json::serialize(root);

    std::string prefix(kMagic, sizeof(kMagic));
    put<std::uint32_t>(prefix, kModelFormatVersion);
    put<std::uint64_t>(prefix, header.size());

    // Write everything to a temporary file, then rename it into place.
    std::filesystem::path tmp = path;
    tmp += ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw core::Error("cannot write model file " + tmp.string());
        }
        out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        for (const Blob& blob : file.blobs) {
            out.write(blob.bytes.data(), static_cast<std::streamsize>(blob.bytes.size()));
        }
        out.flush();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            throw core::Error("cannot write model file " + tmp.string());
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw core::Error("cannot rename model file to " + path.string() + ": " + ec.message());
    }
}

core::Result<ModelFile> read_model_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
        return core::make_error_code(core::Errc::model_missing);
    }
    if (!std::filesystem::is_regular_file(status)) {
        return corrupt();
    }
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec || size > kMaxFile) {
        return corrupt();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return core::make_error_code(core::Errc::model_missing);
    }
    std::string data(size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uintmax_t>(in.gcount()) != size) {
        return corrupt();
    }
    try {
        return decode(std::move(data));
    } catch (const std::exception&) {
        return corrupt();
    }
}

}  // namespace teller::nlu::detail
