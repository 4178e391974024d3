-- Article -> related story, with what the page said about it and, when the story is itself
-- in the corpus (per story_ids, unambiguously), the article it is.
-- example: select article_title, position, news_id, related_title, media_kind, related_article_title from related_links where related_article_id is not null order by article_title, position
create or replace view related_links as
with resolved as (
    select news_id, any_value(article_id) as article_id, any_value(title) as title
    from story_ids
    group by news_id
    having count(*) = 1
)
select
    a.article_id,
    a.title as article_title,
    a.published_at as article_published_at,
    ri.position,
    ri.news_id,
    cr.title as related_title,
    cr.media_kind,
    cr.pic_uploaded_at,
    s.article_id as related_article_id,
    s.title as related_article_title
from related_items as ri
inner join articles as a using (article_id)
inner join capture_related as cr on cr.source_path = a.source_path and cr.position = ri.position
left join resolved as s on s.news_id = ri.news_id;

comment on view related_links is 'One row per article and related story it lists: the related story''s title, media kind and upload time as that page gave them, and the corpus article it points to when that story is itself in the corpus.';
comment on column related_links.article_id is 'The article whose page lists the related story.';
comment on column related_links.article_title is 'That article''s headline.';
comment on column related_links.article_published_at is 'That article''s publication time.';
comment on column related_links.position is '0-based position in the page''s related list.';
comment on column related_links.news_id is 'The site''s news id of the related story.';
comment on column related_links.related_title is 'The related story''s title as this page lists it.';
comment on column related_links.media_kind is 'image, video or other.';
comment on column related_links.pic_uploaded_at is 'Upload time of the related story''s picture or video, when it can be decoded.';
comment on column related_links.related_article_id is 'The corpus article the related story is, when story_ids maps its news id to exactly one article; else null.';
comment on column related_links.related_article_title is 'That article''s headline.';
