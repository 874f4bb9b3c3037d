// MPI launcher detection (see launcher.hpp).
#include "core/launcher.hpp"

#include <cstdlib>
#include <string_view>

namespace cinefactor {

std::optional<int> mpi_launch_rank() {
  bool launched = false;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "PMI_RANK"})
    launched = launched || std::getenv(name) != nullptr;
  if (!launched) return std::nullopt;
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}

}  // namespace cinefactor
