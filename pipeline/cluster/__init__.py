"""The Dask engine for tables too large for one process (`--cluster`): its stages
(pipeline.cluster.stages, the second stage graph of pipeline.declarations) read the CSVs in
partitions on the cluster's workers, keep each partition's arrays in its own `.npz`
(pipeline.cluster.parts), train LightGBM through its Dask interface, and score and predict
partition by partition. Nothing here is imported without `--cluster`."""
