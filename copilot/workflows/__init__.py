"""Workflows: a team's checks composed in YAML (the seed's chapter 4).

    yamlspec  YAML with line numbers, `FILE:LINE: field: what to fix` errors, templates
    params    typed parameters (string, int, enum) and `--param k=v` parsing
    expr      the small safe expression language of `if:` and `foreach:`
    loader    workflow files -> `Workflow` (validated, nothing half-loaded)
    run       the engine: steps concurrently where independent, events out
    match     chat-ops: a plain question -> a workflow and its parameters
"""
