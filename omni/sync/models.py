"""Channel sync: connector settings, runs, rejected rows, inbound events, outbound messages."""
