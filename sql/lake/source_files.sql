-- The manifest (internal, for rebuilds): one file, every column.
select * from source_files
