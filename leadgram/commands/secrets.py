"""`leadgram secrets rotate`: re-encrypt every stored Instagram token with the newest key in SECRET_KEY."""

from __future__ import annotations

import argparse
import sys

from core.config import get_settings
from core.crypto import GENERATE_HINT, TokenCipher, secret_keys, uses_dev_key
from core.services.secrets import rotate_tokens
from leadgram.commands._common import EXIT_USAGE, database

HELP = "key rotation: `secrets rotate` re-encrypts stored tokens with SECRET_KEY's newest key"
EXIT_UNREADABLE = 1


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    sub.add_parser("rotate", help="put the new key first in SECRET_KEY (new,old), run this, then drop the old key")


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if uses_dev_key(settings):
        print(f"leadgram: SECRET_KEY is not set: nothing to rotate to ({GENERATE_HINT}, then set "
              "SECRET_KEY=<new key>,<old key>)", file=sys.stderr)
        return EXIT_USAGE
    async with database(settings) as sessions:
        result = await rotate_tokens(sessions, TokenCipher.from_settings(settings))
    keys = len(secret_keys(settings))
    print(f"re-encrypted {result.rotated} stored token{'s' if result.rotated != 1 else ''} with the newest of "
          f"{keys} key{'s' if keys != 1 else ''}")
    if result.unreadable:
        ids = ", ".join(str(i) for i in result.unreadable)
        print(f"leadgram: {len(result.unreadable)} stored token(s) cannot be opened with any key in SECRET_KEY "
              f"(creators {ids}): add the key they were stored with, or they must /connect again", file=sys.stderr)
        return EXIT_UNREADABLE
    return 0
