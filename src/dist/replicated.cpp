// Summing and gathering replicated dense matrices (see replicated.hpp).
#include "dist/replicated.hpp"

#include <algorithm>

namespace cinefactor::dist {

std::vector<std::int64_t> row_blocks_of_ranks(std::int64_t rows, int ranks) {
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(ranks) + 1);
  for (int r = 0; r <= ranks; ++r) offsets[static_cast<std::size_t>(r)] = rows * r / ranks;
  return offsets;
}

std::vector<std::int64_t> scaled(const std::vector<std::int64_t>& offsets, std::int64_t width) {
  std::vector<std::int64_t> out(offsets.size());
  std::transform(offsets.begin(), offsets.end(), out.begin(), [width](std::int64_t o) { return o * width; });
  return out;
}

void sum_replicated(Communicator& comm, DenseMatrix& m) {
  const auto offsets = scaled(row_blocks_of_ranks(m.rows, comm.size()), m.cols);
  const auto r = static_cast<std::size_t>(comm.rank());
  std::vector<float> block(static_cast<std::size_t>(offsets[r + 1] - offsets[r]));
  comm.reduce_scatter_sum(m.data, block, offsets);
  std::copy(block.begin(), block.end(), m.data.begin() + offsets[r]);
  comm.all_gather(m.data, offsets);
}

void gather_replicated(Communicator& comm, DenseMatrix& m, const std::vector<std::int64_t>& row_offsets) {
  comm.all_gather(m.data, scaled(row_offsets, m.cols));
}

}  // namespace cinefactor::dist
