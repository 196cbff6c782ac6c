#!/usr/bin/env python3
"""Validate JSON samples against the RegistryEvents JSON Schemas (draft 2020-12).

Usage:
  python3 scripts/validate-json.py SCHEMA_DIR SAMPLE_DIR
      Every file directly in SAMPLE_DIR must be named <schema-base>--<anything>.json
      and is validated against SCHEMA_DIR/<schema-base>.schema.json
      (e.g. acr-push--fixture-1.json -> acr-push.schema.json).

  python3 scripts/validate-json.py SCHEMA_DIR --fixtures DIR
      Every *.json under DIR (recursively), except files named index.json, is
      validated against SCHEMA_DIR/distribution-envelope.schema.json.

Both modes first check every SCHEMA_DIR/*.schema.json against the draft 2020-12
meta-schema. Output: one line per sample, `ok <file>` or
`FAIL <file>: <path>: <message>`, then `N passed, M failed`.
Exit status: 0 if everything passed, 1 if anything failed (a broken schema
counts as a failure) or if there was nothing to validate, 2 on usage errors or
when the environment cannot check "format": "date-time".

Requires: pip install jsonschema rfc3339-validator
(jsonschema only checks "date-time" when rfc3339-validator is importable; this
script refuses to run without it instead of silently skipping the check.)
"""
import json
import os
import sys

USAGE = (
    "usage: python3 scripts/validate-json.py SCHEMA_DIR SAMPLE_DIR\n"
    "       python3 scripts/validate-json.py SCHEMA_DIR --fixtures DIR"
)
SCHEMA_SUFFIX = ".schema.json"
ENVELOPE_SCHEMA = "distribution-envelope" + SCHEMA_SUFFIX


def die(message, status=2):
    print(f"validate-json: {message}", file=sys.stderr)
    sys.exit(status)


try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import best_match
except ImportError:
    die("the 'jsonschema' package is missing: pip install jsonschema rfc3339-validator")

try:
    import rfc3339_validator  # noqa: F401  (jsonschema's date-time checker needs it)
except ImportError:
    die("format checking for date-time is unavailable: the 'rfc3339-validator' "
        "package is missing: pip install rfc3339-validator")

FORMAT_CHECKER = FormatChecker()
if "date-time" not in FORMAT_CHECKER.checkers or \
        FORMAT_CHECKER.conforms("not-a-date-time", "date-time") or \
        not FORMAT_CHECKER.conforms("2023-11-17T16:52:01.343145347Z", "date-time"):
    die("jsonschema's FormatChecker does not check 'date-time' in this environment; "
        "install rfc3339-validator (pip install rfc3339-validator)")


# ------------------------------------------------------------------ loading
class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constants(name):
    raise ValueError(f"{name} is not valid JSON")


def load_json(path):
    """Strict load: UTF-8, no duplicate keys, no NaN/Infinity."""
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def load_schemas(schema_dir):
    """Return (all schema file names, {file name: usable schema}, [FAIL lines]).
    Every schema is checked against the draft 2020-12 meta-schema."""
    schemas, failures = {}, []
    names = sorted(n for n in os.listdir(schema_dir)
                   if n.endswith(SCHEMA_SUFFIX) and os.path.isfile(os.path.join(schema_dir, n)))
    for name in names:
        path = os.path.join(schema_dir, name)
        try:
            schema = load_json(path)
        except (OSError, ValueError) as e:
            failures.append(f"FAIL {path}: not valid JSON: {e}")
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            failures.append(f"FAIL {path}: not a valid draft 2020-12 schema: "
                            f"{e.json_path}: {e.message}")
            continue
        declared = schema.get("$schema") if isinstance(schema, dict) else None
        if declared != "https://json-schema.org/draft/2020-12/schema":
            failures.append(f"FAIL {path}: $schema must be "
                            f"https://json-schema.org/draft/2020-12/schema, got {declared!r}")
            continue
        schemas[name] = schema
    return names, schemas, failures


