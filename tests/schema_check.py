#!/usr/bin/python3
"""Validates every JSON file the project ships against its JSON Schema.

Run with Debian's python3 (python3-jsonschema).  Prints one line per file and
a closing "N passed, N failed" line; exits non-zero when any file fails.

    tests/schema_check.py SCHEMA FILE...   validates FILEs (written at run
                                           time, e.g. by `shmpipectl cdi`)
                                           against SCHEMA the same way
"""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# schema -> the files that must validate against it
TARGETS = {
    "schemas/config.schema.json": ["examples/config/*.json", "install/config.json"],
    "schemas/hooks.d.schema.json": ["install/hooks.d/*.json", "install/hooks.d/crio/*.json"],
    "schemas/annotations.schema.json": ["tests/fixtures/annotations/valid-*.json"],
    "schemas/cdi.schema.json": ["tests/fixtures/cdi/valid-*.json"],
}
# files that must NOT validate (the schema is not a rubber stamp)
INVALID = {
    "schemas/config.schema.json": ["tests/fixtures/config/invalid-*.json"],
    "schemas/annotations.schema.json": ["tests/fixtures/annotations/invalid-*.json"],
    "schemas/cdi.schema.json": ["tests/fixtures/cdi/invalid-*.json"],
}


def load(path):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def check_files(schema_path, files):
    validator = Draft202012Validator(load(schema_path))
    passed = failed = 0
    for f in files:
        with open(f) as fh:
            errors = list(validator.iter_errors(json.load(fh)))
        if errors:
            path = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
            print(f"not ok - {f} against {schema_path}: {path}: {errors[0].message}")
            failed += 1
        else:
            print(f"ok - {f} validates ({schema_path})")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


def main():
    if len(sys.argv) > 1:
        return check_files(sys.argv[1], sys.argv[2:])
    passed = failed = 0
    for schema_path in sorted(set(TARGETS) | set(INVALID)):
        if not os.path.exists(os.path.join(ROOT, schema_path)):
            continue
        schema = load(schema_path)
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # noqa: BLE001 - report any schema defect
            print(f"not ok - {schema_path}: not a valid 2020-12 schema: {e}")
            failed += 1
            continue
        validator = Draft202012Validator(schema)
        for expect_valid, table in ((True, TARGETS), (False, INVALID)):
            for pattern in table.get(schema_path, []):
                for f in sorted(glob.glob(os.path.join(ROOT, pattern))):
                    rel = os.path.relpath(f, ROOT)
                    errors = list(validator.iter_errors(load(rel)))
                    if bool(errors) != expect_valid:
                        print(f"ok - {rel} {'validates' if expect_valid else 'is rejected'} ({schema_path})")
                        passed += 1
                    else:
                        why = errors[0].message if errors else "accepted"
                        print(f"not ok - {rel} against {schema_path}: {why}")
                        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
