"""Stream runs: plan the user jobs, run them in a pool (local or SLURM), stream each user, summarize.

``plan`` (config + inputs → jobs, baseline cache) → ``run`` (plans → one pool → summaries; also
``grid``) → ``dispatch`` (the local ``pool`` or the ``slurm`` backend) → ``job`` (one pool job)
→ ``user`` (one user's resumable stream, its files) → ``loop`` (predict, then learn, per batch)
with the parts from ``build``. ``hindsight`` replays final models over whole streams;
``progress`` and ``summary`` report on a run.
"""
