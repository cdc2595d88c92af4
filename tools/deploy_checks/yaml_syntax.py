"""Every YAML file given parses (all its documents), with PyYAML's safe loader.

python yaml_syntax.py FILE...
"""

import sys

import yaml


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        try:
            with open(path) as stream:
                list(yaml.safe_load_all(stream))
        except yaml.YAMLError as error:
            failed += 1
            print(f"{path}: {error}", file=sys.stderr)
    print(f"yaml syntax: {len(paths) - failed}/{len(paths)} files parse")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
