"""Unit tests: models, ids, text safety, profiles, store, stuck rules, export, audit; no network."""
