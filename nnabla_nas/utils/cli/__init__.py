"""Command-line parsing and config loading/validation."""
