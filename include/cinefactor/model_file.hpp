// The model file: one little-endian binary format for every algorithm (docs/model-format.md).
// Magic, format version, a JSON header (algorithm, objective, hyperparameters, dimensions, data
// fingerprint, section table), 64-byte aligned sections (ids, float32 factors, singular values,
// biases, catalog) and a trailing 64-bit FNV-1a checksum over everything before it.
// A reader refuses a file it cannot trust with a FormatError that names the file and says why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "cinefactor/model.hpp"

namespace cinefactor {

inline constexpr std::string_view kModelMagic{"CFMODEL\0", 8};
inline constexpr std::uint32_t kModelFormatVersion = 1;
inline constexpr std::size_t kModelSectionAlignment = 64;

// Serializes `model` to bytes (what save_model writes). Throws InvalidArgument when the model's
// arrays are inconsistent (sizes, catalog not aligned with the movie ids, a genre containing '|').
std::string serialize_model(const Model& model);

// Parses bytes written by serialize_model. `source` names the file in error messages. Throws
// FormatError: truncated, corrupted (checksum mismatch or inconsistent contents), foreign (bad
// magic), or written by a newer format version.
Model deserialize_model(std::string_view bytes, const std::string& source);

// Writes the model atomically (temporary file, fsync, rename). Throws IoError / InvalidArgument.
void save_model(const Model& model, const std::filesystem::path& path);

// Reads a model file. Throws IoError when it cannot be read, FormatError when it cannot be trusted.
Model load_model(const std::filesystem::path& path);

// 64-bit FNV-1a (offset basis 14695981039346656037, prime 1099511628211) of `bytes`.
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

}  // namespace cinefactor
