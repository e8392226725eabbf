"""vibe-ls: an offline coding assistant served as a language server."""

__version__ = "0.1.0"
