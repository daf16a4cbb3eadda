"""Command line: placeholder until the engine lands (replaced in this session)."""


def main(argv=None):
    raise SystemExit("fer-ros: command line not built yet")
