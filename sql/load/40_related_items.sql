-- The related list of each affected story is its best capture's list.
insert into related_items by name
select r.article_id, r.position, r.news_id, r.sort_key
from capture_related as r
inner join best_captures as a on a.source_path = r.source_path
where a.article_id in (select article_id from affected_articles);

insert into affected_news
select distinct news_id from related_items
where article_id in (select article_id from affected_articles);
