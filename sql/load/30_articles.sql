-- Each affected story becomes its best capture: a complete related list first, then the
-- longest one, then the first path. The order depends only on content and paths, so
-- incremental runs end where one clean run over the same files would.
-- The choice is an aggregate over narrow columns, so memory does not grow with body text.
delete from related_items where article_id in (select article_id from affected_articles);
delete from articles where article_id in (select article_id from affected_articles);

create or replace temp table best_captures as
select
    article_id,
    arg_min(
        source_path,
        struct_pack(
            status_rank := case related_status
                when 'ok' then 0 when 'empty' then 1 when 'truncated' then 2 when 'malformed' then 3 else 4
            end,
            fewer_items := -related_count,
            source_path := source_path
        )
    ) as source_path,
    count(*) as capture_count
from captures
where article_id in (select article_id from affected_articles)
group by article_id;

insert into articles by name
select c.*, b.capture_count
from best_captures as b
inner join captures as c using (source_path);
