-- The stories and related news ids this run's files may change: the only rows rewritten.
create or replace temp table parsed_paths as
select source_path from stage_files where outcome <> 'touched';

create or replace temp table affected_articles as
select article_id from captures where source_path in (select source_path from parsed_paths)
union
select article_id from stage_captures;

create or replace temp table affected_news as
select distinct news_id from related_items
where article_id in (select article_id from affected_articles);
