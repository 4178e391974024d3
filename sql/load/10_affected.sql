-- A file gone between discovery and reading (deleted, renamed, replaced by a folder:
-- staged as 'vanished', with no capture and no reject) was not there for this run. Forget
-- it was discovered, so every step below sees it missing exactly as if it had gone before
-- the run: its archived data stays, flagged is_present = false, and the counts add up.
-- (Staged tables may be views over Parquet, which cannot be deleted from: stage_files'
-- readers below take only the outcomes they mean.)
create or replace temp table vanished_paths as
select source_path from stage_files where outcome = 'vanished';

delete from discovered where source_path in (select source_path from vanished_paths);
delete from plan where source_path in (select source_path from vanished_paths);

-- The stories and related news ids this run's files may change: the only rows rewritten.
create or replace temp table parsed_paths as
select source_path from stage_files where outcome in ('article', 'rejected');

create or replace temp table affected_articles as
select article_id from captures where source_path in (select source_path from parsed_paths)
union
select article_id from stage_captures;

create or replace temp table affected_news as
select distinct news_id from related_items
where article_id in (select article_id from affected_articles);
