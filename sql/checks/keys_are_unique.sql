-- Each table's key names one row. Keys are checked rather than declared as primary keys:
-- DuckDB keeps a primary key as an index that every insert and every commit maintains,
-- which made an ingest's load about a third slower, for lookups analytical readers do not
-- make. Only source_files keeps one, for its upsert. The keys of articles and news_items
-- are unique by construction (each row is one group of a `group by`); related_items'
-- key is checked with its list in related_items_match_best_capture.sql.
select 'captures' as table_name, source_path as duplicated_key
from captures group by source_path having count(*) > 1
union all
select 'capture_related', source_path || ' #' || position
from capture_related group by source_path, position having count(*) > 1
union all
select 'rejects', source_path
from rejects group by source_path having count(*) > 1;
