"""jaxshift: mean-shift mode seeking and kernel density estimation in pure JAX.

Core (pure, traceable; ``jit``, ``vmap`` and ``grad`` compose with all of it):

- :func:`kde`, :func:`log_kde`: kernel density estimates, blocked, stable; a scalar,
  per-feature or full ``[d, d]`` bandwidth matrix (the kernel's covariance).
- :func:`sample`: draws from a KDE; :func:`marginal`, :func:`integrate_box`: its
  marginals and box probabilities.
- :func:`kde_grid`: the KDE on a regular grid by linear binning and one FFT (d = 1, 2, 3).
- :func:`shift`: one mean-shift step.
- :func:`find_modes`: the ``lax.while_loop`` driver, all seeds at once.
- :func:`trajectory`: fixed-step ``lax.scan`` paths (reverse-differentiable).
- :func:`grid_modes`: grid mean shift (MeanShift++ and a refinement), linear in the data.
- :mod:`jaxshift.kernels`: :class:`Kernel`, :func:`get_kernel`, :func:`shadow`.
- ``mesh=`` / ``data_axes=`` on the core functions: the same functions under
  ``shard_map``, queries and/or data split over a device mesh (``docs/scaling.md``).
- :mod:`jaxshift.bandwidth`: Scott and Silverman rules, the differentiable
  leave-one-out likelihood and LSCV objectives, gradient-based :func:`~jaxshift.bandwidth.select`,
  the improved Sheather-Jones plug-in :func:`~jaxshift.bandwidth.isj`.

Host-side layers and tools:

- :mod:`jaxshift.cluster`: scikit-learn's ``MeanShift``, ``mean_shift``,
  ``estimate_bandwidth``, ``get_bin_seeds`` (same results), and the jit-able ``find_clusters``.
- :mod:`jaxshift.image`: ``segment_colors``, ``filter_image`` (OpenCV's
  ``pyrMeanShiftFiltering``), ``segment``, ``load_image``, ``save_image``.
- ``jaxshift.cli``: the ``jaxshift`` command (``segment`` images, ``cluster`` CSV files).

Module map, one idea each, imports pointing down (nothing imports upwards, no cycles)::

    cli                  the command line: argument parsing, files, progress bar
    _table               CSV point tables: parsed, checked, written back with a label column
    image/               mean shift on images (host-side NumPy around jitted steps)
      _io                image arrays checked, split into colour and alpha, restored; files
      _filter            the OpenCV-exact joint spatial-range filter
      _regions           fusion of filtered pixels into regions (union-find), small-region merging
      _colors            colour segmentation on integer colour keys (jaxshift._rows)
    cluster/             mean-shift clustering: scikit-learn's MeanShift API and the jit-able find_clusters()
      _estimator         MeanShift, mean_shift: the estimator shim (deduplication, zero bandwidth)
      _estimate          estimate_bandwidth, get_bin_seeds: scikit-learn's helpers for a bandwidth and seeds
      _host              NumPy arrays onto the jitted pieces: float64 with x64 on, padding to bucket sizes
      _pipeline          find_clusters(): the climb with intensities, the one merge of near modes, 1-NN labels
      _params            scikit-learn's parameter checks, error types and messages
    _binned              kde_grid: the binned KDE on a grid, one FFT convolution
    _grid                grid mean shift: MeanShift++ and a refinement on per-cell sums, grid_modes
    _marginal            marginal, integrate_box (1-D kernel CDFs; Monte-Carlo through _sample)
    _density             kde, log_kde
    _sample              sample: a data point by weight plus kernel noise (radial laws per kernel)
    _meanshift           the step, the while_loop driver (implicit gradients), the scan trajectory
    bandwidth            rules of thumb, cross-validation objectives, select, resolve
    _crossval            the leave-one-out and LSCV objectives, on one device or split over a mesh
    _rules               the objectives' argument checks and the rules of thumb as traceable functions
    _isj                 the improved Sheather-Jones bandwidth (1-D, binned, DCT)
    _linbin              linear binning of weighted points onto a regular grid
    _newton              a compiled modified-Newton minimiser (bandwidth.select)
    _logdensity          kernel sums to a normalised log-density: the KDE's constant, a NaN-free log
    _neighbours          nearest centre and k-th nearest neighbour, blocked in the GEMM form, exact distances
    _pairwise            the one hot loop: blocked kernel-weighted sums of queries against data,
                         geometry-aware (block centres for the GEMM form, reach tests, pruning)
    _plan                the data's plan for the loop: blocks with centres and boxes, Morton order,
                         the algorithm choice and block sizes
    _shard               many devices: mesh checks, padding, shard_map, psum/pmax combination of partial sums
    _scaling             points in bandwidth units: 1 / h, or whitened by a bandwidth matrix's Cholesky factor
    _rows                distinct rows by integer keys (pixel colours, repeated points, grid bins)
    kernels              kernel profiles, shadows, the name registry
    _validate            argument checks with messages that name the argument and the value

Names, one per idea: the step is :func:`shift` (public) over ``_meanshift._step`` (one
step on a data plan, shared by the driver, the trajectory and the implicit gradients);
``n_iter`` always counts mean-shift updates (scikit-learn's ``n_iter_`` is one less, as
it documents); a colour segmentation's ``palette`` is its ``[k, C]`` mode colours.
Prose is in British English (centre, colour); API names keep the spelling of the
library they mirror (scikit-learn's ``cluster_centers_``; ``segment_colors`` and
``ColorSegmentation`` beside NumPy and Pillow's ``color``).
"""

from . import bandwidth, cluster, image, kernels
from ._binned import GridDensity, kde_grid
from ._density import kde, log_kde
from ._grid import grid_modes
from ._marginal import Marginal, integrate_box, marginal
from ._meanshift import Modes, find_modes, shift, trajectory
from ._sample import sample
from .kernels import Kernel, get_kernel, shadow

__version__ = "0.1.0"

__all__ = [
    "GridDensity",
    "Kernel",
    "Marginal",
    "Modes",
    "bandwidth",
    "cluster",
    "find_modes",
    "get_kernel",
    "grid_modes",
    "image",
    "integrate_box",
    "kde",
    "kde_grid",
    "kernels",
    "log_kde",
    "marginal",
    "sample",
    "shadow",
    "shift",
    "trajectory",
]
