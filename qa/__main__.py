"""`python -m qa`: the `qa` command."""

from qa.cli import entry

if __name__ == "__main__":
    entry()
