// qsnn-pynq neuron model "lif" (toolchain/golden/neurons/lif.py): DESIGN.md's LIF, IF with LEAK_NONE.
//   U = sat_B(leak(V[t-1]) + x);  s = U >= THRESHOLD;  V[t] = U - THRESHOLD (subtract) | 0 (zero) if s, else
//   U
#ifndef QSNN_NEURON_LIF_HPP
#define QSNN_NEURON_LIF_HPP

#include "neuron_layer.hpp"

namespace qsnn {

template <typename Cfg>
struct LIFNeuron {
  static constexpr unsigned STATES = 1;  // V

  static bool update(typename Cfg::membrane_t s[STATES], const typename Fixed<Cfg>::wide_t x,
                     const ap_uint<32> h, const Params<Cfg> &prm) {
#pragma HLS INLINE
    return Fixed<Cfg>::integrate_and_fire(s[0], x, h, prm);
  }
};

}  // namespace qsnn

#endif  // QSNN_NEURON_LIF_HPP
