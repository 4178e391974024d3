-- The manifest as earlier releases laid it out: 64 files by a hash of the
-- path. A lake they wrote still verifies and rebuilds (newswh/integrity.py); the next
-- ingest lays it out as sql/lake/source_files.sql does. (DuckDB's hash may change between
-- its releases; then such a lake no longer matches this either, and `newswh ingest`
-- against an intact warehouse rewrites it.)
select (hash(source_path) % 64)::integer as bucket, * from source_files
