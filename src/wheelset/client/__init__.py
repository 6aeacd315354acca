"""Clients of a built root: open and authenticate a ROOT, resolve names, install, export,
serve it as a local index, and diff two roots.
"""
