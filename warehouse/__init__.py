"""Storage: the only layer that builds storage paths and writes them."""
