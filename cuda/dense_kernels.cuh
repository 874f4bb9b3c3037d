// Small dense helper kernels of the CUDA backend (see dense_kernels.cu): the blocked Gram reduction of
// the zero-objective NMF and the conversions around the SVD's small cuSOLVER step. A header that both
// nvcc and the host compiler read.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace cinefactor::engine::cuda {

// out_double[i] = sum over b of partial[b * count + i], added in block order in double (deterministic),
// and out_float[i] = (float) out_double[i], for i < count.
void launch_sum_blocks(cudaStream_t stream, const float* partial, int blocks, std::int64_t count,
                       double* out_double, float* out_float);

// out[i] = (float) in[i], for i < count.
void launch_to_float(cudaStream_t stream, const double* in, std::int64_t count, float* out);

// *out += sum a[i] b[i] over count elements, in double, by one block (the same sum on every run).
void launch_frobenius_inner(cudaStream_t stream, const double* a, const double* b, std::int64_t count,
                            double* out);

// rt (l x l, column-major, double) = R^T for the upper triangle R of the column-major matrix `a`
// (leading dimension lda) that geqrf leaves in place; zero above the diagonal.
void launch_transposed_triangle(cudaStream_t stream, const float* a, std::int64_t lda, int l, double* rt);

// out (l x k, column-major, float) = the first k columns of u (l x l, column-major), or with
// `transposed` the first k columns of vt^T.
void launch_leading_columns(cudaStream_t stream, const double* u, int l, int k, bool transposed, float* out);

}  // namespace cinefactor::engine::cuda
