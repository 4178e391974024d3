-- One row per article with the facts most questions start from.
-- example: select title, year, month, weekday, word_count, attribution, related_count, has_video from article_facts order by published_at nulls last, title
create or replace view article_facts as
with links as (
    select
        r.article_id,
        count(*) as related_count,
        bool_or(n.media_kind = 'video') as has_video
    from related_items as r
    left join news_items as n using (news_id)
    group by r.article_id
)
select
    a.article_id,
    a.title,
    a.published_at,
    year(a.published_at) as year,
    month(a.published_at) as month,
    dayname(a.published_at) as weekday,
    a.word_count,
    a.lead,
    a.attribution,
    coalesce(l.related_count, 0) as related_count,
    coalesce(l.has_video, false) as has_video
from articles as a
left join links as l using (article_id);

comment on view article_facts is 'One row per article with the facts most questions start from: when, how long, from which outlet, how many related stories and whether any is a video.';
comment on column article_facts.article_id is 'Stable story id (see articles.article_id).';
comment on column article_facts.title is 'Headline.';
comment on column article_facts.published_at is 'Publication time as printed on the page; null when undated.';
comment on column article_facts.year is 'Publication year; null when undated.';
comment on column article_facts.month is 'Publication month, 1 to 12; null when undated.';
comment on column article_facts.weekday is 'Publication weekday in English (Monday … Sunday); null when undated.';
comment on column article_facts.word_count is 'Number of words in the body.';
comment on column article_facts.lead is 'First body paragraph.';
comment on column article_facts.attribution is 'Outlet the story credits (…; Press TV reported.), or null.';
comment on column article_facts.related_count is 'Number of related stories the page listed.';
comment on column article_facts.has_video is 'Whether any related story is a video.';
