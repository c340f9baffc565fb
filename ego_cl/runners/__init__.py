"""Entry points and the only home of side effects: config, files, processes, logging, seeding."""
