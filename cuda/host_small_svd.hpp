// The exact SVD of the small (l x l) projected matrix of the randomized SVD, on the host in double with
// Eigen's JacobiSVD, exactly as the CPU backend does it: the GPU brings the l x l triangle back, this
// returns the rotations the GPU applies to its bases. Host-only (compiled by the C++ compiler).
#pragma once

#include <vector>

namespace cinefactor::engine::cuda {

struct SmallSvd {
  std::vector<float> ur;     // l x k, column-major: left singular vectors of R^T
  std::vector<float> vr;     // l x k, column-major: right singular vectors of R^T
  std::vector<float> sigma;  // k, descending
};

// r: the l x l upper triangle R (column-major, ld = l; entries below the diagonal are ignored).
SmallSvd small_svd_of_transpose(const std::vector<float>& r, int l, int k);

}  // namespace cinefactor::engine::cuda
