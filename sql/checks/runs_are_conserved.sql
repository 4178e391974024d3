-- Every run's counts add up: files seen = unchanged + new + changed, and every file
-- read became one capture or one reject.
select run_id, files_seen, files_new, files_changed, files_unchanged, articles_written, duplicates, rejected
from ingest_runs
where is_conserved is distinct from true;
