"""wheelset: curated single-version Python wheel repositories on IPFS."""

__version__ = "0.1.0"
