-- The rows each data check looks at after a run's load: those the load can have changed,
-- and every row a check compares them with, given that the warehouse passed every check
-- when it was last committed. The load (sql/load/) deletes and inserts only
-- - captures, capture_related and rejects at the paths it parsed (parsed_paths) or
--   staged (stage_*);
-- - best_captures and related_items of the stories in affected_articles, which holds the
--   stories of every capture at those paths, before and after;
-- - news_items of the news ids in affected_news, which holds every news id those stories
--   linked, before and after;
-- - source_files at the paths it parsed (and presence flags and sizes, which no check reads).
-- So a row outside these sets is as it was, and so is every row it is checked against:
-- a capture at an unchanged path keeps its story, and that story, if its best capture or
-- related list changed, is in affected_articles. Views keep each check's SQL the same as
-- for the whole warehouse (sql/check_scope/whole.sql).
create or replace temp table check_paths as
select source_path from parsed_paths
union select source_path from stage_captures
union select source_path from stage_rejects
union select source_path from stage_related;

create or replace temp table check_articles as select distinct article_id from affected_articles;

create or replace temp table check_news as select distinct news_id from affected_news;

-- Captures by path (a duplicated key) and by story (a story without its article).
create or replace temp view checked_captures as
select * from captures
where source_path in (select source_path from check_paths) or article_id in (select article_id from check_articles);
create or replace temp view checked_best_captures as
select * from best_captures where article_id in (select article_id from check_articles);
create or replace temp view checked_capture_related as
select * from capture_related where source_path in (select source_path from check_paths);
-- Captures whose own related list is compared with capture_related: those at the paths the
-- load wrote (a capture elsewhere kept its list, and passed when it was committed).
create or replace temp view checked_capture_lists as
select * from captures where source_path in (select source_path from check_paths);
create or replace temp view checked_rejects as
select * from rejects where source_path in (select source_path from check_paths);
create or replace temp view checked_related_items as
select * from related_items where article_id in (select article_id from check_articles);
-- Links by news id: a news id's links and its description are compared whole.
create or replace temp view checked_news_links as
select * from related_items where news_id in (select news_id from check_news);
create or replace temp view checked_news_items as
select * from news_items where news_id in (select news_id from check_news);
create or replace temp view checked_source_files as
select * from source_files where source_path in (select source_path from check_paths);
