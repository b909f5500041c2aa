// qsnn-pynq: max-pool of {0, 1} spikes in HLS (the HLS backend of FINN's Pool for spikes, PoolSpikes_hls).
// The max of a window of spikes is their OR, so each lane keeps one bit over the window: no comparators.
// The input is FINN's depthwise sliding window (ConvolutionInputGenerator with depthwise = 1): per output
// pixel and channel fold, the K window positions of PE channels, one beat each; the output is one beat of PE
// channels per output pixel and channel fold, as FINN's Pool streams it (hls::vector beats, element 0 in the
// low bits).
#ifndef QSNN_POOL_SPIKES_HPP
#define QSNN_POOL_SPIKES_HPP

#include <ap_int.h>
#include <hls_stream.h>
#include <hls_vector.h>

namespace qsnn {

/// The OR of each run of K input beats, lane by lane, for one frame.
/// \tparam ISIZE input beats per frame (output pixels x channel folds x K)
/// \tparam K     window positions per output beat (the pool's kernel elements)
/// \tparam T     a lane's type (ap_uint<1>: a spike)
/// \tparam PE    lanes per beat (channels in parallel)
template <unsigned ISIZE, unsigned K, typename T, unsigned PE>
void pool_spikes(hls::stream<hls::vector<T, PE>> &in, hls::stream<hls::vector<T, PE>> &out) {
  static_assert(ISIZE % K == 0, "a frame holds whole windows");
  hls::vector<T, PE> acc;
  unsigned k = 0;
  for (unsigned i = 0; i < ISIZE; i++) {
#pragma HLS pipeline II = 1 style = flp
    const hls::vector<T, PE> x = in.read();
    for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
      acc[p] = (k == 0 ? T(0) : acc[p]) | x[p];
    }
    if (++k == K) {
      out.write(acc);
      k = 0;
    }
  }
}

}  // namespace qsnn

#endif
