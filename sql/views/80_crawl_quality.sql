-- Where the crawl is damaged: rejects by reason, trailer statuses, declared-vs-real trailer
-- lengths, and stories captured more than once.
-- example: select aspect, category, count, unit, round(share, 3) as share from crawl_quality order by aspect, category
create or replace view crawl_quality as
with totals as (
    select
        (select count(*) from source_files) as files,
        (select count(*) from captures) as captures,
        (select count(*) from captures where related_status in ('ok', 'empty')) as complete_trailers,
        (select count(*) from articles) as articles
)
select 'rejects' as aspect, reason as category, count(*) as count, 'files' as unit, count(*) / any_value(t.files) as share
from rejects, totals as t
group by reason
union all
select 'related_status', related_status, count(*), 'article files', count(*) / any_value(t.captures)
from captures, totals as t
group by related_status
union all
select
    'trailer_length',
    if(related_declared_bytes = related_actual_bytes, 'declared = actual', 'declared <> actual'),
    count(*),
    'complete trailers',
    count(*) / any_value(t.complete_trailers)
from captures, totals as t
where related_status in ('ok', 'empty')
group by 2
union all
select 'duplicate_captures', 'stories captured more than once', count(*), 'stories', count(*) / any_value(t.articles)
from articles, totals as t
where capture_count > 1
union all
select 'duplicate_captures', 'extra files of those stories', coalesce(sum(capture_count - 1), 0)::bigint, 'article files',
    coalesce(sum(capture_count - 1), 0) / any_value(t.captures)
from articles, totals as t
where capture_count > 1
order by aspect, category;

comment on view crawl_quality is 'Where the crawl is damaged, as (aspect, category, count, unit, share) rows: rejects by reason, related-list trailer statuses, trailers whose declared string(N) differs from their real length, and stories captured by more than one file.';
comment on column crawl_quality.aspect is 'rejects, related_status, trailer_length or duplicate_captures.';
comment on column crawl_quality.category is 'The reject reason, the trailer status, whether the declared length matched, or which duplicate figure.';
comment on column crawl_quality.count is 'How many (of unit).';
comment on column crawl_quality.unit is 'What count counts: files, article files (files that became articles), complete trailers (status ok or empty) or stories.';
comment on column crawl_quality.share is 'count as a share of all units of its kind (e.g. rejects among all files), from 0 to 1.';
