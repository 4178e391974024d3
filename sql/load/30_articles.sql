-- Each affected story becomes its best capture: a complete related list first, then the
-- longest one, then the first path. The order depends only on content and paths, so
-- incremental runs end where one clean run over the same files would (but for captures
-- kept from files damaged in place, 10_affected.sql, which a clean run never saw).
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
            status_rank := related_rank(related_status),
            fewer_items := -related_count,
            source_path := source_path
        )
    ) as source_path,
    count(*) as capture_count
from captures
where article_id in (select article_id from affected_articles)
group by article_id;
