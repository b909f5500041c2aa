// C-simulation stand-in for Vitis HLS's ap_axi_sdata.h, written by qsnn-pynq (not AMD's header).
// finn-hlslib's streamtools.h includes it for its QDMA adapters (qdma_axis: data, keep, last), which no node
// this project builds uses; templates are only compiled when called, so the declaration is what is needed.
#ifndef QSNN_CSIM_AP_AXI_SDATA_H
#define QSNN_CSIM_AP_AXI_SDATA_H
#include <ap_int.h>

template <int D, int U, int TI, int TD>
struct qdma_axis {
  ap_uint<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<1> last;
  ap_uint<D> get_data() const { return data; }
  void set_data(const ap_uint<D> &d) { data = d; }
  void set_keep(const ap_uint<(D + 7) / 8> &k) { keep = k; }
  void set_last(const ap_uint<1> &l) { last = l; }
};
#endif
