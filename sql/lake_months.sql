-- The publication months whose lake partitions this run may change: every month holding a
-- capture of a story one of the run's files carries (or carried: run before the load, this
-- finds the months the run's old captures leave; after it, those its new captures join).
-- Every row of a month-partitioned lake dataset (articles, related_items,
-- duplicate_captures, capture_related) belongs to a capture or the best capture of one
-- story, and in sql/load only the stories of the files read change; so the other months
-- of those datasets stay as the last run left them. Null year and month: undated pages.
select distinct year(c.published_at) as year, month(c.published_at) as month
from captures as c
where c.article_id in (
    select article_id from captures
    where source_path in (select source_path from plan where status <> 'unchanged')
)
