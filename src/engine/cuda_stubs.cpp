// probe_cuda() and make_cuda_backend() for builds without the CUDA backend (the CUDA build defines them
// in cuda/).
#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "engine/backend.hpp"

#if !CINEFACTOR_HAS_CUDA
namespace cinefactor {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.reason =
      "this build of cinefactor has no CUDA backend (configured with CINEFACTOR_CUDA=OFF or without nvcc)";
  return probe;
}

namespace engine {
std::unique_ptr<Backend> make_cuda_backend(int /*device*/) {
  throw Error("this build of cinefactor has no CUDA backend");
}
}  // namespace engine

}  // namespace cinefactor
#endif
