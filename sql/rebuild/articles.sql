-- Rebuild (newswh/integrity.py): one file of the lake's articles dataset, as the view
-- `lake_file`, back into the warehouse. Each article is its story's best capture with its
-- capture count: the capture goes to `captures` (the lake keeps the others apart, in
-- duplicate_captures) and the choice to `best_captures`, so its body is stored once.
insert into captures by name
select * exclude (capture_count) from lake_file;

insert into best_captures by name
select article_id, source_path, capture_count from lake_file;
