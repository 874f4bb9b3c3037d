// Whether an MPI launcher (mpirun/mpiexec of Open MPI, MPICH or Intel MPI; Slurm's srun with PMI or PMIx)
// started this process, read from the environment it sets, without initializing MPI: the CLI decides with
// it whether `train` runs distributed and refuses the commands that do not.
#pragma once

#include <optional>

namespace cinefactor {

// This process's rank when a launcher started it (0 when the launcher names none), nothing otherwise.
std::optional<int> mpi_launch_rank();

}  // namespace cinefactor
