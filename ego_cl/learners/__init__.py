"""Online learners (implementations of ``Learner``) and what they are built from.

Rooms:

- one module per learner, its config class beside it: :mod:`.frozen`, :mod:`.finetune`,
  :mod:`.replay`, :mod:`.ewc`, :mod:`.lwf`, :mod:`.er_ace`, :mod:`.derpp`,
  :mod:`.feature_replay`, :mod:`.label_window` (the three label-window predictors);
- :mod:`.registry`: ``learner.kind`` → (config class, constructor), the runtime objects a learner
  receives, ``build_learner``;
- :mod:`.networks`: network builders, backbones, the verb/noun head, checkpoint key mapping, the
  list of network kinds, ``ModelConfig``;
- :mod:`.memory`: replay memories of stream indices and the replay buffer;
- :mod:`.adaptation`: the adapted network and its optimiser, shared optimiser options, the
  norm-layer set, RNG streams, unseen-class masks, losses.
"""
