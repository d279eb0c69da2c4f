"""mammoflow's shards and cache from Python: ``mammoflow.shards`` reads shard files and image payloads,
``mammoflow.cache`` finds a stage's artifact in a cache directory, ``mammoflow.torch`` trains on it in
PyTorch. The file formats are specified in the repository's docs/shard-format.md and docs/stage-contract.md."""
