// What the steps of `cinefactor data fetch` share, each piece defined in the file of the step it
// belongs to: the URLs the download accepts (fetch_download.cpp) and the paths unzipping accepts
// (fetch_unzip.cpp), which the registry holds its entries to, and the buffer size of the streaming
// loops (checksum, unzip).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cinefactor::detail {

inline constexpr std::size_t kIoChunk = std::size_t{1} << 20;  // bytes per read/write in streaming loops

struct UrlParts {
  std::string origin;  // scheme://host[:port]
  std::string path;    // /... (at least "/")
};

// Splits an http:// or https:// URL; throws InvalidArgument for anything else.
UrlParts split_url(const std::string& url);

// A relative path made of plain components: no "", ".", ".." component, no backslash, not absolute.
bool is_plain_relative(std::string_view path);

}  // namespace cinefactor::detail
