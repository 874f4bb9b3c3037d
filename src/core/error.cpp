#include "cinefactor/error.hpp"

#include <utility>

#include "core/text.hpp"

namespace cinefactor {

Error::Error(const std::string& what) : std::runtime_error(text::escape_control(what)) {}
Error::Error(const char* what) : Error(std::string(what)) {}

ParseError::ParseError(std::string file, std::int64_t line, const std::string& message)
    : Error(file + ":" + std::to_string(line) + ": " + message),
      file_(std::move(file)),
      line_(line),
      message_(text::escape_control(message)) {}

CudaError::CudaError(std::string call, std::string status_name, std::string status_text, std::string file,
                     int line)
    : Error("CUDA error: " + call + " failed: " + status_name + " (" + status_text + ") at " + file + ":" +
            std::to_string(line)),
      call_(std::move(call)),
      status_name_(std::move(status_name)),
      file_(std::move(file)),
      line_(line) {}

CudaOutOfMemory::CudaOutOfMemory(std::int64_t needed_bytes, std::int64_t free_bytes, const std::string& what)
    : Error(what), needed_(needed_bytes), free_(free_bytes) {}

}  // namespace cinefactor
