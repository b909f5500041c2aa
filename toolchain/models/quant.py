"""Brevitas weight quantizers: power-of-two (fixed-point) scales, so accumulators stay exact.

weight bits 1: binary {-1, +1} * 2^k (scale from the mean |W|); 2: ternary {-1, 0, 1} * 2^k;
3..16: narrow-range signed integers * 2^k. The rounding of float weights to integers is
Brevitas' ``float_to_int_impl_type``: FLOOR, ROUND or STOCHASTIC_ROUND (stochastic while training,
nearest at inference, as Brevitas defines it; PTQ freezes one seeded stochastic draw instead).
"""

from brevitas.core.function_wrapper import TensorClampSte
from brevitas.core.function_wrapper.ops_ste import CeilSte
from brevitas.inject.enum import RestrictValueType, ScalingImplType, StatsOp
from brevitas.quant.binary import SignedBinaryWeightPerTensorConst
from brevitas.quant.fixed_point import Int8WeightPerTensorFixedPoint

FLOAT_TO_INT = {"floor": "FLOOR", "nearest": "ROUND", "stochastic": "STOCHASTIC_ROUND"}


class BinaryWeightPerTensorPoT(SignedBinaryWeightPerTensorConst):
    """Bipolar binary weights with a power-of-two scale 2^ceil(log2(mean |W|))."""

    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    restrict_scaling_type = RestrictValueType.POWER_OF_TWO
    restrict_value_float_to_int_impl = CeilSte
    tensor_clamp_impl = TensorClampSte  # Brevitas' default clamps the weight in place, breaking autograd


def weight_quant_kwargs(bits, rounding):
    """Keyword arguments for brevitas.nn.QuantLinear / QuantConv2d, or float weights for None."""
    if bits is None:
        return {"weight_quant": None}
    if bits == 1:
        return {"weight_quant": BinaryWeightPerTensorPoT}
    return {
        "weight_quant": Int8WeightPerTensorFixedPoint,
        "weight_bit_width": bits,
        "weight_float_to_int_impl_type": FLOAT_TO_INT[rounding],
    }
