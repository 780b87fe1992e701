"""The ground every pflow layer stands on; it imports nothing else from pflow.

`exceptions` (the one error tree), `atomic_file` (writes that never leave half a file),
`json_safe` (strict, bounded JSON in and valid UTF-8 JSON out), `paths` (the per-user home)
and `schemas` (the published JSON Schemas and validators built from them).
"""
