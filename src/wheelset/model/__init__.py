"""The model: declarations, platforms, policy, a loaded collection and the closure walk over it.

Pure data and rules; no network. Every later stage (check, build, client, maintain) reads
collections through this package.
"""
