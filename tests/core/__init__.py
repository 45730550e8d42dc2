"""Live polls, watches and gateway faults below the screen, against the simulator."""
