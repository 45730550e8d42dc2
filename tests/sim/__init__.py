"""The simulated gateway (world, quirks, transport, server) and the client against it."""
