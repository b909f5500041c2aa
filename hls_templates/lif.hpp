// qsnn-pynq: streaming fixed-point LIF neuron layer for Vitis HLS (and g++ C-simulation).
//
// Computes DESIGN.md's neuron exactly, per neuron i and time step t of a sample:
//   L = leak(V[t-1]);  U = sat_B(L + R(I[t] + bias[i], INPUT_SHIFT));  s = U >= THRESHOLD;
//   CubaLIF (CUBA): J = sat_B(R(J[t-1] * ALPHA_INT, F) + R(I[t] + bias[i], INPUT_SHIFT)) and U = sat_B(L + J)
//   V[t] = U - THRESHOLD (subtract) | 0 (zero) if s, else U;  V[-1] = 0
//   leak: none V | shift V - (V >> LEAK_SHIFT) | beta R(V * BETA_INT, BETA_FRAC_BITS)
//   R: floor (x >> F) | nearest ((x + 2^(F-1)) >> F) | stochastic ((x + r) >> F),
//      r = fmix32(SEED ^ t*0x9E3779B1 ^ i*0x85EBCA77) mod 2^F (leak), or its top k bits (input shift k)
// Streams: one beat carries PE lanes, lane p in bits [p*W, (p+1)*W) (FINN's packing).
#ifndef QSNN_LIF_HPP
#define QSNN_LIF_HPP

#include <ap_int.h>
#include <hls_stream.h>

