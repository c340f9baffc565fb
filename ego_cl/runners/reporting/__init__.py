"""Reports of finished runs: ``report`` (collect method results, write tables and figures),
``data`` (which runs and users, their logs, their strictly-read config), ``sections`` (the
tables), ``format`` (Markdown, CSV, LaTeX), ``plots`` and ``extra`` (the figures), ``streams``
(per-user stream statistics) and ``contact_sheet``."""
