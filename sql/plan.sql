-- Decide, for every discovered file, whether its contents must be read this run.
-- Unchanged means same size, mtime and parser version as the manifest: never re-read.
-- A file that could not be read last time is tried again (the cause, an I/O error or a
-- permission, often passes), except an entry discovery found cannot be read (a symlink
-- that dangles, loops or leads outside, a name that is not UTF-8: `problem` says which),
-- which will not be readable until it changes.
-- The run's settings that decide outcomes are part of the plan, as the parser version
-- is: a file rejected as too_large before is read again once it fits under the run's cap.
-- A --rehash run reads every file: a restore that kept size and mtime (rsync -t, cp -p of
-- an older version) is invisible to them. Files whose bytes still hash to the manifest's
-- hash come out of the read as unchanged ("touched"), so nothing about them is rewritten.
-- An entry discovery found cannot be read has no bytes to hash: --rehash leaves it be.
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
            and (s.reject_reason is distinct from 'unreadable' or d.problem is not null)
            and (s.reject_reason is distinct from 'too_large' or d.size_bytes > (select max_bytes from run_context))
            and (not (select rehash from run_context) or d.problem is not null)
            then 'unchanged'
        else 'changed'
    end as status,
    case when s.parser_version = (select parser_version from run_context) then s.content_hash end as previous_hash
from discovered as d
left join source_files as s using (source_path);
