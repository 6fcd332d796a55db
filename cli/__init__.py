"""hv: the command-line client of hvd (one-shot commands and an interactive shell)."""
