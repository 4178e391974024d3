-- Overview: how many articles, over which days, and how many carry no date.
select
    count(*) as articles,
    min(published_at) as first_published,
    max(published_at) as last_published,
    count(*) filter (where published_at is null) as undated
from articles
