# Decides whether the distributed layer (src/dist/, MPI) is built (CINEFACTOR_MPI = AUTO | ON | OFF) and
# sets CINEFACTOR_WITH_MPI. Debian's Open MPI: libopenmpi-dev, openmpi-bin (scripts/install-deps).
# With the CUDA backend too, CUDA ranks (NCCL between the GPUs) are built when NCCL is found with the CUDA
# toolkit: CINEFACTOR_WITH_NCCL, and the imported target cinefactor::nccl. CINEFACTOR_NCCL = AUTO | ON | OFF.
set(CINEFACTOR_WITH_MPI OFF)
string(TOUPPER "${CINEFACTOR_MPI}" _cf_mpi_mode)
if(NOT _cf_mpi_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CINEFACTOR_MPI must be AUTO, ON or OFF (got '${CINEFACTOR_MPI}')")
endif()
if(NOT _cf_mpi_mode STREQUAL "OFF")
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(CINEFACTOR_WITH_MPI ON)
    message(STATUS "cinefactor: distributed training (MPI ${MPI_CXX_VERSION}) ON")
  elseif(_cf_mpi_mode STREQUAL "ON")
    message(FATAL_ERROR "CINEFACTOR_MPI=ON but no MPI C++ library was found (Debian: libopenmpi-dev)")
  else()
    message(STATUS "cinefactor: distributed training OFF (no MPI found; Debian: libopenmpi-dev)")
  endif()
else()
  message(STATUS "cinefactor: distributed training OFF (CINEFACTOR_MPI=OFF)")
endif()

set(CINEFACTOR_WITH_NCCL OFF)
string(TOUPPER "${CINEFACTOR_NCCL}" _cf_nccl_mode)
if(NOT _cf_nccl_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CINEFACTOR_NCCL must be AUTO, ON or OFF (got '${CINEFACTOR_NCCL}')")
endif()
if(CINEFACTOR_WITH_MPI AND CINEFACTOR_WITH_CUDA AND NOT _cf_nccl_mode STREQUAL "OFF")
  # Only the header at build time: src/dist/nccl_sums.cpp loads libnccl.so.2 when a CUDA rank first needs it.
  find_path(CINEFACTOR_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(CINEFACTOR_NCCL_INCLUDE_DIR)
    set(CINEFACTOR_WITH_NCCL ON)
    add_library(cinefactor::nccl INTERFACE IMPORTED)
    # nccl.h includes cuda_runtime.h; the CUDA runtime itself comes with the CUDA backend.
    set_target_properties(cinefactor::nccl PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${CINEFACTOR_NCCL_INCLUDE_DIR};${CUDAToolkit_INCLUDE_DIRS}"
      INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
    message(STATUS "cinefactor: CUDA ranks ON (${CINEFACTOR_NCCL_INCLUDE_DIR}/nccl.h; libnccl.so.2 loaded at run time)")
  elseif(_cf_nccl_mode STREQUAL "ON")
    message(FATAL_ERROR "CINEFACTOR_NCCL=ON but no nccl.h was found with the CUDA toolkit")
  else()
    message(STATUS "cinefactor: CUDA ranks OFF (no NCCL found with the CUDA toolkit)")
  endif()
elseif(_cf_nccl_mode STREQUAL "ON")
  message(FATAL_ERROR "CINEFACTOR_NCCL=ON needs both the CUDA backend and MPI")
endif()
