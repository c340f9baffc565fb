"""User streams: ordering, overlap policies, clip samplers, transforms and the ordered loader."""
