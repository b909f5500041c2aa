// qsnn-pynq neuron model "cubalif" (toolchain/golden/neurons/cubalif.py): a LIF driven by a synaptic
// current J.
//   J[t] = sat_B(R(J[t-1] * alpha, BETA_FRAC_BITS) + x), stochastic offset bits [F, 2F) of the hash; alpha is
//   the layer's ALPHA_INT or the neuron's entry of the per-neuron ROM (prm.alpha)
//   then the LIF step with J[t] in place of x
#ifndef QSNN_NEURON_CUBALIF_HPP
#define QSNN_NEURON_CUBALIF_HPP

#include "neuron_layer.hpp"

namespace qsnn {

template <typename Cfg>
struct CubaLIFNeuron {
  static constexpr unsigned STATES = 2;  // V, J

  static bool update(typename Cfg::membrane_t s[STATES], const typename Fixed<Cfg>::wide_t x,
                     const ap_uint<32> h, const Params<Cfg> &prm) {
#pragma HLS INLINE
    typedef Fixed<Cfg> F;
    const typename F::wide_t j = F::saturate(F::decay(s[1], prm.alpha, h >> Cfg::BETA_FRAC_BITS) + x);
    s[1] = typename Cfg::membrane_t(j);
    return F::integrate_and_fire(s[0], j, h, prm);
  }
};

}  // namespace qsnn

#endif  // QSNN_NEURON_CUBALIF_HPP
