// Added by qsnn-pynq only when the finn-hlslib compiled lacks unflatten() (the copy in ../shared/finn-deps,
// dev at 0141fa8, predates it; FINN's npy2apintstream.hpp calls it to unpack an output word). The inverse of
// finn-hlslib's flatten(T (&)[N]) for ap_int / ap_uint elements: element j is bits [(j+1)W-1 : jW].
#ifndef QSNN_CSIM_UNFLATTEN_H
#define QSNN_CSIM_UNFLATTEN_H
#include <cstddef>

template <typename T, std::size_t N, typename PackedT>
void unflatten(T (&buffer)[N], PackedT const &packed) {
  constexpr int W = T::width;
  static_assert(N * W <= PackedT::width, "unflatten: more element bits than the packed word holds");
  for (std::size_t j = 0; j < N; j++) {
    T elem;
    elem.range(W - 1, 0) = packed((j + 1) * W - 1, j * W);
    buffer[j] = elem;
  }
}
#endif
