#!/usr/bin/python3
"""Validates an OpenAPI 3.1 document (argv[1]) against the specification's
JSON Schema (Draft 2020-12); prints every error with its path, exits 1 on any."""
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "openapi-3.1-schema.json")) as f:
    schema = json.load(f)
with open(sys.argv[1]) as f:
    doc = json.load(f)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
for e in errors:
    print("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
sys.exit(1 if errors else 0)
