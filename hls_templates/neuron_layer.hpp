// qsnn-pynq: streaming fixed-point LIF neuron layer for Vitis HLS (and g++ C-simulation).
//
// Computes DESIGN.md's neuron exactly, per neuron i and time step t of a sample; the neuron model's update
// (Cfg::neuron, from hls_templates/neurons/<model>.hpp) sees x = R(I[t] + bias[i], INPUT_SHIFT). LIF's:
//   L = leak(V[t-1]);  U = sat_B(L + x);  s = U >= THRESHOLD;
//   V[t] = U - THRESHOLD (subtract) | 0 (zero) if s, else U;  V[-1] = 0
//   leak: none V | shift V - (V >> LEAK_SHIFT) | beta R(V * BETA_INT, BETA_FRAC_BITS)
//   R: floor (x >> F) | nearest ((x + 2^(F-1)) >> F) | stochastic ((x + r) >> F),
//      r = fmix32(SEED ^ t*0x9E3779B1 ^ i*0x85EBCA77) mod 2^F (leak), or its top k bits (input shift k)
// A recurrent layer (Cfg::RECURRENT) adds V s[t-1] to I[t] + bias[i] before the shift: its row of V over the
// layer's spikes of the step before (held in the layer), one weight per spike, so a beat takes CHANNELS
// cycles. Streams: one beat carries PE lanes, lane p in bits [p*W, (p+1)*W) (FINN's packing).
#ifndef QSNN_NEURON_LAYER_HPP
#define QSNN_NEURON_LAYER_HPP

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

/// A neuron's threshold and decays: the layer's constants, or its channel's entries of the per-neuron ROMs.
template <typename Cfg>
struct Params {
  long long threshold;
  long long beta;
  long long alpha;  // CubaLIF's current decay alpha_int (unused by other models)
};

/// DESIGN.md's fixed-point pieces every neuron model is built from (hls_templates/neurons/<model>.hpp).
/// \tparam Cfg layer configuration (see lif_layer)
template <typename Cfg>
struct Fixed {
  typedef ap_int<Cfg::MEMBRANE_BITS + Cfg::BETA_FRAC_BITS + 2> prod_t;
  typedef ap_int<Cfg::WIDE_BITS> wide_t;
  typedef typename Cfg::membrane_t state_t;

  /// R(x * c, BETA_FRAC_BITS): floor, nearest, or stochastic with offset r (BETA_FRAC_BITS bits of the hash)
  static wide_t decay(const state_t x, const long long c, const ap_uint<32> r) {
#pragma HLS INLINE
    prod_t p = prod_t(x) * prod_t(c);
    if (Cfg::ROUNDING == ROUND_NEAREST) {
      p += prod_t(1) << (Cfg::BETA_FRAC_BITS - 1);
    } else if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
      p += prod_t(r & ap_uint<32>((1u << Cfg::BETA_FRAC_BITS) - 1));
    }
    return wide_t(p >> Cfg::BETA_FRAC_BITS);
  }

  /// sat_B: clamp to the B-bit membrane range
  static wide_t saturate(wide_t x) {
#pragma HLS INLINE
    const wide_t lo = -(wide_t(1) << (Cfg::MEMBRANE_BITS - 1));
    const wide_t hi = (wide_t(1) << (Cfg::MEMBRANE_BITS - 1)) - 1;
    if (x < lo) x = lo;
    if (x > hi) x = hi;
    return x;
  }

  /// leak(V): none V | shift V - (V >> LEAK_SHIFT) | beta R(V * beta, F), offset bits [0, F) of h
  static wide_t leak(const state_t v, const ap_uint<32> h, const long long beta) {
#pragma HLS INLINE
    if (Cfg::LEAK == LEAK_NONE) return wide_t(v);
    if (Cfg::LEAK == LEAK_SHIFT) return wide_t(v) - wide_t(v >> Cfg::LEAK_SHIFT);
    return decay(v, beta, h);
  }

  /// R(I, INPUT_SHIFT): the membrane counts 2^INPUT_SHIFT accumulator units; stochastic offset the top k bits
  /// of h
  static wide_t shift_input(wide_t input, const ap_uint<32> h) {
#pragma HLS INLINE
    if (Cfg::INPUT_SHIFT > 0) {
      if (Cfg::ROUNDING == ROUND_NEAREST) {
        input += wide_t(1) << (Cfg::INPUT_SHIFT - 1);
      } else if (Cfg::ROUNDING == ROUND_STOCHASTIC) {
        input += wide_t(h >> (32 - Cfg::INPUT_SHIFT));
      }
      input = input >> Cfg::INPUT_SHIFT;
    }
    return input;
  }

  /// The membrane step every spiking model ends with: U = sat_B(leak(V) + drive); s = U >= threshold;
  /// V = U - threshold (subtract) | 0 (zero) if s, else U. Returns s and writes V.
  static bool integrate_and_fire(state_t &v, const wide_t drive, const ap_uint<32> h,
                                 const Params<Cfg> &prm) {
#pragma HLS INLINE
    const wide_t u = saturate(leak(v, h, prm.beta) + drive);
    const bool spike = u >= wide_t(prm.threshold);
    if (spike) {
      v = (Cfg::RESET == RESET_SUBTRACT) ? state_t(u - wide_t(prm.threshold)) : state_t(0);
    } else {
      v = state_t(u);
    }
    return spike;
  }
};

