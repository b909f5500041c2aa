"""What the NIR reader and writer share: the time step snnTorch assumes, the discretizations and the flatten
order."""

from __future__ import annotations

import numpy as np

DEFAULT_DT = 1e-4  # snnTorch's export_to_nir writes tau = dt / (1 - beta) with this dt
# how a graph's neuron ODEs become steps: forward Euler (decay 1 - dt/tau, input gains R dt/tau: NIR's reference,
# what snnTorch, Norse and Sinabs write), or Rockpool's LIFTorch (exact decays exp(-dt/tau), input added before the
# current's decay; Rockpool's exporter writes r and w_in that are not those gains)
DISCRETIZATIONS = ("euler", "rockpool")


def channels_last_perm(shape_cf) -> np.ndarray:
    """Index map from a channels-last flatten to the channel-first flatten of the same tensor: element k of the
    channels-last vector is element perm[k] of the channel-first one."""
    shape_cf = tuple(int(s) for s in shape_cf)
    if len(shape_cf) < 2:
        return np.arange(int(np.prod(shape_cf)))
    idx = np.arange(int(np.prod(shape_cf))).reshape(shape_cf)
    return np.moveaxis(idx, 0, -1).reshape(-1)
