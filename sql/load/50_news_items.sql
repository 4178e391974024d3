-- Each affected related story is described as the most recent article linking to it
-- lists it, with how often and over what period the corpus linked to it.
delete from news_items where news_id in (select news_id from affected_news);

insert into news_items by name
with links as (
    select
        ri.news_id,
        cr.title,
        cr.content_type_id,
        cr.pic_path,
        cr.media_kind,
        cr.pic_date,
        cr.pic_uploaded_at,
        a.published_at,
        a.article_id
    from related_items as ri
    inner join articles as a using (article_id)
    inner join capture_related as cr on cr.source_path = a.source_path and cr.position = ri.position
    where ri.news_id in (select news_id from affected_news)
)
select
    news_id,
    title,
    content_type_id,
    pic_path,
    media_kind,
    pic_date,
    pic_uploaded_at,
    count(*) over by_story as link_count,
    min(published_at) over by_story as first_linked_at,
    max(published_at) over by_story as last_linked_at
from links
window by_story as (partition by news_id)
qualify row_number() over (partition by news_id order by published_at desc nulls last, article_id desc) = 1;