namespace qsnn {

enum LeakMode { LEAK_NONE = 0, LEAK_SHIFT = 1, LEAK_BETA = 2 };
enum Rounding { ROUND_FLOOR = 0, ROUND_NEAREST = 1, ROUND_STOCHASTIC = 2 };
enum ResetMode { RESET_SUBTRACT = 0, RESET_ZERO = 1 };
enum MemStyle { MEM_REGISTERS = 0, MEM_LUTRAM = 1, MEM_BRAM = 2 };

/// MurmurHash3's 32-bit finaliser (products mod 2^32); stateless, so any folding gives the same bits.
inline ap_uint<32> fmix32(ap_uint<32> h) {
#pragma HLS INLINE
  h ^= h >> 16;
  h = h * ap_uint<32>(0x85EBCA6B);
  h ^= h >> 13;
  h = h * ap_uint<32>(0xC2B2AE35);
  h ^= h >> 16;
  return h;
}

/// One neuron update: returns the spike and writes the new membrane to v.
/// \tparam Cfg layer configuration (see lif_layer)
template <typename Cfg>
inline bool lif_update(typename Cfg::membrane_t &v, const typename Cfg::membrane_t v_prev,
                       typename Cfg::membrane_t &j, const typename Cfg::membrane_t j_prev,
                       const typename Cfg::in_t in, const typename Cfg::bias_t bias, unsigned t, unsigned i) {
#pragma HLS INLINE
  typedef ap_int<Cfg::MEMBRANE_BITS + Cfg::BETA_FRAC_BITS + 2> prod_t;
  typedef ap_int<Cfg::WIDE_BITS> wide_t;
  // one hash per (t, i): its low BETA_FRAC_BITS round the leak, its top INPUT_SHIFT bits round the input
  ap_uint<32> h = 0;
  if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
    ap_uint<32> key = ap_uint<32>(Cfg::SEED) ^ ap_uint<32>(ap_uint<32>(t) * ap_uint<32>(0x9E3779B1)) ^
                      ap_uint<32>(ap_uint<32>(i) * ap_uint<32>(0x85EBCA77));
    h = fmix32(key);
  }
  wide_t leaked;
  if (Cfg::LEAK == LEAK_NONE) {
    leaked = v_prev;
  } else if (Cfg::LEAK == LEAK_SHIFT) {
    leaked = wide_t(v_prev) - wide_t(v_prev >> Cfg::LEAK_SHIFT);
  } else {
    prod_t p = prod_t(v_prev) * prod_t(Cfg::BETA_INT);
    if (Cfg::ROUNDING == ROUND_NEAREST) {
      p += prod_t(1) << (Cfg::BETA_FRAC_BITS - 1);
    } else if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
      p += prod_t(h & ap_uint<32>((1u << Cfg::BETA_FRAC_BITS) - 1));
    }
    leaked = p >> Cfg::BETA_FRAC_BITS;
  }
  wide_t input = wide_t(in) + wide_t(bias);
  if (Cfg::INPUT_SHIFT > 0) {  // the membrane counts 2^INPUT_SHIFT accumulator units: R(I, INPUT_SHIFT)
    if (Cfg::ROUNDING == ROUND_NEAREST) {
      input += wide_t(1) << (Cfg::INPUT_SHIFT - 1);
    } else if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
      input += wide_t(h >> (32 - Cfg::INPUT_SHIFT));
    }
    input = input >> Cfg::INPUT_SHIFT;
  }
  // the synaptic current (CubaLIF): J = sat_B(R(J * ALPHA_INT, F) + input); bits [F, 2F) of h round it
  if (Cfg::CUBA) {
    prod_t q = prod_t(j_prev) * prod_t(Cfg::ALPHA_INT);
    if (Cfg::ROUNDING == ROUND_NEAREST) {
      q += prod_t(1) << (Cfg::BETA_FRAC_BITS - 1);
    } else if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
      q += prod_t((h >> Cfg::BETA_FRAC_BITS) & ap_uint<32>((1u << Cfg::BETA_FRAC_BITS) - 1));
    }
    wide_t jn = wide_t(q >> Cfg::BETA_FRAC_BITS) + input;
    const wide_t jlo = -(wide_t(1) << (Cfg::MEMBRANE_BITS - 1));
    const wide_t jhi = (wide_t(1) << (Cfg::MEMBRANE_BITS - 1)) - 1;
    if (jn < jlo) jn = jlo;
    if (jn > jhi) jn = jhi;
    j = typename Cfg::membrane_t(jn);
    input = jn;
  }
  wide_t u = leaked + input;
  const wide_t lo = -(wide_t(1) << (Cfg::MEMBRANE_BITS - 1));
  const wide_t hi = (wide_t(1) << (Cfg::MEMBRANE_BITS - 1)) - 1;
  if (u < lo) u = lo;
  if (u > hi) u = hi;
  const bool spike = u >= wide_t(Cfg::THRESHOLD);
  if (spike) {
    v = (Cfg::RESET == RESET_SUBTRACT) ? typename Cfg::membrane_t(u - wide_t(Cfg::THRESHOLD))
                                       : typename Cfg::membrane_t(0);
  } else {
    v = typename Cfg::membrane_t(u);
  }
  return spike;
}

