-- applies when: select count(*) from duckdb_tables() where database_name = current_database() and schema_name = 'main' and table_name = 'articles'
-- Warehouses built before issue 18 keep `articles` as a table: a second copy of each best
-- capture's row, page text included. Keep which capture each story took and how many it
-- had (the rest is in `captures`, row for row), then drop the copy; sql/schema/06_articles.sql
-- makes `articles` the view over the two. The run commits its copy of the warehouse only
-- after every data check passes, so a migration that lost a story would not be committed.
create table best_captures as
select article_id, source_path, capture_count from articles;
drop table articles;
