"""Arguments the runtime's commands share, validated the same way for each."""

import argparse
from collections.abc import Callable

from ..conf import get_config
from ..dead_letters import UnknownTopic, contract_topic


def add_dead_letter_arguments(parser: argparse.ArgumentParser, *, limit_help: str) -> None:
    """``topic`` (a contract topic, given to the command by its full name) and ``--limit``."""
    parser.add_argument(
        "topic",
        type=_contract_topic,
        help="The contract's topic name, e.g. order-placed-topic (without the prefix or .DLT).",
    )
    parser.add_argument("--limit", type=whole_number(1), help=limit_help)


def _contract_topic(name: str) -> str:
    try:
        return contract_topic(get_config(), name)
    except UnknownTopic as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number, ``minimum`` or more."""

    def parse(value: str) -> int:
        if not value.isdigit() or int(value) < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number, {minimum} or more, not {value!r}"
            )
        return int(value)

    return parse
