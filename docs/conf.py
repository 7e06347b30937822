"""Sphinx configuration of the aeqkit site (built by ``tools/build_docs.py``, ``make docs``).

The site is built entirely offline: the furo theme ships its assets, MathJax comes from the
``sphinx-mathjax-offline`` package and plotly.js from the ``plotly`` package (copied into
``_static`` by the build tool). Notebooks are never executed here (``nb_execution_mode = "off"``):
the pages show the outputs of ``make run`` (``build/notebooks/``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("AEQKIT_ROOT", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT))

project = "aeqkit"
author = "aeqkit contributors"
copyright = "aeqkit contributors, MIT licence"  # noqa: A001 - Sphinx's name

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",
]

# notebooks: outputs come from `make run`, never executed by Sphinx
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing", "mystnb.unknown_mime_type",
                     "misc.highlighting_failure"]

# API reference from the docstrings (Google style, with a "Shape" section for tensor shapes)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shape", "Shapes"]

html_theme = "furo"
html_title = "aeqkit — approximately equivariant networks"
html_static_path = ["_static"]
html_js_files = ["plotly.min.js"]
html_css_files = ["aeqkit.css"]
html_theme_options = {"sidebar_hide_name": False, "navigation_with_keys": True}
html_show_sourcelink = False
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_static"]
