"""Distribution: after a root is built and published, keep it served.

The stage after `build` (which builds and publishes one root): make other nodes hold a
root (`mirror`, following a name with `follow`), release what no kept root needs (`gc`),
point names at roots (`announce`), replicate through an IPFS Cluster (`replicate`), and
seed what a user installed (`seed`). Every pin this stage makes is written to the pin
record (`pins`), so that gc only ever removes pins wheelset made.
"""
