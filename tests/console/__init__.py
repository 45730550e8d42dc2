"""The console: what an operator does (Pilot), hostile text, faults, secrets."""
