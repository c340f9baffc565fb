"""Population pretraining: ``run`` (train and validate, resumable, ``best.pt``/``last.pt``),
``loop`` (optimiser steps, validation), ``data`` (clip datasets, epoch batches), ``splits``
(what pretraining reads), ``cache`` (one cached model per config and data: the demo's model),
``config``."""
