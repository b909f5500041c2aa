"""Brevitas spiking networks: QuantLIF neurons, quantized synapses, MLP and conv nets."""

from toolchain.models.lif import QuantLIF
from toolchain.models.networks import SpikingNet, Synapse

__all__ = ["QuantLIF", "SpikingNet", "Synapse"]
