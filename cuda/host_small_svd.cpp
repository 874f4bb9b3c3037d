// See host_small_svd.hpp.
#include "host_small_svd.hpp"

#include <Eigen/Dense>

namespace cinefactor::engine::cuda {

SmallSvd small_svd_of_transpose(const std::vector<float>& r, int l, int k) {
  Eigen::MatrixXd rt = Eigen::MatrixXd::Zero(l, l);
  for (int c = 0; c < l; ++c) {
    for (int row = 0; row <= c; ++row) rt(c, row) = r[static_cast<std::size_t>(c) * static_cast<std::size_t>(l) + row];
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(rt, Eigen::ComputeFullU | Eigen::ComputeFullV);
  SmallSvd out;
  out.ur.resize(static_cast<std::size_t>(l) * static_cast<std::size_t>(k));
  out.vr.resize(out.ur.size());
  out.sigma.resize(static_cast<std::size_t>(k));
  for (int c = 0; c < k; ++c) {
    out.sigma[static_cast<std::size_t>(c)] = static_cast<float>(svd.singularValues()(c));
    for (int row = 0; row < l; ++row) {
      const auto at = static_cast<std::size_t>(c) * static_cast<std::size_t>(l) + static_cast<std::size_t>(row);
      out.ur[at] = static_cast<float>(svd.matrixU()(row, c));
      out.vr[at] = static_cast<float>(svd.matrixV()(row, c));
    }
  }
  return out;
}

}  // namespace cinefactor::engine::cuda
