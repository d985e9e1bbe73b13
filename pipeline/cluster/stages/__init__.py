"""The stages of the Dask engine (pipeline.declarations.CLUSTER), one module each exposing one
function named after it, like pipeline/stages/: each keeps a small cache entry (the task, the
partition files, the model) and leaves the table's rows in partition files
(pipeline.cluster.parts)."""
