"""What the NIR reader and writer share: the time step snnTorch assumes and the flatten order."""

from __future__ import annotations

import numpy as np

DEFAULT_DT = 1e-4  # snnTorch's export_to_nir writes tau = dt / (1 - beta) with this dt


def channels_last_perm(shape_cf) -> np.ndarray:
    """Index map from a channels-last flatten to the channel-first flatten of the same tensor: element k of the
    channels-last vector is element perm[k] of the channel-first one."""
    shape_cf = tuple(int(s) for s in shape_cf)
    if len(shape_cf) < 2:
        return np.arange(int(np.prod(shape_cf)))
    idx = np.arange(int(np.prod(shape_cf))).reshape(shape_cf)
    return np.moveaxis(idx, 0, -1).reshape(-1)
