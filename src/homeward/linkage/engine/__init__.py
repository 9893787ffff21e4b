"""Pure-Python linkage engine: no Django."""
