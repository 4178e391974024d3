-- The outlets the site relays, from the articles' closing attributions.
-- example: select outlet, articles, first_seen, last_seen from outlets order by articles desc, outlet
create or replace view outlets as
select
    attribution as outlet,
    count(*) as articles,
    min(published_at) as first_seen,
    max(published_at) as last_seen
from articles
where attribution is not null
group by attribution
order by articles desc, outlet;

comment on view outlets is 'The outlets the site relays, named in closing sentences such as "…; Press TV reported.": one row per outlet.';
comment on column outlets.outlet is 'Outlet name as the articles give it.';
comment on column outlets.articles is 'Articles crediting the outlet.';
comment on column outlets.first_seen is 'Publication time of the first such article.';
comment on column outlets.last_seen is 'Publication time of the last such article.';
