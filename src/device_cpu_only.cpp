// probe_cuda(), make_cuda_factorizer() and cuda_rank_top_k() for builds without the CUDA backend (the
// CUDA build defines them in cuda/).
#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cuda_backend.hpp"

#if !CINEFACTOR_HAS_CUDA
namespace cinefactor {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.reason = "this build of cinefactor has no CUDA backend (configured with CINEFACTOR_CUDA=OFF or without nvcc)";
  return probe;
}

namespace engine {
std::unique_ptr<Factorizer> make_cuda_factorizer(int /*device*/) {
  throw Error("this build of cinefactor has no CUDA backend");
}
std::vector<std::int32_t> cuda_rank_top_k(int /*device*/, const CudaRankingInput& /*input*/) {
  throw Error("this build of cinefactor has no CUDA backend");
}
}  // namespace engine

}  // namespace cinefactor
#endif
