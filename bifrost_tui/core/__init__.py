"""The console's state without a screen: store, live polls, watch, bulk, stuck rules, export."""
