-- Replace what each re-read file held before with what it holds now (the captures
-- themselves, page text and all, are inserted a piece at a time: 25_captures.per_piece.sql).
delete from capture_related where source_path in (select source_path from parsed_paths);
delete from captures where source_path in (select source_path from parsed_paths);
delete from rejects where source_path in (select source_path from parsed_paths);

insert into capture_related by name select * from stage_related;
insert into rejects by name select * from stage_rejects;
