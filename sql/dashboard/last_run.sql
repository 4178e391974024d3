-- Overview: the last ingest run, and whether its file counts added up.
select run_id, started_at, finished_at, files_seen, files_new, files_changed, files_unchanged, files_missing,
    articles_written, duplicates, rejected, is_conserved
from ingest_runs
order by run_id desc
limit 1
