"""Sphinx configuration for nnabla-nas."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "nnabla-nas"
author = "nnabla-nas developers"
copyright = "2026, nnabla-nas developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
# No default "members": with "members": True in the defaults, Sphinx replaces an
# explicit ":members: a, b" list by all members. Pages ask for members explicitly.
autodoc_default_options = {"show-inheritance": True}
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