/// Streaming LIF layer over num_samples samples of STEPS frames of CHANNELS neurons each.
/// A conv layer's frame holds its pixels one after another, BIAS_CHANNELS neurons (channels) each: the bias
/// of neuron i is bias[i mod BIAS_CHANNELS] (a dense layer has BIAS_CHANNELS = CHANNELS).
/// \tparam Cfg configuration struct with
///   CHANNELS, BIAS_CHANNELS (divides CHANNELS), PE (divides BIAS_CHANNELS), STEPS, MEMBRANE_BITS, IN_BITS,
///   WIDE_BITS, THRESHOLD, INPUT_SHIFT, CUBA (bool), ALPHA_INT, LEAK (LeakMode), LEAK_SHIFT, BETA_INT,
///   BETA_FRAC_BITS, ROUNDING (Rounding), RESET (ResetMode), SEED, MEM_STYLE (MemStyle); typedefs in_t
///   (ap_int/ap_uint of IN_BITS), bias_t, membrane_t (ap_int<MEMBRANE_BITS>).
/// \param in     PE accumulators per beat
/// \param out    PE spikes per beat
/// \param bias   per-channel integer bias, [BIAS_CHANNELS / PE][PE]
template <typename Cfg>
void lif_layer(hls::stream<ap_uint<Cfg::PE * Cfg::IN_BITS>> &in, hls::stream<ap_uint<Cfg::PE>> &out,
               const typename Cfg::bias_t bias[Cfg::BIAS_CHANNELS / Cfg::PE][Cfg::PE], unsigned num_samples) {
  constexpr unsigned NF = Cfg::CHANNELS / Cfg::PE;
  constexpr unsigned BF = Cfg::BIAS_CHANNELS / Cfg::PE;
  static_assert(Cfg::BIAS_CHANNELS % Cfg::PE == 0, "PE must divide BIAS_CHANNELS");
  static_assert(Cfg::CHANNELS % Cfg::BIAS_CHANNELS == 0, "BIAS_CHANNELS must divide CHANNELS");
  static_assert(Cfg::THRESHOLD >= 1 && Cfg::THRESHOLD < (1LL << (Cfg::MEMBRANE_BITS - 1)),
                "THRESHOLD must fit the membrane: 1 <= THRESHOLD <= 2^(B-1)-1");
  static typename Cfg::membrane_t membrane[NF][Cfg::PE];
  static typename Cfg::membrane_t current[Cfg::CUBA ? NF : 1][Cfg::PE];  // CubaLIF's synaptic current J
#pragma HLS ARRAY_PARTITION variable = membrane complete dim = 2
#pragma HLS ARRAY_PARTITION variable = current complete dim = 2
#if defined(QSNN_MEM_REGISTERS)
#pragma HLS ARRAY_PARTITION variable = membrane complete dim = 0
#pragma HLS ARRAY_PARTITION variable = current complete dim = 0
#elif defined(QSNN_MEM_LUTRAM)
#pragma HLS BIND_STORAGE variable = membrane type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = current type = ram_2p impl = lutram
#elif defined(QSNN_MEM_BRAM)
#pragma HLS BIND_STORAGE variable = membrane type = ram_2p impl = bram
#pragma HLS BIND_STORAGE variable = current type = ram_2p impl = bram
#endif
  for (unsigned n = 0; n < num_samples; n++) {
    for (unsigned t = 0; t < Cfg::STEPS; t++) {
      unsigned bf = 0;  // the bias row: nf mod BF, as a wrapping counter (no divider)
      for (unsigned nf = 0; nf < NF; nf++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<Cfg::PE *Cfg::IN_BITS> beat = in.read();
        ap_uint<Cfg::PE> spikes = 0;
        for (unsigned p = 0; p < Cfg::PE; p++) {
#pragma HLS UNROLL
          typename Cfg::in_t x;
          x.range(Cfg::IN_BITS - 1, 0) = beat.range((p + 1) * Cfg::IN_BITS - 1, p * Cfg::IN_BITS);
          // the state is cleared at each sample boundary: frame 0 starts from V = 0
          const typename Cfg::membrane_t v_prev = (t == 0) ? typename Cfg::membrane_t(0) : membrane[nf][p];
          const unsigned jf = Cfg::CUBA ? nf : 0;
          const typename Cfg::membrane_t j_prev =
              (t == 0 || !Cfg::CUBA) ? typename Cfg::membrane_t(0) : current[jf][p];
          typename Cfg::membrane_t v_next, j_next = 0;
          spikes[p] = lif_update<Cfg>(v_next, v_prev, j_next, j_prev, x, bias[bf][p], t, nf * Cfg::PE + p);
          membrane[nf][p] = v_next;
          if (Cfg::CUBA) current[jf][p] = j_next;
        }
        bf = (bf == BF - 1) ? 0 : bf + 1;
        out.write(spikes);
      }
    }
  }
}

}  // namespace qsnn

#endif  // QSNN_LIF_HPP
