// Included before FINN's generated C-simulation code (g++ -include), written by qsnn-pynq, not AMD's: Vitis
// HLS defines `half` (a 16-bit float) in its own headers, the open ap_int headers do not. FINN's cnpy.h and
// finn-hlslib's flatten.hpp name it only to map NumPy's float16; _Float16 is g++'s 16-bit float.
#ifndef QSNN_CSIM_PRELUDE_H
#define QSNN_CSIM_PRELUDE_H
typedef _Float16 half;
#endif
