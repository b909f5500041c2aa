"""The ``qsnn`` command: parses arguments and calls library functions (no logic of its own). One module per
group of commands (``add(sub)`` adds their parsers); the options of a run are derived in toolchain.options.

Errors from bad input are printed as one line, ``error: ...``, with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from toolchain.errors import QsnnError

from . import explore, hardware, model


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qsnn", description="Quantized spiking neural networks for PYNQ boards")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (model, hardware, explore):
        group.add(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # library chatter (deprecations in brevitas/qonnx/torch) is not the user's business on the CLI
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if getattr(args, "trust_pickle", False):
        from toolchain.data.radioml import trust_pickles

        trust_pickles()
    try:
        return args.func(args)
    except QsnnError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except (PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError) as e:
        # a path that changed after the checks before the work (fsutil.check_output): still one line
        print(
            f"error: {e.filename or ''}: {e.strerror or e}; choose another path or fix its permissions", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `qsnn select ... | head -1`
        sys.stderr.close()
        return 0
