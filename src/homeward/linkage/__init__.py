"""Record linkage: finding the source records that describe the same person."""
