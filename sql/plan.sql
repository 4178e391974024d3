-- Decide, for every discovered file, whether its contents must be read this run.
-- Unchanged means same size, mtime and parser version as the manifest: never re-read.
create or replace temp table plan as
select
    d.source_path,
    d.size_bytes,
    d.mtime_ns,
    case
        when s.source_path is null then 'new'
        when s.size_bytes = d.size_bytes
            and s.mtime_ns = d.mtime_ns
            and s.parser_version = (select parser_version from run_context) then 'unchanged'
        else 'changed'
    end as status,
    case when s.parser_version = (select parser_version from run_context) then s.content_hash end as previous_hash
from discovered as d
left join source_files as s using (source_path);
