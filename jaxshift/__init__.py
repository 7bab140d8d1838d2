"""jaxshift: mean-shift mode seeking and kernel density estimation in pure JAX.

Core (pure, traceable; ``jit``, ``vmap`` and ``grad`` compose with all of it):

- :func:`kde`, :func:`log_kde`: kernel density estimates, blocked, stable.
- :func:`shift`: one mean-shift step.
- :func:`find_modes`: the ``lax.while_loop`` driver, all seeds at once.
- :func:`trajectory`: fixed-step ``lax.scan`` paths (reverse-differentiable).
- :mod:`jaxshift.kernels`: :class:`Kernel`, :func:`get_kernel`, :func:`shadow`.

Host-side layers and tools:

- :mod:`jaxshift.cluster`: scikit-learn's ``MeanShift``, ``mean_shift``,
  ``estimate_bandwidth``, ``get_bin_seeds`` (same results), and the jit-able ``cluster``.
- :mod:`jaxshift.image`: ``segment_colors``, ``filter_image`` (OpenCV's
  ``pyrMeanShiftFiltering``), ``segment``, ``load_image``, ``save_image``.

- :mod:`jaxshift.bandwidth`: Scott and Silverman rules, the differentiable
  leave-one-out likelihood and LSCV objectives, gradient-based :func:`~jaxshift.bandwidth.select`.
"""

from . import bandwidth, cluster, image, kernels
from ._density import kde, log_kde
from ._meanshift import Modes, find_modes, shift, trajectory
from .kernels import Kernel, get_kernel, shadow

__version__ = "0.1.0"

__all__ = [
    "Kernel",
    "Modes",
    "bandwidth",
    "cluster",
    "find_modes",
    "get_kernel",
    "image",
    "kde",
    "kernels",
    "log_kde",
    "shadow",
    "shift",
    "trajectory",
]
