"""Mean shift on 120 points in 3-D around three centres (the seed walkthrough).

Run: python examples/blobs_3d.py
"""

import jax.numpy as jnp
import numpy as np

import jaxshift

rng = np.random.default_rng(0)
centres = np.array([[2.0, 2.0, 3.0], [6.0, 7.0, 8.0], [5.0, 10.0, 13.0]])
points = np.concatenate([c + 0.6 * rng.standard_normal((40, 3)) for c in centres])

res = jaxshift.find_modes(points, points, bandwidth=2.0, kernel="flat")
modes = np.unique(np.round(np.asarray(res.modes), 1), axis=0)
print(f"{len(points)} points, {len(modes)} modes (all converged: {bool(jnp.all(res.converged))}):")
print(modes)
