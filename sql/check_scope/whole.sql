-- The rows each data check looks at: every row. `newswh verify`, a rebuild, and any run
-- whose warehouse did not pass the checks as a whole before it (a first run, a migration).
-- Each view is named for what the checks drive from it (sql/check_scope/run.sql says why
-- a run may look at fewer rows of the same views).
create or replace temp view checked_captures as select * from captures;
create or replace temp view checked_best_captures as select * from best_captures;
create or replace temp view checked_capture_related as select * from capture_related;
create or replace temp view checked_capture_lists as select * from captures;
create or replace temp view checked_rejects as select * from rejects;
create or replace temp view checked_related_items as select * from related_items;
create or replace temp view checked_news_links as select * from related_items;
create or replace temp view checked_news_items as select * from news_items;
create or replace temp view checked_source_files as select * from source_files;
