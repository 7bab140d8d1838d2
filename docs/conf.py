"""Sphinx configuration: the jaxshift API reference, the math, the notebooks, the benchmarks.

Build (offline, a few seconds, warnings are errors)::

    sphinx-build -W -b html docs docs/_build/html
"""

from __future__ import annotations

import argparse
import os
import sys

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, os.path.abspath(".."))  # the checkout's jaxshift, installed or not

import jaxshift  # noqa: E402

project = "jaxshift"
author = "jaxshift contributors"
copyright = "jaxshift contributors"
release = version = jaxshift.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",  # markdown pages (it brings myst-parser) and the notebooks
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are committed without outputs and are not executed here (the test suite
# runs them): the pages show their code and prose.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Google-style docstrings; NamedTuple fields are documented once, in "Attributes:".
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_use_rtype = False
# The docstrings give every argument's shape and meaning; the annotations
# (jax.typing.ArrayLike, a long union once expanded) would only add noise.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__init__, __new__"}

html_theme = "alabaster"
html_title = f"jaxshift {release}"
html_theme_options = {
    "description": "Mean shift and kernel density estimation in pure JAX",
    "fixed_sidebar": True,
}


class CliHelp(SphinxDirective):
    """``.. jaxshift-cli-help:: [COMMAND]``: the ``--help`` text of the command line,
    generated from its parser at build time, so the page cannot go stale."""

    optional_arguments = 1

    def run(self):
        from jaxshift import cli

        parser = cli._parser()
        if self.arguments:
            subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = subparsers.choices[self.arguments[0]]
        columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal: fix the width
        try:
            text = parser.format_help()
        finally:
            if columns is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = columns
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("jaxshift-cli-help", CliHelp)
