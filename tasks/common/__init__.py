"""Worlds shared by several task families (imported openly; no registrations here): the list-sorting
environment (preference, SFT, unlearning), label-noise generators (label noise, crowdsourcing)."""
