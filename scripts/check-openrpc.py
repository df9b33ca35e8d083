#!/usr/bin/env python3
"""Validates protocol/galaxyd.openrpc.json, and optionally real responses recorded by the tests.

    scripts/check-openrpc.py [--responses DIR]

Checks: the document parses as OpenRPC 1.3 (the `openrpc` package's object model), every schema is valid JSON Schema
draft-07, method names and per-method error codes are unique, required params precede optional ones, every example's
params and result validate against their schemas, and (with --responses) every recorded response's result validates
against its method's result schema. Each file in DIR holds {"method": name, "result": value} or
{"method": name, "error": {...}}. Exit 1 with one line per problem.
"""
import json
import pathlib
import sys

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "protocol" / "galaxyd.openrpc.json"


def resolve(node, document, seen=()):
    """Inlines #/components/... references (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node and len(node) == 1:
            pointer = node["$ref"]
            if not pointer.startswith("#/"):
                raise ValueError(f"external reference {pointer}")
            if pointer in seen:
                raise ValueError(f"reference cycle at {pointer}")
            target = document
            for part in pointer[2:].split("/"):
                target = target[part]
            return resolve(target, document, seen + (pointer,))
        return {key: resolve(value, document, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, document, seen) for value in node]
    return node


def main() -> int:
    problems = []
    document = json.loads(DOCUMENT.read_text())
    try:
        from openrpc import OpenRPC  # the object model of the OpenRPC specification

        # The model does not follow Reference Objects, so it reads the document with references inlined.
        OpenRPC(**resolve(document, document))
    except ImportError:
        problems.append("python package 'openrpc' is missing: pip install openrpc")
    except Exception as error:  # pydantic.ValidationError
        problems.append(f"not an OpenRPC document: {error}")
    if not str(document.get("openrpc", "")).startswith("1.3"):
        problems.append("openrpc must be a 1.3.x version")

    for name, schema in document.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft7Validator.check_schema(resolve(schema, document))
        except jsonschema.SchemaError as error:
            problems.append(f"components.schemas.{name}: {error.message}")

    methods = {}
    for method in document["methods"]:
        name = method["name"]
        if name in methods:
            problems.append(f"method {name} is documented twice")
        methods[name] = method
        optional_seen = False
        params = {}
        for param in method.get("params", []):
            schema = resolve(param["schema"], document)
            jsonschema.Draft7Validator.check_schema(schema)
            params[param["name"]] = schema
            if param.get("required", False) and optional_seen:
                problems.append(f"{name}: required param {param['name']} follows an optional one")
            optional_seen |= not param.get("required", False)
        codes = [resolve(error, document)["code"] for error in method.get("errors", [])]
        if len(codes) != len(set(codes)):
            problems.append(f"{name}: error codes are not unique")
        result_schema = resolve(method["result"]["schema"], document) if "result" in method else None
        for example in method.get("examples", []):
            for param in example.get("params", []):
                if param["name"] not in params:
                    problems.append(f"{name} example '{example['name']}': unknown param {param['name']}")
                    continue
                for error in jsonschema.Draft7Validator(params[param["name"]]).iter_errors(param["value"]):
                    problems.append(f"{name} example '{example['name']}' param {param['name']}: {error.message}")
            if result_schema is not None and "result" in example:
                for error in jsonschema.Draft7Validator(result_schema).iter_errors(example["result"]["value"]):
                    problems.append(f"{name} example '{example['name']}' result: {error.message}")
    if "rpc.discover" not in methods:
        problems.append("rpc.discover is missing")

    if len(sys.argv) == 3 and sys.argv[1] == "--responses":
        checked = 0
        error_codes = {
            resolve(error, document)["code"]
            for method in document["methods"]
            for error in method.get("errors", [])
        } | {-32700, -32600, -32601, -32602, -32603}
        for path in sorted(pathlib.Path(sys.argv[2]).glob("*.json")):
            recorded = json.loads(path.read_text())
            method = methods.get(recorded.get("method"))
            if method is None:
                problems.append(f"{path.name}: response to undocumented method {recorded.get('method')}")
                continue
            if "error" in recorded:
                if recorded["error"].get("code") not in error_codes:
                    problems.append(f"{path.name}: undocumented error code {recorded['error'].get('code')}")
            else:
                schema = resolve(method["result"]["schema"], document)
                for error in jsonschema.Draft7Validator(schema).iter_errors(recorded.get("result")):
                    path_text = "/".join(str(part) for part in error.absolute_path)
                    problems.append(f"{path.name}: {recorded['method']} result at /{path_text}: {error.message}")
            checked += 1
        print(f"openrpc: {checked} recorded responses checked against their result schemas")

    for problem in problems:
        print(f"openrpc: {problem}", file=sys.stderr)
    if not problems:
        print(f"openrpc: {DOCUMENT.relative_to(ROOT)} is valid ({len(methods)} methods)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
