// C-simulation stand-in for Vitis HLS's hls_vector.h, written by qsnn-pynq (not AMD's header).
// finn-hlslib and FINN's npy2vectorstream use hls::vector<T, N> as a fixed-size array: element access,
// iteration, copies and element-wise comparison. That is all this provides; it is never synthesized.
#ifndef QSNN_CSIM_HLS_VECTOR_H
#define QSNN_CSIM_HLS_VECTOR_H
#include <array>
#include <cstddef>

namespace hls {
template <typename T, std::size_t N>
class vector : public std::array<T, N> {
 public:
  vector() = default;
  explicit vector(const T &value) { this->fill(value); }
};
}  // namespace hls
#endif
