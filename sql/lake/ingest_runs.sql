-- The run history (internal, for rebuilds): one file, every column.
select * from ingest_runs
