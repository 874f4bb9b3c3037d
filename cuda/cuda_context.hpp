// CudaContext: one device, one stream, and the cuBLAS / cuSPARSE / cuSOLVER handles bound to that
// stream, each created on first use and destroyed with the context. DeviceBuffer<T>: a move-only
// device array allocated stream-ordered (cudaMallocAsync) and freed the same way; never managed memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "cuda_check.hpp"

namespace cinefactor::engine::cuda {

class CudaContext {
 public:
  explicit CudaContext(int device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const noexcept { return device_; }
  const cudaDeviceProp& properties() const noexcept { return properties_; }
  cudaStream_t stream() const noexcept { return stream_; }
  cublasHandle_t cublas();
  cusparseHandle_t cusparse();
  cusolverDnHandle_t cusolver();
  // Makes this context's device current on the calling thread.
  void activate() const;
  void synchronize() const;
  // Free device memory once this context's stream is idle, so that what it freed stream-ordered is back.
  std::int64_t free_memory() const;

 private:
  int device_;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusparseHandle_t cusparse_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
};

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::size_t count, cudaStream_t stream) : count_(count), stream_(stream) {
    if (count > 0) {
      void* p = nullptr;
      CINEFACTOR_CUDA_CHECK(cudaMallocAsync(&p, count * sizeof(T), stream));
      data_ = static_cast<T*>(p);
    }
  }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), count_(std::exchange(o.count_, 0)), stream_(o.stream_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
      stream_ = o.stream_;
    }
    return *this;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return count_ * sizeof(T); }

  // Waits for the copy: from pageable memory cudaMemcpyAsync may return before it has read the host
  // array, which the caller may free (or refill) right after.
  void upload(const T* host, std::size_t count) {
    if (count == 0) return;  // an empty array has no device pointer
    CINEFACTOR_CUDA_CHECK(cudaMemcpyAsync(data_, host, count * sizeof(T), cudaMemcpyHostToDevice, stream_));
    CINEFACTOR_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void upload(const std::vector<T>& host) { upload(host.data(), host.size()); }
  // Waits for the copy: the host vector is ready on return.
  void download(T* host, std::size_t count) const {
    if (count == 0) return;
    CINEFACTOR_CUDA_CHECK(cudaMemcpyAsync(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost, stream_));
    CINEFACTOR_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void download(std::vector<T>& host) const { download(host.data(), host.size()); }
  void zero() {
    if (count_ > 0) CINEFACTOR_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream_));
  }

 private:
  void release() noexcept {
    // A destructor cannot throw; a failed free leaves nothing to recover.
    if (data_) static_cast<void>(cudaFreeAsync(data_, stream_));
    data_ = nullptr;
    count_ = 0;
  }
  T* data_ = nullptr;
  std::size_t count_ = 0;
  cudaStream_t stream_ = nullptr;
};

}  // namespace cinefactor::engine::cuda