def build_registry(schemas):
    """Register every schema under its $id so cross-file $ref would resolve."""
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
    except ImportError:
        return None
    resources = []
    for schema in schemas.values():
        if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
            resources.append((schema["$id"],
                              Resource.from_contents(schema, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def make_validator(schema, registry):
    kwargs = {"format_checker": FORMAT_CHECKER}
    if registry is not None:
        kwargs["registry"] = registry
    return Draft202012Validator(schema, **kwargs)


# ------------------------------------------------------------------ checking
def _is_discriminator_miss(error):
    """True if this error says a oneOf/anyOf branch is for another kind of value:
    a const/enum mismatch on a direct property (action, eventType, ...) or a
    type mismatch of the whole value (object vs array)."""
    depth = len(error.relative_path)
    return (error.validator in ("const", "enum") and depth == 1) or \
           (error.validator == "type" and depth == 0)


def _where_parts(parts):
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def explain(error, base=()):
    """Describe one error; for oneOf/anyOf, explain the branch the value was meant for
    (the branch with the fewest discriminator mismatches)."""
    here = tuple(base) + tuple(error.relative_path)
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        if all(len(errs) == 1 and errs[0].validator == "required" for errs in branches.values()):
            # e.g. anyOf [{required: [tag]}, {required: [digest]}]
            needed = [errs[0].validator_value for errs in branches.values()]
            options = " or ".join("+".join(repr(k) for k in keys) for keys in needed)
            return f"{_where_parts(here)}: needs {options}"
        misses = {i: [e for e in errs if _is_discriminator_miss(e)] for i, errs in branches.items()}
        fewest = min(len(m) for m in misses.values())
        meant = [i for i in branches if len(misses[i]) == fewest]
        if len(meant) == 1:
            return explain(best_match(branches[meant[0]]), here)
        if fewest > 0:
            # Every remaining branch is for another value of the same field: say which values fit.
            fields = [set(e.relative_path[0] for e in misses[i] if e.relative_path) for i in meant]
            common = set.intersection(*fields) if fields else set()
            if common:
                field = sorted(common, key=str)[0]
                allowed = []
                instance = None
                for i in meant:
                    for e in misses[i]:
                        if e.relative_path and e.relative_path[0] == field:
                            instance = e.instance
                            values = [e.validator_value] if e.validator == "const" else e.validator_value
                            allowed.extend(v for v in values if v not in allowed)
                return f"{_where_parts(here + (field,))}: {instance!r} is none of the expected values {allowed}"
            if all(any(e.validator == "type" and not e.relative_path for e in misses[i]) for i in meant):
                return f"{_where_parts(here)}: a JSON {_json_type(error.instance)} fits none of the allowed shapes"
    if error.validator == "type" and isinstance(error.instance, (dict, list)):
        return f"{_where_parts(here)}: {_json_type(error.instance)} is not of type {error.validator_value!r}"
    return f"{_where_parts(here)}: {error.message}"


def describe(errors):
    """One-line description of the most relevant error (plus how many others)."""
    text = explain(best_match(errors))
    if len(text) > 300:
        text = text[:297] + "..."
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return text


def check_instance(validator, path):
    try:
        instance = load_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return f"not valid JSON: {e}"
    errors = list(validator.iter_errors(instance))
    if errors:
        return describe(errors)
    return None


def run(schema_dir, jobs, empty_message):
    """jobs: list of (display name, file path, schema file name or None, name error)."""
    names, schemas, schema_failures = load_schemas(schema_dir)
    for line in schema_failures:
        print(line)
    print(f"checked {len(names)} schemas in {schema_dir}", file=sys.stderr)
    registry = build_registry(schemas)
    validators = {}

    passed, failed = 0, len(schema_failures)
    for display, path, schema_name, name_error in jobs:
        if name_error:
            print(f"FAIL {display}: {name_error}")
            failed += 1
            continue
        if schema_name not in schemas:
            why = "is broken (see above)" if schema_name in names else "does not exist"
            print(f"FAIL {display}: schema {os.path.join(schema_dir, schema_name)} {why}")
            failed += 1
            continue
        if schema_name not in validators:
            validators[schema_name] = make_validator(schemas[schema_name], registry)
        problem = check_instance(validators[schema_name], path)
        if problem is None:
            print(f"ok {display}")
            passed += 1
        else:
            print(f"FAIL {display}: {problem}")
            failed += 1

    print(f"{passed} passed, {failed} failed")
    if not jobs:
        print(f"validate-json: {empty_message}", file=sys.stderr)
        return 1
    return 1 if failed else 0


def sample_jobs(sample_dir):
    jobs = []
    for name in sorted(os.listdir(sample_dir)):
        path = os.path.join(sample_dir, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        base, sep, rest = name.partition("--")
        if not name.endswith(".json") or not sep or not base or rest == ".json":
            jobs.append((name, path, None,
                         "file name must be <schema-base-name>--<anything>.json"))
            continue
        jobs.append((name, path, base + SCHEMA_SUFFIX, None))
    return jobs


def fixture_jobs(fixture_dir):
    jobs = []
    for root, dirs, files in os.walk(fixture_dir):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json") or name == "index.json":
                continue
            path = os.path.join(root, name)
            jobs.append((os.path.relpath(path, fixture_dir), path, ENVELOPE_SCHEMA, None))
    return jobs


def main(argv):
    if len(argv) == 3 and argv[1] != "--fixtures" and not argv[2].startswith("--"):
        schema_dir, sample_dir = argv[1], argv[2]
        mode = "samples"
    elif len(argv) == 4 and argv[2] == "--fixtures":
        schema_dir, sample_dir = argv[1], argv[3]
        mode = "fixtures"
    else:
        die(USAGE)
    for d in (schema_dir, sample_dir):
        if not os.path.isdir(d):
            die(f"not a directory: {d}\n{USAGE}")
    if mode == "samples":
        return run(schema_dir, sample_jobs(sample_dir), f"no samples in {sample_dir}")
    return run(schema_dir, fixture_jobs(sample_dir), f"no *.json fixtures under {sample_dir}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
