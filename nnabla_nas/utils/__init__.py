"""Utilities: file I/O, CLI and config validation, estimators, logging, drawing."""
