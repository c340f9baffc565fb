"""ego_cl: online per-user continual adaptation of video action recognition on egocentric video.

Embedding it: ``from ego_cl import api`` (:mod:`ego_cl.api` re-exports what an embedding needs).
The command line: ``ego-cl --help`` (or ``python -m ego_cl.runners.<command>``).
"""

__version__ = "0.1.0"
