"""Build: declarations -> manifest -> one root tree of UnixFS blocks (CID, CAR, build directory),
and publishing that root and its wheels to IPFS nodes.
"""
