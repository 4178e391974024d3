-- The stories the site linked most often, by month of the linking articles.
-- example: select month, rank, news_id, title, links from most_related where rank <= 3 order by month, rank, news_id
create or replace view most_related as
with monthly as (
    select
        date_trunc('month', a.published_at)::date as month,
        ri.news_id,
        count(*) as links
    from related_items as ri
    inner join articles as a using (article_id)
    where a.published_at is not null
    group by all
)
select
    m.month,
    rank() over (partition by m.month order by m.links desc) as rank,
    m.news_id,
    n.title,
    n.media_kind,
    m.links
from monthly as m
inner join news_items as n using (news_id)
order by m.month, rank, m.news_id;

comment on view most_related is 'The stories the site linked most often, by month: one row per month and linked story, ranked by links (filter rank <= 10 for a top ten).';
comment on column most_related.month is 'First day of the month in which the linking articles were published.';
comment on column most_related.rank is 'Rank by links within the month, 1 for the most linked (ties share a rank).';
comment on column most_related.news_id is 'The site''s news id of the linked story.';
comment on column most_related.title is 'Its title (see news_items).';
comment on column most_related.media_kind is 'image, video or other.';
comment on column most_related.links is 'Articles published that month whose related list links to the story.';
