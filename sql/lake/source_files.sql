-- The manifest (internal, for rebuilds): every column, in 64 files by a hash of the path.
-- Every run changes the manifest, most runs only a few of its rows (the files it read);
-- as one file, it was rewritten whole each time, a million rows for a run of ten files.
-- (DuckDB's hash may change between its releases: the files are then laid out afresh,
-- once, as after any change to this file.)
select (hash(source_path) % 64)::integer as bucket, * from source_files
