"""What a person or a script talks to: the command line, the REPL, batch JSON lines, rendering, `qa show`."""
