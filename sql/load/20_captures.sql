-- Replace what each re-read file held before with what it holds now (the captures
-- themselves, page text and all, are inserted a piece at a time: 25_captures.per_piece.sql),
-- but for the captures kept from files whose new content holds less (10_affected.sql):
-- those stay, and the file's new content is a reject.
delete from capture_related
where source_path in (select source_path from parsed_paths except select source_path from kept_captures);
delete from captures
where source_path in (select source_path from parsed_paths except select source_path from kept_captures);
delete from rejects where source_path in (select source_path from parsed_paths);

insert into capture_related by name
select * from stage_related where source_path not in (select source_path from kept_captures);

insert into rejects by name
select s.* replace (coalesce(s.detail || ' ' || k.detail, s.detail) as detail)
from stage_rejects as s
left join kept_captures as k using (source_path);

insert into rejects by name
select k.source_path, k.content_hash, k.size_bytes, k.reason, k.detail, (select parser_version from run_context) as parser_version
from kept_captures as k
where k.reason is not null;
