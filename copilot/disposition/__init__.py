"""The result code proposed at hang-up, reasoned from the facts the call state tracked."""
