-- Replace what each re-read file held before with what it holds now.
delete from capture_related where source_path in (select source_path from parsed_paths);
delete from captures where source_path in (select source_path from parsed_paths);
delete from rejects where source_path in (select source_path from parsed_paths);

insert into captures by name select * from stage_captures;
insert into capture_related by name select * from stage_related;
insert into rejects by name select * from stage_rejects;
