"""voicer batch: many scripts rendered in one run, on local processes or a Ray cluster."""
