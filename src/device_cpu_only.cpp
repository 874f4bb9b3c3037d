// probe_cuda() for builds without the CUDA backend (the CUDA build defines it in cuda/).
#include "cinefactor/device.hpp"

#if !CINEFACTOR_HAS_CUDA
namespace cinefactor {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.reason = "this build of cinefactor has no CUDA backend (configured with CINEFACTOR_CUDA=OFF or without nvcc)";
  return probe;
}

}  // namespace cinefactor
#endif
