// qsnn-pynq neuron model "li" (toolchain/golden/neurons/li.py): the leaky integrator readout; it outputs its
// membrane.
//   V[t] = sat_B(leak(V[t-1]) + x);  out = V[t]  (no threshold, no reset; OUT_BITS = MEMBRANE_BITS)
#ifndef QSNN_NEURON_LI_HPP
#define QSNN_NEURON_LI_HPP

#include "neuron_layer.hpp"

namespace qsnn {

template <typename Cfg>
struct LINeuron {
  static constexpr unsigned STATES = 1;  // V

  static typename Fixed<Cfg>::wide_t update(typename Cfg::membrane_t s[STATES],
                                            const typename Fixed<Cfg>::wide_t x, const ap_uint<32> h,
                                            const Params<Cfg> &prm) {
#pragma HLS INLINE
    typedef Fixed<Cfg> F;
    s[0] = typename Cfg::membrane_t(F::saturate(F::leak(s[0], h, prm.beta) + x));
    return s[0];
  }
};

}  // namespace qsnn

#endif  // QSNN_NEURON_LI_HPP
