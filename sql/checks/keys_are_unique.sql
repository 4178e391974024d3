-- Each table's key names one row. Keys are checked rather than declared as primary keys:
-- DuckDB keeps a primary key as an index that every insert and every commit maintains,
-- which made an ingest's load about a third slower, for lookups analytical readers do not
-- make. Only source_files keeps one, for its upsert. The key of news_items is unique by
-- construction (each row is one group of a `group by`); related_items' key is checked
-- with its list in related_items_match_best_capture.sql. The key of articles is
-- best_captures' (one chosen capture per story), and `captures` has each path once, so
-- checking these two checks articles.
select 'captures' as table_name, source_path as duplicated_key
from checked_captures group by source_path having count(*) > 1
union all
select 'best_captures', article_id
from checked_best_captures group by article_id having count(*) > 1
union all
select 'capture_related', source_path || ' #' || position
from checked_capture_related group by source_path, position having count(*) > 1
union all
select 'rejects', source_path
from checked_rejects group by source_path having count(*) > 1;
