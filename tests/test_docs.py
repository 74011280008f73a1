"""The README documents every command and option a user can type."""

from __future__ import annotations

import argparse

from qa.ui.arguments import parser
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_in_the_readme():
    main = parser()
    commands = next(a for a in main._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert f"qa {name}" in README, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in README, f"qa {name} {option}"
