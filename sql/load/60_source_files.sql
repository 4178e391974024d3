-- Keep the manifest current: what every file held, and which run last changed it.
-- A file missing from the folder keeps its row and its data, flagged is_present = false
-- with the run that first missed it. Only rows whose presence changed are written, so an
-- unchanged corpus costs no writes however large it is.
update source_files
set is_present = true, missing_since_run_id = null
where not is_present and source_path in (select source_path from discovered);

update source_files
set is_present = false, missing_since_run_id = (select run_id from run_context)
where is_present and source_path not in (select source_path from discovered);

update source_files as s
set size_bytes = t.size_bytes, mtime_ns = t.mtime_ns
from stage_files as t
where t.source_path = s.source_path and t.outcome = 'touched';

insert into source_files by name
select
    source_path,
    f.size_bytes,
    f.mtime_ns,
    f.content_hash,
    -- A file that kept its archived capture (10_affected.sql) is a reject now, naming the
    -- story it keeps.
    case when k.reason is not null then 'rejected' else f.outcome end as outcome,
    case when k.source_path is not null then k.article_id else f.article_id end as article_id,
    coalesce(k.reason, f.reject_reason) as reject_reason,
    (select parser_version from run_context) as parser_version,
    (select run_id from run_context) as first_seen_run_id,
    (select run_id from run_context) as last_changed_run_id,
    true as is_present,
    null as missing_since_run_id
from stage_files as f
left join kept_captures as k using (source_path)
where f.outcome in ('article', 'rejected')
on conflict (source_path) do update set
    size_bytes = excluded.size_bytes,
    mtime_ns = excluded.mtime_ns,
    content_hash = excluded.content_hash,
    outcome = excluded.outcome,
    article_id = excluded.article_id,
    reject_reason = excluded.reject_reason,
    parser_version = excluded.parser_version,
    last_changed_run_id = excluded.last_changed_run_id,
    is_present = true,
    missing_since_run_id = null;
