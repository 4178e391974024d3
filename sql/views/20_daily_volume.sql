-- Articles per publication day, with a 7-day rolling mean; days without articles count as zero.
-- example: select day, articles, round(rolling_mean_7d, 2) as rolling_mean_7d from daily_volume order by day
create or replace view daily_volume as
with per_day as (
    select published_at::date as day, count(*) as articles
    from articles
    where published_at is not null
    group by all
),
calendar as (
    select unnest(generate_series(min(day), max(day), interval 1 day))::date as day
    from per_day
)
select
    c.day,
    coalesce(p.articles, 0) as articles,
    avg(coalesce(p.articles, 0)) over (order by c.day rows between 6 preceding and current row) as rolling_mean_7d
from calendar as c
left join per_day as p using (day)
order by c.day;

comment on view daily_volume is 'Articles per publication day, every calendar day from the first to the last, with a 7-day rolling mean; undated articles are left out.';
comment on column daily_volume.day is 'Publication day.';
comment on column daily_volume.articles is 'Articles published that day (0 on days without any).';
comment on column daily_volume.rolling_mean_7d is 'Mean articles per day over the seven days ending on this day (over the days so far, for the first six days of the corpus).';
