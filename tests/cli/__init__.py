"""The command line, in process and as real subprocesses against the simulator on loopback."""