/// The hash of neuron i at step t: fmix32(SEED ^ t*0x9E3779B1 ^ i*0x85EBCA77); 0 unless stochastic rounding.
template <typename Cfg>
inline ap_uint<32> neuron_hash(unsigned t, unsigned i) {
#pragma HLS INLINE
  if (Cfg::ROUNDING != ROUND_STOCHASTIC) return 0;
  ap_uint<32> key = ap_uint<32>(Cfg::SEED) ^ ap_uint<32>(ap_uint<32>(t) * ap_uint<32>(0x9E3779B1)) ^
                    ap_uint<32>(ap_uint<32>(i) * ap_uint<32>(0x85EBCA77));
  return fmix32(key);
}

/// Lane p of an output beat as an integer: a spike 0/1 (OUT_BITS = 1), else a signed membrane (test benches).
template <typename Cfg>
inline long long lane_value(const ap_uint<Cfg::PE * Cfg::OUT_BITS> &beat, unsigned p) {
  if (Cfg::OUT_BITS == 1) return beat[p] ? 1 : 0;
  ap_int<Cfg::OUT_BITS> v;
  v.range(Cfg::OUT_BITS - 1, 0) = beat.range((p + 1) * Cfg::OUT_BITS - 1, p * Cfg::OUT_BITS);
  return v.to_int64();
}

