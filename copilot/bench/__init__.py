"""Benchmarks on published, real data: root-cause ranking (sockshop-rcd, nezha-ob,
petshop) and univariate anomaly detection (ms-cloud-monitoring).

`registry.BENCHMARKS` maps each `copilot bench NAME` to the function that runs it;
`rank.rank_case` is the one seam where the copilot's ranking plugs into the harness.
"""
