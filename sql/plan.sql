-- Decide, for every discovered file, whether its contents must be read this run.
-- Unchanged means same size, mtime and parser version as the manifest: never re-read.
-- A file that could not be read last time is tried again (the cause, a vanished file or
-- an I/O error, often passes), except a symlink leading outside, which never will.
create or replace temp table plan as
select
    d.source_path,
    d.size_bytes,
    d.mtime_ns,
    case
        when s.source_path is null then 'new'
        when s.size_bytes = d.size_bytes
            and s.mtime_ns = d.mtime_ns
            and s.parser_version = (select parser_version from run_context)
            and (s.reject_reason is distinct from 'unreadable' or d.outside_link) then 'unchanged'
        else 'changed'
    end as status,
    case when s.parser_version = (select parser_version from run_context) then s.content_hash end as previous_hash
from discovered as d
left join source_files as s using (source_path);
