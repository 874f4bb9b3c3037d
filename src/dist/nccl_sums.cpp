// NCCL all-reduces between the CUDA ranks of a job (see nccl_sums.hpp). NCCL is loaded when the first
// CUDA rank asks for it (dlopen of libnccl.so.2), so the CLI starts, and every other command runs, on a
// machine without NCCL's 200 MB runtime library; only --device cuda under mpirun needs it.
#include "dist/nccl_sums.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <nccl.h>

#include <cstring>
#include <exception>
#include <string>

#include "cinefactor/error.hpp"

namespace cinefactor::dist {
namespace {

// The NCCL functions the CUDA ranks call, from the library loaded once per process.
struct NcclApi {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
};

template <class F>
void resolve(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(library, name));
  if (!out) throw Error(fmt::format("NCCL: libnccl.so.2 has no {}", name));
}

NcclApi load_nccl() {
  void* library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* why = dlerror();
    throw Error(
        fmt::format("--device cuda: NCCL could not be loaded ({}); CUDA ranks need NCCL's runtime "
                    "library on the library path",
                    why ? why : "libnccl.so.2 not found"));
  }
  NcclApi api;  // the library stays loaded for the life of the process
  resolve(library, "ncclGetUniqueId", api.get_unique_id);
  resolve(library, "ncclCommInitRank", api.comm_init_rank);
  resolve(library, "ncclCommDestroy", api.comm_destroy);
  resolve(library, "ncclAllReduce", api.all_reduce);
  resolve(library, "ncclGetErrorString", api.error_string);
  return api;
}

const NcclApi& nccl() {
  static const NcclApi kApi = load_nccl();
  return kApi;
}

void check_nccl(ncclResult_t status, const char* call) {
  if (status == ncclSuccess) return;
  throw Error(fmt::format("NCCL: {} failed: {}", call, nccl().error_string(status)));
}

}  // namespace

struct NcclSums::State {
  ncclComm_t comm = nullptr;
};

NcclSums::NcclSums(Communicator& comm) : comm_(comm), state_(std::make_unique<State>()) {
  // Every rank loads NCCL (or learns why it cannot) before any waits for rank 0's id.
  std::exception_ptr error;
  try {
    nccl();
  } catch (...) {
    error = std::current_exception();
  }
  comm_.agree(error);
  ncclUniqueId id{};
  if (comm_.root()) check_nccl(nccl().get_unique_id(&id), "ncclGetUniqueId");
  std::string bytes(reinterpret_cast<const char*>(&id), sizeof(id));
  comm_.broadcast(bytes, 0);
  if (bytes.size() != sizeof(id)) throw Error("NCCL: the unique id did not arrive whole");
  std::memcpy(&id, bytes.data(), sizeof(id));
  check_nccl(nccl().comm_init_rank(&state_->comm, comm_.size(), id, comm_.rank()), "ncclCommInitRank");
}

NcclSums::~NcclSums() {
  if (state_->comm) nccl().comm_destroy(state_->comm);
}

void NcclSums::all_reduce(void* device_values, std::int64_t count, int type, std::size_t bytes,
                          void* stream) {
  check_nccl(nccl().all_reduce(device_values, device_values, static_cast<std::size_t>(count),
                               static_cast<ncclDataType_t>(type), ncclSum, state_->comm,
                               static_cast<cudaStream_t>(stream)),
             "ncclAllReduce");
  ++traffic_.calls;
  traffic_.bytes += count * static_cast<std::int64_t>(bytes);
}

void NcclSums::sum(float* device_values, std::int64_t count, void* stream) {
  all_reduce(device_values, count, ncclFloat, sizeof(float), stream);
}

void NcclSums::sum(double* device_values, std::int64_t count, void* stream) {
  all_reduce(device_values, count, ncclDouble, sizeof(double), stream);
}

double NcclSums::sum(double value) {
  double v[1] = {value};
  comm_.sum(v);
  return v[0];
}

}  // namespace cinefactor::dist
