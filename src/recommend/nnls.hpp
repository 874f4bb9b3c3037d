// The masked-NMF fold-in's solver: a small quadratic program with non-negativity bounds (NNLS on the
// normal equations), by coordinate descent finished with an exact solve on the active set.
#pragma once

#include <Eigen/Dense>

namespace cinefactor {

struct NnlsOptions {
  int max_sweeps = 2000;     // coordinate sweeps before giving up on the tolerance
  double tolerance = 1e-7;   // stop when no coordinate moves more than this (relative to |x|max, at least 1)
  int sweeps_per_solve = 8;  // sweeps between attempts to finish with an exact solve on the free set
};

struct QpResult {
  Eigen::VectorXd x;
  int sweeps = 0;  // coordinate sweeps used
};

// Minimizes 0.5 x'Gx - c'x subject to x[i] >= 0 for i < nonneg (the rest free), G symmetric positive
// semi-definite. Coordinate descent keeps the gradient up to date in O(d) per move; every few sweeps
// it tries to finish exactly: solve the unconstrained problem on the current free set and accept it
// when it is feasible and satisfies the KKT conditions on the fixed set.
QpResult solve_nonneg_qp(const Eigen::MatrixXd& G, const Eigen::VectorXd& c, Eigen::Index nonneg,
                         const NnlsOptions& options);

}  // namespace cinefactor
