// libFuzzer harness: the model-file reader (deserialize_model, docs/model-format.md). Each input is read
// twice: as it is, and with its last 8 bytes replaced by the FNV-1a checksum of the rest, so that the
// fuzzer gets past the checksum to the header, section table and catalog checks. Found: anything but a
// model or a FormatError; a model the reader accepts that the writer refuses or does not write back
// byte for byte (serialize(deserialize(serialize(m))) == serialize(m)).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "cinefactor/model_file.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr std::size_t kChecksumBytes = 8;

void read_and_round_trip(const std::string& bytes) {
  std::optional<cinefactor::Model> model;
  cinefactor::fuzz::expect_success_or<cinefactor::FormatError>(
      [&] { model = cinefactor::deserialize_model(bytes, "fuzz.cfm"); });
  if (!model) return;
  try {
    const auto written = cinefactor::serialize_model(*model);
    if (cinefactor::serialize_model(cinefactor::deserialize_model(written, "fuzz-rewritten.cfm")) != written)
      cinefactor::fuzz::finding("round trip", "a written model reads back differently");
  } catch (const std::exception& e) {
    cinefactor::fuzz::finding("an accepted model does not write and read back", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(cinefactor::fuzz::as_text(data, size));
  read_and_round_trip(bytes);
  if (bytes.size() >= kChecksumBytes) {
    const auto body = std::string_view(bytes).substr(0, bytes.size() - kChecksumBytes);
    const std::uint64_t sum = cinefactor::fnv1a64(body);
    std::memcpy(bytes.data() + body.size(), &sum, sizeof sum);
    read_and_round_trip(bytes);
  }
  return 0;
}
