"""The test suite of bifrost-tui (run with `make test`)."""
