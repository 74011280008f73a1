"""`python -m qa`: the `qa` command."""

from qa.ui.cli import entry

if __name__ == "__main__":
    entry()
