-- Each affected story becomes its best capture: a complete related list first, then the
-- longest one, then the first path. The order depends only on content and paths, so
-- incremental runs end where one clean run over the same files would.
-- Only the choice is stored (`best_captures`); `articles` reads the page text from the
-- capture itself, so no body is copied, and the choice is an aggregate over narrow
-- columns: memory does not grow with body text.
delete from related_items where article_id in (select article_id from affected_articles);
delete from best_captures where article_id in (select article_id from affected_articles);

insert into best_captures by name
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
