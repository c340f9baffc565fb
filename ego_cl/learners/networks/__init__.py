"""Networks: builders (:mod:`.builders`: ``tiny3d`` and the pytorchvideo kinds, the one list of
network kinds), backbones (:mod:`.backbones`), the verb/noun head (:mod:`.heads`), checkpoint key
mapping (:mod:`.checkpoint`, pure: a state dict in, ours out) and :class:`.config.ModelConfig`."""
