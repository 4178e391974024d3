-- Each affected related story is described as the most recent article linking to it
-- lists it, with how often and over what period the corpus linked to it. The choice is an
-- aggregate over integers, then one read of the description, so memory stays flat.
-- The months (by first link) of the rows rewritten, as they were and as they become: the
-- only news_items partitions of the lake this run can change (newswh.lake.first_linked_months).
create or replace temp table news_months as
select distinct year(first_linked_at) as year, month(first_linked_at) as month
from news_items where news_id in (select news_id from affected_news);

delete from news_items where news_id in (select news_id from affected_news);

-- Each affected story's links: the best captures' related items that point at it (what
-- related_items holds), with the describing one as its row of capture_related. The most
-- recent article wins, then the greatest article_id, then the item nearest the top of its
-- list; the articles are ranked by the first two first, so the choice is an aggregate over
-- integers: over strings and structs it took three times as long, and spilled past the
-- load's memory at 300,000 files. (A position is an integer below 2^31, so the rank
-- decides first; a bigint holds ranks up to 2^32 articles.)
create or replace temp table news_links as
select
    cr.news_id,
    arg_max(cr.rowid, a.article_rank * 2147483648 - cr.position) as described_row,
    count(*) as link_count,
    min(a.published_at) as first_linked_at,
    max(a.published_at) as last_linked_at
from (
    select
        b.source_path,
        c.published_at,
        row_number() over (order by coalesce(c.published_at, timestamp '0001-01-01'), b.article_id) as article_rank
    from best_captures as b
    -- as the articles view joins them: on both keys
    inner join captures as c on c.source_path = b.source_path and c.article_id = b.article_id
    -- only the articles that link an affected story: a small run ranks a few, not every article
    where b.source_path in (select source_path from capture_related where news_id in (select news_id from affected_news))
) as a
inner join capture_related as cr on cr.source_path = a.source_path
where cr.news_id in (select news_id from affected_news)
group by cr.news_id;

-- The description is read by row id: a join that read the description's columns for
-- every link would read them for every row of capture_related, where a row id read
-- touches only the described rows' row groups.
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
inner join capture_related as cr on cr.rowid = l.described_row;

insert into news_months
select distinct year(first_linked_at), month(first_linked_at)
from news_items where news_id in (select news_id from affected_news);
