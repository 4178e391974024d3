-- Count the run and check conservation: every file seen is unchanged, or was read and
-- became exactly one capture (the story's best, or a duplicate of it) or one reject (a file
-- that kept its archived capture, 10_affected.sql, is a reject: its new content is).
-- A file that vanished before it could be read was not seen (10_affected.sql took it out
-- of the plan): it is counted missing, like any file deleted before the run.
update ingest_runs
set
    files_seen = counts.files_seen,
    files_new = counts.files_new,
    files_changed = counts.files_changed,
    files_unchanged = counts.files_unchanged,
    files_missing = counts.files_missing,
    articles_written = counts.articles_written,
    duplicates = counts.captures_written - counts.articles_written,
    rejected = counts.rejected,
    is_conserved = (
        counts.files_seen = counts.files_new + counts.files_changed + counts.files_unchanged
        and counts.files_to_read = counts.files_read
        and counts.files_new + counts.files_changed = counts.captures_written + counts.rejected
    )
from (
    select
        (select count(*) from plan) as files_seen,
        (select count(*) from plan where status = 'new') as files_new,
        (select count(*) from plan where status <> 'unchanged') as files_to_read,
        (select count(*) from stage_files where outcome <> 'vanished') as files_read,
        (select count(*) from stage_files as f inner join plan as p using (source_path)
            where p.status = 'changed' and f.outcome <> 'touched') as files_changed,
        (select count(*) from plan where status = 'unchanged')
            + (select count(*) from stage_files where outcome = 'touched') as files_unchanged,
        (select count(*) from source_files where not is_present) as files_missing,
        (select count(*) from stage_captures anti join kept_captures using (source_path)) as captures_written,
        (select count(*) from stage_captures anti join kept_captures using (source_path)
            where source_path in (select source_path from best_captures)) as articles_written,
        (select count(*) from stage_rejects) + (select count(*) from kept_captures where reason is not null) as rejected
) as counts
where ingest_runs.run_id = (select run_id from run_context);
