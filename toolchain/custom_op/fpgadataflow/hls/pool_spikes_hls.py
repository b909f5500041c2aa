"""``PoolSpikes_hls``: this project's HLS backend of FINN's Pool for max-pooling of spikes (pool_spikes.hpp).

FINN's Pool_hls calls finn-hlslib's ``Pool_batch`` in an API later than the finn-hlslib copies some users have
(the one on these machines among them), and computes a general max with comparators. For {0, 1} spikes the max
of a window is its OR, as in the RTL backend (PoolSpikes_rtl): the kernel is the project's, so what level 4
compiles with g++ is what Vitis HLS synthesizes. FINN's top function, stream types (hls::vector beats), pragmas,
cppsim harness and stitching are kept; only the include, the sizes and the call are the project's.
``UseSpikeOps`` (toolchain.transform) retypes spike max-pool Pool_hls nodes to it after folding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from finn.custom_op.fpgadataflow.hls.pool_hls import Pool_hls

from toolchain import assets
from toolchain.custom_op.fpgadataflow.pool_spikes import PoolSpikes

HEADER = "pool_spikes.hpp"


class PoolSpikes_hls(PoolSpikes, Pool_hls):  # noqa: N801 - FINN's naming rule: <op>_hls
    def get_nodeattr_types(self):
        attrs = Pool_hls.get_nodeattr_types(self)
        attrs["cpp_interface"] = ("s", False, "hls_vector", {"hls_vector"})  # the kernel streams hls::vector beats
        return attrs

    def generate_params(self, model, path):
        """The kernel header beside the top function: FINN's cppsim compile and its Vitis HLS script both read
        the node's code_gen_dir."""
        self.check_spikes()
        shutil.copyfile(assets.folder("hls_templates") / HEADER, Path(path) / HEADER)

    def global_includes(self):
        self.code_gen_dict["$GLOBALS$"] = [f'#include "{HEADER}"']

    def defines(self, var):
        """FINN's Pool sizes (ISIZE beats per frame, K per window) and REPS, the frames per call: the node's
        BatchSize (1 in a built graph; level 4 runs a batch of frames through one cppsim call)."""
        super().defines(var)
        self.code_gen_dict["$DEFINES$"].append(f"constexpr unsigned  REPS = {self.get_nodeattr('BatchSize')};")

    def docompute(self):
        t = self.get_input_datatype().get_hls_datatype_str()
        self.code_gen_dict["$DOCOMPUTE$"] = [
            "for (unsigned r = 0; r < REPS; r++)",
            f"  qsnn::pool_spikes<ISIZE, K, {t}, {self.get_nodeattr('PE')}>(in0_V, out0_V);",
        ]

    def execute_node(self, context, graph):
        """cppsim on the graph's tensor (FINN's Pool layout), laid out as the stream carries it (stream_order)."""
        name = self.onnx_node.input[0]
        x = context[name]
        if self.get_nodeattr("exec_mode") == "cppsim":
            context[name] = self.stream_order(x)
        try:
            super().execute_node(context, graph)
        finally:
            context[name] = x
