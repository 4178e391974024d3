-- Each affected story becomes its best capture: a complete related list first, then the
-- longest one, then the first path. The order depends only on content and paths, so
-- incremental runs end where one clean run over the same files would.
delete from related_items where article_id in (select article_id from affected_articles);
delete from articles where article_id in (select article_id from affected_articles);

insert into articles by name
select
    c.*,
    count(*) over (partition by c.article_id) as capture_count
from captures as c
where c.article_id in (select article_id from affected_articles)
qualify row_number() over (
    partition by c.article_id
    order by
        case c.related_status
            when 'ok' then 0 when 'empty' then 1 when 'truncated' then 2 when 'malformed' then 3 else 4
        end,
        c.related_count desc,
        c.source_path
) = 1;
