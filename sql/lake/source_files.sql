-- The manifest (internal, for rebuilds): every column, in 64 files by the run that first
-- saw the file (its run id modulo 64). Most runs only add files, and their rows all land
-- in that run's bucket: a run writes one file of the manifest, plus the buckets of the
-- older files it read again or found missing. (By a hash of the path, a run of a thousand
-- files rewrote all 64, the whole manifest: 0.12 s of a 1 % increment's 0.43 s lake stage
-- at 100,000 files. The price: one run in 64 shares the bucket of the first, often largest,
-- run and rewrites it too.) As after any change to this file, a lake laid out otherwise is
-- laid out afresh, once.
select (first_seen_run_id % 64)::integer as bucket, * from source_files
