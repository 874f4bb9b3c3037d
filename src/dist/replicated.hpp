// Dense matrices whose rows are summed over the ranks or split between them (dist/factorization.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "cinefactor/model.hpp"
#include "dist/communicator.hpp"

namespace cinefactor::dist {

// Rows [0, rows) cut into one contiguous block per rank: rank r owns [offsets[r], offsets[r + 1]).
std::vector<std::int64_t> row_blocks_of_ranks(std::int64_t rows, int ranks);
// The same offsets in elements of rows `width` wide.
std::vector<std::int64_t> scaled(const std::vector<std::int64_t>& offsets, std::int64_t width);

// m is a partial sum on every rank; afterwards it is the full sum, identical on every rank (reduce-scatter
// by row blocks, then all-gather).
void sum_replicated(Communicator& comm, DenseMatrix& m);

// Rows [offsets[r], offsets[r + 1]) of m are correct on rank r; afterwards every rank has all of them.
void gather_replicated(Communicator& comm, DenseMatrix& m, const std::vector<std::int64_t>& row_offsets);

}  // namespace cinefactor::dist