/// Streaming LIF layer over num_samples samples of STEPS frames of CHANNELS neurons each.
/// A conv layer's frame holds its pixels one after another, BIAS_CHANNELS neurons (channels) each: the bias
/// of neuron i is bias[i mod BIAS_CHANNELS] (a dense layer has BIAS_CHANNELS = CHANNELS).
/// \tparam Cfg configuration struct with
///   CHANNELS, BIAS_CHANNELS (divides CHANNELS), PE (divides BIAS_CHANNELS), STEPS, MEMBRANE_BITS, IN_BITS,
///   WIDE_BITS, THRESHOLD, INPUT_SHIFT, LEAK (LeakMode), LEAK_SHIFT, BETA_INT, BETA_FRAC_BITS,
///   ROUNDING (Rounding), RESET (ResetMode), SEED, threshold_rom / beta_rom / alpha_rom(row, lane) (the
///   neuron's value: a constant, or per neuron its channel's ROM entry); typedefs in_t (ap_int/ap_uint of
///   IN_BITS), bias_t, membrane_t (ap_int<MEMBRANE_BITS>), neuron (the model's struct, with STATES and
///   bool update(membrane_t s[STATES], wide_t input, ap_uint<32> hash, const Params<Cfg> &)).
/// \param in     PE accumulators per beat
/// \param out    PE outputs per beat, OUT_BITS each: spikes (1 bit), or a readout model's membrane (B bits)
/// \param bias   per-channel integer bias, [BIAS_CHANNELS / PE][PE]
template <typename Cfg>
void lif_layer(hls::stream<ap_uint<Cfg::PE * Cfg::IN_BITS>> &in,
               hls::stream<ap_uint<Cfg::PE * Cfg::OUT_BITS>> &out,
               const typename Cfg::bias_t bias[Cfg::BIAS_CHANNELS / Cfg::PE][Cfg::PE], unsigned num_samples) {
  constexpr unsigned NF = Cfg::CHANNELS / Cfg::PE;
  constexpr unsigned BF = Cfg::BIAS_CHANNELS / Cfg::PE;
  static_assert(Cfg::BIAS_CHANNELS % Cfg::PE == 0, "PE must divide BIAS_CHANNELS");
  static_assert(Cfg::CHANNELS % Cfg::BIAS_CHANNELS == 0, "BIAS_CHANNELS must divide CHANNELS");
  static_assert(Cfg::THRESHOLD >= 1 && Cfg::THRESHOLD < (1LL << (Cfg::MEMBRANE_BITS - 1)),
                "THRESHOLD must fit the membrane: 1 <= THRESHOLD <= 2^(B-1)-1");
  typedef typename Cfg::neuron neuron;  // the model's update: hls_templates/neurons/<model>.hpp
  constexpr unsigned S = neuron::STATES;
  // the model's state words (the membrane first; CubaLIF's current J second), each B bits per neuron
  static typename Cfg::membrane_t state[S][NF][Cfg::PE];
#pragma HLS ARRAY_PARTITION variable = state complete dim = 1
#pragma HLS ARRAY_PARTITION variable = state complete dim = 3
#if defined(QSNN_MEM_REGISTERS)
#pragma HLS ARRAY_PARTITION variable = state complete dim = 0
#elif defined(QSNN_MEM_LUTRAM)
#pragma HLS BIND_STORAGE variable = state type = ram_2p impl = lutram
#elif defined(QSNN_MEM_BRAM)
#pragma HLS BIND_STORAGE variable = state type = ram_2p impl = bram
#endif
  // a recurrent layer (Cfg::RECURRENT): the layer's spikes of the step before, and the ones of this step
  static bool spikes_prev[Cfg::CHANNELS], spikes_now[Cfg::CHANNELS];
  for (unsigned n = 0; n < num_samples; n++) {
    for (unsigned t = 0; t < Cfg::STEPS; t++) {
      if (Cfg::RECURRENT) {
        for (unsigned j = 0; j < Cfg::CHANNELS; j++) spikes_prev[j] = (t > 0) && spikes_now[j];
      }
      unsigned bf = 0;  // the bias row: nf mod BF, as a wrapping counter (no divider)
      for (unsigned nf = 0; nf < NF; nf++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<Cfg::PE *Cfg::IN_BITS> beat = in.read();
        ap_uint<Cfg::PE *Cfg::OUT_BITS> outs = 0;
        for (unsigned p = 0; p < Cfg::PE; p++) {
#pragma HLS UNROLL
          typename Cfg::in_t x;
          x.range(Cfg::IN_BITS - 1, 0) = beat.range((p + 1) * Cfg::IN_BITS - 1, p * Cfg::IN_BITS);
          const unsigned i = nf * Cfg::PE + p;
          const ap_uint<32> h = neuron_hash<Cfg>(t, i);
          // the state is cleared at each sample boundary: frame 0 starts from zero
          typename Cfg::membrane_t s[S];
          for (unsigned k = 0; k < S; k++) s[k] = (t == 0) ? typename Cfg::membrane_t(0) : state[k][nf][p];
          typename Fixed<Cfg>::wide_t drive =
              typename Fixed<Cfg>::wide_t(x) + typename Fixed<Cfg>::wide_t(bias[bf][p]);
          if (Cfg::RECURRENT) {  // + V s[t-1]: the row of neuron i, one weight per spike of the step before
            for (unsigned j = 0; j < Cfg::CHANNELS; j++) {
              if (spikes_prev[j]) drive += typename Fixed<Cfg>::wide_t(Cfg::recurrent_rom(i, j));
            }
          }
          const typename Fixed<Cfg>::wide_t input = Fixed<Cfg>::shift_input(drive, h);
          Params<Cfg> prm;  // per-neuron values come from the channel's ROM row, like the bias
          prm.threshold = Cfg::threshold_rom(bf, p);
          prm.beta = Cfg::beta_rom(bf, p);
          prm.alpha = Cfg::alpha_rom(bf, p);
          const typename Fixed<Cfg>::wide_t y =
              neuron::update(s, input, h, prm);  // a spike (0/1) or a membrane
          outs.range((p + 1) * Cfg::OUT_BITS - 1, p * Cfg::OUT_BITS) = y.range(Cfg::OUT_BITS - 1, 0);
          if (Cfg::RECURRENT) spikes_now[i] = y != 0;
          for (unsigned k = 0; k < S; k++) state[k][nf][p] = s[k];
        }
        bf = (bf == BF - 1) ? 0 : bf + 1;
        out.write(outs);
      }
    }
  }
}

}  // namespace qsnn

#endif  // QSNN_NEURON_LAYER_HPP
