"""The console's screens: batches (main), detail, confirm, profiles, help."""
