// The NNLS solver of the masked-NMF fold-in (see nnls.hpp).
#include "recommend/nnls.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cinefactor {
namespace {

// Relative slack on the KKT conditions when accepting an exact solve on the free set.
constexpr double kKktSlack = 1e-10;

}  // namespace

QpResult solve_nonneg_qp(const Eigen::MatrixXd& G, const Eigen::VectorXd& c, Eigen::Index nonneg,
                         const NnlsOptions& options) {
  const Eigen::Index d = c.size();
  QpResult r;
  r.x = Eigen::VectorXd::Zero(d);
  if (d == 0) return r;
  Eigen::VectorXd grad = -c;
  const double kkt_tol = kKktSlack * std::max(1.0, c.cwiseAbs().maxCoeff() + G.cwiseAbs().maxCoeff());

  auto try_exact = [&]() -> bool {
    std::vector<Eigen::Index> free;
    for (Eigen::Index i = 0; i < d; ++i) {
      if (i >= nonneg || r.x[i] > 0.0) free.push_back(i);
    }
    Eigen::VectorXd z = Eigen::VectorXd::Zero(d);
    if (!free.empty()) {
      const auto f = static_cast<Eigen::Index>(free.size());
      Eigen::MatrixXd Gf(f, f);
      Eigen::VectorXd cf(f);
      for (Eigen::Index a = 0; a < f; ++a) {
        cf[a] = c[free[static_cast<std::size_t>(a)]];
        for (Eigen::Index b = 0; b < f; ++b)
          Gf(a, b) = G(free[static_cast<std::size_t>(a)], free[static_cast<std::size_t>(b)]);
      }
      Eigen::LLT<Eigen::MatrixXd> llt(Gf);
      if (llt.info() != Eigen::Success) return false;
      const Eigen::VectorXd zf = llt.solve(cf);
      for (Eigen::Index a = 0; a < f; ++a) {
        const auto i = free[static_cast<std::size_t>(a)];
        if (i < nonneg && !(zf[a] >= 0.0)) return false;
        z[i] = zf[a];
      }
    }
    const Eigen::VectorXd g = G * z - c;
    for (Eigen::Index i = 0; i < nonneg; ++i) {
      if (z[i] == 0.0 && g[i] < -kkt_tol) return false;
    }
    r.x = z;
    return true;
  };

  for (r.sweeps = 1; r.sweeps <= options.max_sweeps; ++r.sweeps) {
    double max_step = 0.0;
    for (Eigen::Index i = 0; i < d; ++i) {
      const double gii = G(i, i);
      if (!(gii > 0.0)) continue;  // the coordinate does not affect the objective
      double next = r.x[i] - grad[i] / gii;
      if (i < nonneg && next < 0.0) next = 0.0;
      const double step = next - r.x[i];
      if (step != 0.0) {
        r.x[i] = next;
        grad.noalias() += step * G.col(i);
        max_step = std::max(max_step, std::abs(step));
      }
    }
    if (max_step <= options.tolerance * std::max(1.0, r.x.cwiseAbs().maxCoeff())) {
      try_exact();  // polish to the exact solution of the final active set when it is consistent
      return r;
    }
    if (options.sweeps_per_solve > 0 && r.sweeps % options.sweeps_per_solve == 0 && try_exact()) return r;
  }
  r.sweeps = options.max_sweeps;
  return r;
}

}  // namespace cinefactor
