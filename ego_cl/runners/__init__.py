"""Entry points and the only home of side effects: config, files, processes, logging, seeding.

Rooms, top to bottom (enforced by import-linter): the commands (``stream``, ``pretrain``,
``hindsight``, ``report``, ``summarize``, ``synth``, ``split``, ``resize``, ``checkpoints``:
argparse, then one call), ``demo``, then :mod:`~ego_cl.runners.engine` (stream runs),
:mod:`~ego_cl.runners.pretraining` and :mod:`~ego_cl.runners.reporting`, then
:mod:`~ego_cl.runners.inputs` (everything a run reads), then the helpers ``datasets``,
``results`` (the run-directory layout), ``copy_final``, ``checkpoint_io``, ``cli``, ``logs``,
``config`` and ``files``.
"""
