"""Curating a collection: declare wheels, find outdated projects, bump them, fork a root."""
