#!/usr/bin/env python3
"""Parses a Prometheus text exposition (0.0.4) with the official Python client's parser and prints it as JSON.

    scripts/parse-prometheus.py FILE

The tests use it to check galaxyd's `metrics` text with a parser that is not ours. Prints
{"families": {name: {"type": t, "help": h}}, "samples": [[name, {label: value}, value], ...]}; exits 1 with the
parser's error on a malformed exposition or a family without HELP text.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    text = open(sys.argv[1], encoding="utf-8").read()
    families, samples = {}, []
    try:
        for family in text_string_to_metric_families(text):
            if not family.documentation:
                raise ValueError(f"{family.name}: no HELP text")
            if family.name in families:
                raise ValueError(f"{family.name}: declared twice")
            families[family.name] = {"type": family.type, "help": family.documentation}
            for sample in family.samples:
                value = sample.value
                if math.isinf(value):
                    value = "+Inf" if value > 0 else "-Inf"
                samples.append([sample.name, sample.labels, value])
    except Exception as error:  # the parser raises ValueError (and others) on malformed input
        print(f"malformed exposition: {error}", file=sys.stderr)
        return 1
    json.dump({"families": families, "samples": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
