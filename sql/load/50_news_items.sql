-- Each affected related story is described as the most recent article linking to it
-- lists it, with how often and over what period the corpus linked to it. The choice is an
-- aggregate over narrow columns, then one join for the description, so memory stays flat.
-- The months (by first link) of the rows rewritten, as they were and as they become: the
-- only news_items partitions of the lake this run can change (newswh.lake.first_linked_months).
create or replace temp table news_months as
select distinct year(first_linked_at) as year, month(first_linked_at) as month
from news_items where news_id in (select news_id from affected_news);

delete from news_items where news_id in (select news_id from affected_news);

create or replace temp table news_links as
select
    ri.news_id,
    arg_max(
        struct_pack(source_path := a.source_path, position := ri.position),
        struct_pack(
            published_at := coalesce(a.published_at, timestamp '0001-01-01'),
            article_id := a.article_id,
            first_position := -ri.position
        )
    ) as described_by,
    count(*) as link_count,
    min(a.published_at) as first_linked_at,
    max(a.published_at) as last_linked_at
from related_items as ri
inner join articles as a using (article_id)
where ri.news_id in (select news_id from affected_news)
group by ri.news_id;

-- The describing items are found by their keys first, then read by row id: a join that
-- read the description's columns would read them for every row of capture_related (three
-- times as long in a run of ten files), where a row id read touches only its row groups.
create or replace temp table news_described as
select l.news_id, cr.rowid as described_row
from news_links as l
inner join capture_related as cr
    on cr.source_path = l.described_by.source_path and cr.position = l.described_by.position;

insert into news_items by name
select
    l.news_id,
    cr.title,
    cr.content_type_id,
    cr.pic_path,
    cr.media_kind,
    cr.pic_date,
    cr.pic_uploaded_at,
    l.link_count,
    l.first_linked_at,
    l.last_linked_at
from news_links as l
inner join news_described as d using (news_id)
inner join capture_related as cr on cr.rowid = d.described_row;

insert into news_months
select distinct year(first_linked_at), month(first_linked_at)
from news_items where news_id in (select news_id from affected_news);
