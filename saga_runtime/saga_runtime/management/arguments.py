"""Arguments the dead-letter commands share, validated the same way for both."""

import argparse

from ..conf import get_config
from ..dead_letters import UnknownTopic, contract_topic


def add_dead_letter_arguments(parser: argparse.ArgumentParser, *, limit_help: str) -> None:
    """``topic`` (a contract topic, given to the command by its full name) and ``--limit``."""
    parser.add_argument(
        "topic",
        type=_contract_topic,
        help="The contract's topic name, e.g. order-placed-topic (without the prefix or .DLT).",
    )
    parser.add_argument("--limit", type=_positive_int, help=limit_help)


def _contract_topic(name: str) -> str:
    try:
        return contract_topic(get_config(), name)
    except UnknownTopic as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {value!r}")
    return int(value)
