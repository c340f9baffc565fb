"""Replay memories of stream indices: the policies (:mod:`.fifo`, :mod:`.reservoir`,
:mod:`.cbrs`), their interface, builder and shared options (:mod:`.policy`), tensors stored per
index (:mod:`.payload`) and the replay buffer that fetches drawn indices (:mod:`.buffer`)."""
