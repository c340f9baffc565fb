"""Plumbing of online adaptation shared by the network learners: the adapted network and its
wiring (:mod:`.adapted`), trained parts, the optimiser, its options and the norm-layer set
(:mod:`.optim`), private RNG streams (:mod:`.rng`), unseen-class masks (:mod:`.unseen`,
:mod:`.masking`) and per-sample losses (:mod:`.losses`)."""
